"""A full check flow against a real registrar never shows the SIP username or password: not in
any API answer (traces, status details, events, lists) and not in any log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.monitor.conftest import MonitorFactory
from tests.support.api import Api, unique_us_number
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import KamailioPeer

pytestmark = pytest.mark.peer

USER = "acct-r3dact-7731"
PASSWORD = "pw-r3dact-5521"
CONNECTIONS = "/channels/sip-trunk/connections"


@pytest.fixture(scope="module")
def registrar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KamailioPeer]:
    """A registrar whose only account has a name found nowhere else in the suite."""
    require_peer_binary("kamailio")
    with KamailioPeer(
        users={USER: PASSWORD}, ipv6=False, workdir=tmp_path_factory.mktemp("kam-redact")
    ) as peer:
        yield peer


class Recorder:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.responses: list[httpx.Response] = []

    async def __call__(self, method: str, path: str, **kw: object) -> httpx.Response:
        r = await self.api.request(method, path, **kw)  # type: ignore[arg-type]
        self.responses.append(r)
        assert r.status_code < 300, r.text
        return r


async def test_username_and_password_never_shown(
    api: Api,
    registrar: KamailioPeer,
    make_monitor: MonitorFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    call = Recorder(api)
    sip = {"gateway": registrar.host, "port": registrar.port}

    created = await call(
        "POST",
        CONNECTIONS,
        json={"name": "Redacted", "phone_number": unique_us_number(), **sip,
              "username": USER, "password": PASSWORD},
    )  # fmt: skip
    cid = created.json()["data"]["uuid"]
    first = await call("POST", f"{CONNECTIONS}/{cid}/check")
    await call("PATCH", f"{CONNECTIONS}/{cid}", json={"password": "wrong-" + PASSWORD})
    rejected = await call("POST", f"{CONNECTIONS}/{cid}/check")
    await call("PATCH", f"{CONNECTIONS}/{cid}", json={"password": PASSWORD})
    await call("GET", f"{CONNECTIONS}/{cid}")
    await call("GET", CONNECTIONS)
    await call("GET", f"{CONNECTIONS}/{cid}/events")

    agent = await api.agent()
    await call(
        "POST",
        "/phone-numbers/trunks",
        json={"phone_number": unique_us_number(), "agent_uuid": agent["agent_uuid"],
              "channel": "call", "sip": {**sip, "username": USER, "password": PASSWORD}},
    )  # fmt: skip
    await call("GET", "/phone-numbers/trunks")
    await call("GET", "/phone-numbers")
    # The scheduled path too: the monitor registers the trunk and re-checks the connection.
    checked = await make_monitor().tick()

    # Not vacuous: the registrar accepted, then refused, and the traces show the exchanges.
    assert first.json()["data"]["status"] == "active", first.text
    assert rejected.json()["data"]["status"] == "auth_failed", rejected.text
    assert checked >= 1
    trace = "\n".join(t["text"] for t in first.json()["data"]["trace"])
    assert "REGISTER sip:" in trace and "From: <sip:***@" in trace and 'username="***"' in trace

    for r in call.responses:
        assert USER not in r.text, (r.request.method, r.request.url)
        assert PASSWORD not in r.text, (r.request.method, r.request.url)
    logged = "\n".join(
        f"{rec.name} {rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records
    )
    assert "REGISTER" in logged or "connections" in logged  # the flow was logged at all
    assert USER not in logged
    assert PASSWORD not in logged
