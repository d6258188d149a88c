"""The egress policy through the API: refused on write (422 address_not_allowed naming the field)
and at check time after DNS resolution (no SIP sent). A server with the default policy runs
beside the suite's (which allows loopback for the SIP peers), over the same database.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.api import Api, unique_us_number
from tests.support.server import serving
from trunkline.config import SecuritySettings, Settings

CONNECTIONS = "/channels/sip-trunk/connections"
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
]


@pytest.fixture(scope="module")
async def strict(settings: Settings, engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server with the default egress policy (nothing allowed explicitly)."""
    keys = settings.security.encryption_keys
    strict_settings = settings.model_copy(
        update={"security": SecuritySettings(encryption_keys=keys)}
    )
    async with (
        serving(strict_settings) as base,
        httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as client,
    ):
        yield client


def as_strict(api: Api, strict: httpx.AsyncClient) -> None:
    """Use ``api``'s workspace token on the strict server too."""
    strict.headers["Authorization"] = f"Bearer {api.token}"


def connection_body(**over: Any) -> dict[str, Any]:
    return {
        "name": "Main",
        "phone_number": unique_us_number(),
        "gateway": "sip.example.com",
        "username": "user-1",
        "password": "pw-1",
        **over,
    }


def assert_refused(r: httpx.Response, field: str, host: str, kind: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == "ADDRESS_NOT_ALLOWED"
    assert body["data"]["error"] == "address_not_allowed"
    assert body["error"]["field"] == field
    assert body["message"].startswith("Address not allowed: ")
    assert kind in body["message"]
    assert body["error"]["fields"] == [{"field": field, "message": body["message"]}]
    assert body["error"]["details"] == f"{field}: {body['message']}"
    shown = host if host == "localhost" else host.removeprefix("::ffff:")
    assert shown in body["message"]


class TestOnWrite:
    @pytest.mark.parametrize(("host", "kind"), REFUSED)
    @pytest.mark.parametrize("field", ["gateway", "secondary_gateway"])
    async def test_connection_gateways(
        self, api: Api, strict: httpx.AsyncClient, field: str, host: str, kind: str
    ) -> None:
        as_strict(api, strict)

        r = await strict.post(CONNECTIONS, json=connection_body(**{field: host}))

        assert_refused(r, field, host, kind)

    async def test_connection_patch(self, api: Api, strict: httpx.AsyncClient) -> None:
        as_strict(api, strict)
        created = await strict.post(CONNECTIONS, json=connection_body())
        cid = created.json()["data"]["uuid"]

        r = await strict.patch(f"{CONNECTIONS}/{cid}", json={"gateway": "169.254.169.254"})

        assert_refused(r, "gateway", "169.254.169.254", "link-local")

    @pytest.mark.parametrize("field", ["gateway", "secondary_gateway"])
    async def test_trunk_sip_gateways(
        self, api: Api, strict: httpx.AsyncClient, field: str
    ) -> None:
        as_strict(api, strict)
        agent = await api.agent()
        sip = {"gateway": "sip.example.com", field: "127.0.0.1"}

        r = await strict.post(
            "/phone-numbers/trunks",
            json={
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": sip,
            },
        )

        assert_refused(r, f"sip.{field}", "127.0.0.1", "loopback")

    async def test_pbx_registrar(self, api: Api, strict: httpx.AsyncClient) -> None:
        as_strict(api, strict)
        agent = await api.agent()

        r = await strict.post(
            "/pbx_extension_connectors",
            json={
                "agent_uuid": agent["agent_uuid"],
                "phone_number": unique_us_number(),
                "registrar_server": "localhost",
                "username_extension": "201",
                "pbx_password": "ext-secret",
            },
        )

        assert_refused(r, "registrar_server", "localhost", "loopback")

    @pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.20", "fd00::5", "203.0.113.5"])
    async def test_private_and_public_addresses_are_allowed(
        self, api: Api, strict: httpx.AsyncClient, host: str
    ) -> None:
        as_strict(api, strict)

        r = await strict.post(CONNECTIONS, json=connection_body(gateway=host))

        assert r.status_code == 201, r.text


class TestAtCheckTime:
    async def test_name_resolving_to_loopback_gets_a_clear_detail_and_no_sip(
        self, api: Api, strict: httpx.AsyncClient
    ) -> None:
        # The row exists (written through the suite's permissive server, as if the policy
        # changed since); the strict server must still not send it any SIP.
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.bind(("127.0.0.1", 0))
        listener.setblocking(False)
        port = listener.getsockname()[1]
        created = await api.connection(gateway="localhost", port=port, register=False)
        as_strict(api, strict)

        try:
            r = await strict.post(f"{CONNECTIONS}/{created['uuid']}/check")
            await asyncio.sleep(0.2)
            with pytest.raises(BlockingIOError):
                listener.recvfrom(65535)  # nothing arrived
        finally:
            listener.close()

        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert data["trace"] == []
        detail = data["status_detail"]
        assert detail["gateway"] == "localhost"
        assert detail["sip_code"] is None
        assert detail["reason"].startswith("127.0.0.1 is a loopback address")
        assert detail["hint"].startswith("No SIP was sent: the gateway's address is refused")
