"""Outbound calls end to end: POST /api/v1/calls → INVITE through the customer's trunk
(Kamailio as a carrier that demands digest auth, SIPp as the callee) → a Pipecat agent on the
stream; failover, ring timeout, refusals and Twilio's REST hang-up (docs/calls.md §4)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.callworker.conftest import PIPECAT
from tests.callworker.test_inbound import streaming_agent, until
from tests.support.api import Api, unique_us_number
from tests.support.calls import PipecatAgent, free_udp_port
from tests.support.rows import workspace_id
from tests.support.sip_fixtures import require_module, require_peer_binary
from tests.support.sip_peers import KAMAILIO_CARRIER_CFG, PEERS_DIR, KamailioPeer, SippServer

pytestmark = pytest.mark.peer

CALLEE = "+13125550111"
CARRIER_USER, CARRIER_PASSWORD = "trunk-out", "out-pw-7"


async def outbound_trunk(api: Api, agent_uuid: str, sip: dict[str, Any], **extra: Any) -> str:
    number = unique_us_number()
    r = await api.post(
        "/phone-numbers/trunks",
        {"phone_number": number, "agent_uuid": agent_uuid, "channel": "call", "sip": sip, **extra},
    )
    assert r.status_code == 201, r.text
    return number


async def place(api: Api, agent_uuid: str, **extra: Any) -> dict[str, Any]:
    r = await api.post("/calls", {"agent_uuid": agent_uuid, "to": CALLEE, **extra})
    assert r.status_code == 201, r.text
    call = r.json()["data"]
    assert call["status"] == "queued" and call["direction"] == "outbound"
    return dict(call)


async def call_now(api: Api, call_uuid: str) -> dict[str, Any]:
    r = await api.get(f"/calls/{call_uuid}")
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


async def reaches(
    api: Api, call_uuid: str, *statuses: str, timeout_s: float = 20
) -> dict[str, Any]:
    got: dict[str, Any] = {}

    async def there() -> bool:
        nonlocal got
        got = await call_now(api, call_uuid)
        return got["status"] in statuses

    try:
        await until(there, timeout_s)
    except AssertionError:
        events = (await api.get(f"/calls/{call_uuid}/events", params={"per_page": 200})).json()
        raise AssertionError(f"call never reached {statuses}: {got}\n{events}") from None
    return got


@pytest.fixture
def callee(tmp_path: Path) -> Iterator[SippServer]:
    """SIPp answering every INVITE (PCMU), echoing its RTP back, until the caller's BYE; it
    copies Record-Route, so the BYE goes through a record-routing carrier."""
    require_peer_binary("sipp")
    media = free_udp_port() & ~1
    scenario = str(PEERS_DIR / "sipp_uas_echo_until_bye.xml")
    with SippServer(["-sf", scenario, "-rtp_echo", "-mp", str(media)], workdir=tmp_path) as server:
        yield server


def mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def carrier(
    algo: str, callee: SippServer, workdir: Path, password: str = CARRIER_PASSWORD
) -> KamailioPeer:
    require_peer_binary("kamailio")
    return KamailioPeer(
        algo=algo,  # type: ignore[arg-type]
        users={CARRIER_USER: password},
        config=KAMAILIO_CARRIER_CFG,
        defines={"CALLEE": f'"sip:{callee.host}:{callee.port}"'},
        ipv6=False,
        workdir=workdir,
    )


class TestThroughADigestCarrier:
    @pytest.mark.parametrize("algo", ["MD5", "SHA-256"])
    async def test_answered_heard_and_hung_up(
        self, call_api: Api, callee: SippServer, tmp_path: Path, algo: str
    ) -> None:
        require_module("pipecat", PIPECAT)
        with (
            carrier(algo, callee, mkdir(tmp_path / "kam")) as kam,
            PipecatAgent(tmp_path, mode="speak") as speaker,
        ):
            agent = await streaming_agent(call_api, speaker.url)
            sip = {
                "gateway": "127.0.0.1",
                "port": kam.port,
                "username": CARRIER_USER,
                "password": CARRIER_PASSWORD,
            }
            await outbound_trunk(call_api, agent["agent_uuid"], sip, direction="both")
            call = await place(call_api, agent["agent_uuid"], custom_parameters={"campaign": "c1"})
            await reaches(call_api, call["call_uuid"], "in_progress")
            await asyncio.sleep(3.0)  # the agent says 2 s of tone; the callee echoes it
            r = await call_api.delete(f"/calls/{call['call_uuid']}")
            assert r.status_code == 200, r.text
            ended = await reaches(call_api, call["call_uuid"], "completed")
            invites = kam.received(method="INVITE")
        assert ended["end_reason"] == "api_hangup"
        assert ended["sip_code"] == 200
        assert ended["sip_call_id"] == invites[-1]["call_id"]
        assert ended["duration_s"] >= 2
        assert ended["media"]["codec"] == "PCMU"
        assert len(invites) == 2  # challenged once (407), then authenticated
        seen = await speaker.ended_call(call["call_uuid"])
        assert seen["start"]["body"]["direction"] == "outbound"
        assert seen["start"]["body"]["campaign"] == "c1"
        assert seen["start"]["body"]["to_number"] == CALLEE
        assert seen["loud_samples"] > 4000  # ≥ 0.5 s of its own tone came back

    async def test_wrong_password_fails_without_a_loop(
        self, call_api: Api, callee: SippServer, tmp_path: Path
    ) -> None:
        with carrier("MD5", callee, mkdir(tmp_path / "kam"), password="the-right-one") as kam:
            agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
            sip = {
                "gateway": "127.0.0.1",
                "port": kam.port,
                "username": CARRIER_USER,
                "password": "wrong",
            }
            await outbound_trunk(call_api, agent["agent_uuid"], sip)
            call = await place(call_api, agent["agent_uuid"])
            ended = await reaches(call_api, call["call_uuid"], "failed", "busy")
            invites = kam.received(method="INVITE")
        assert ended["status"] == "failed"
        assert ended["sip_code"] == 403
        assert len(invites) == 2


def final_scenario(folder: Path, code: int, reason: str) -> Path:
    text = (PEERS_DIR / "sipp_uas_final.xml").read_text()
    path = folder / f"uas_{code}.xml"
    path.write_text(text.replace("__CODE__", str(code)).replace("__REASON__", reason))
    return path


class TestFailover:
    async def test_silent_primary_fails_over_to_the_secondary(
        self, call_api: Api, callee: SippServer
    ) -> None:
        # nothing listens on 127.0.0.2 at the callee's port: the primary never answers
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        sip = {"gateway": "127.0.0.2", "secondary_gateway": "127.0.0.1", "port": callee.port}
        await outbound_trunk(call_api, agent["agent_uuid"], sip)
        call = await place(call_api, agent["agent_uuid"], ring_timeout_s=2)
        # the secondary answers; the agent is unreachable, so the answered call is hung up
        ended = await reaches(call_api, call["call_uuid"], "completed", "failed", "no_answer")
        assert ended["status"] == "completed", ended
        assert ended["end_reason"] == "agent_unreachable"
        assert ended["answered_at"] is not None

    async def test_busy_primary_is_final(self, call_api: Api, tmp_path: Path) -> None:
        require_peer_binary("sipp")
        port = free_udp_port()
        busy = final_scenario(tmp_path, 486, "Busy Here")
        with (
            SippServer(["-sf", str(busy)], workdir=mkdir(tmp_path / "p"), port=port) as primary,
            SippServer(
                ["-sn", "uas"], workdir=mkdir(tmp_path / "s"), host="127.0.0.2", port=port
            ) as secondary,
        ):
            agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
            sip = {"gateway": "127.0.0.1", "secondary_gateway": "127.0.0.2", "port": primary.port}
            await outbound_trunk(call_api, agent["agent_uuid"], sip)
            call = await place(call_api, agent["agent_uuid"])
            ended = await reaches(call_api, call["call_uuid"], "busy", "failed", "completed")
            secondary.stop()
            assert secondary.message_file is not None
            secondary_log = (
                secondary.message_file.read_text() if secondary.message_file.exists() else ""
            )
        assert (ended["status"], ended["sip_code"]) == ("busy", 486)
        assert "INVITE sip:" not in secondary_log


class TestRingTimeout:
    async def test_cancel_after_the_ring_timeout(self, call_api: Api, tmp_path: Path) -> None:
        require_peer_binary("sipp")
        scenario = PEERS_DIR / "sipp_uas_ring_forever.xml"
        with SippServer(["-sf", str(scenario)], workdir=tmp_path) as ringing:
            agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
            sip = {"gateway": "127.0.0.1", "port": ringing.port}
            await outbound_trunk(call_api, agent["agent_uuid"], sip)
            call = await place(call_api, agent["agent_uuid"], ring_timeout_s=1.5)
            ringing_seen = await reaches(call_api, call["call_uuid"], "ringing", "no_answer")
            ended = await reaches(call_api, call["call_uuid"], "no_answer")
            run = ringing.finish(timeout_s=10)
        assert ringing_seen["status"] in ("ringing", "no_answer")
        assert ended["end_reason"] == "ring_timeout"
        assert run.count("received", "CANCEL") == 1


REFUSALS: list[tuple[str, dict[str, Any], dict[str, Any], int, str]] = [
    # (name, trunk changes, request changes, status, code)
    ("inbound-only number", {"direction": "inbound"}, {}, 403, "outbound_disabled"),
    (
        "destination outside the whitelist",
        {},
        {"to": "+442079460123"},
        403,
        "destination_not_allowed",
    ),
    ("premium rate", {}, {"to": "+19005550123"}, 403, "destination_blocked"),
    ("emergency", {}, {"to": "911"}, 403, "destination_blocked"),
    ("not a number", {}, {"to": "hello"}, 422, "invalid_destination"),
    ("from not held", {}, {"from": "+14155550100"}, 409, "no_number"),
    ("no gateway", {"sip": None}, {}, 409, "no_trunk"),
]


class TestRefusals:
    @pytest.mark.parametrize(
        ("name", "trunk", "request_", "status", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
    )
    async def test_refused_before_any_sip(
        self,
        call_api: Api,
        name: str,
        trunk: dict[str, Any],
        request_: dict[str, Any],
        status: int,
        code: str,
    ) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        sip = trunk.pop("sip", {"gateway": "127.0.0.1", "port": free_udp_port()})
        body = {
            "phone_number": unique_us_number(),
            "agent_uuid": agent["agent_uuid"],
            "channel": "call",
            **trunk,
        }
        if sip is not None:
            body["sip"] = sip
        assert (await call_api.post("/phone-numbers/trunks", body)).status_code == 201
        r = await call_api.post(
            "/calls", {"agent_uuid": agent["agent_uuid"], "to": CALLEE, **request_}
        )
        assert r.status_code == status, r.text
        assert r.json()["success"] is False
        assert r.json()["error"]["code"] == code.upper()
        assert r.json()["data"]["error"] == code
        assert (await call_api.get("/calls")).json()["data"]["pagination"]["total"] == 0

    async def test_unknown_agent(self, call_api: Api) -> None:
        r = await call_api.post("/calls", {"agent_uuid": str(uuid.uuid4()), "to": CALLEE})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "AGENT_NOT_FOUND"

    async def test_whitelist_by_region(self, call_api: Api) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        number = await outbound_trunk(
            call_api, agent["agent_uuid"], {"gateway": "127.0.0.1", "port": free_udp_port()}
        )
        snapshot = (await call_api.get("/phone-numbers/channels", params={"number": number})).json()
        await call_api.patch(
            f"/phone-numbers/{snapshot['data']['phone_number_uuid']}",
            {"channel_settings": {"voice": {"whitelisted_destinations": ["US", "GB"]}}},
        )
        r = await call_api.post(
            "/calls",
            {"agent_uuid": agent["agent_uuid"], "to": "+442079460123", "ring_timeout_s": 1},
        )
        assert r.status_code == 201, r.text


class TestTwilioHangUp:
    async def test_status_completed_hangs_up(
        self,
        call_api: Api,
        callee: SippServer,
        call_server: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        require_module("pipecat", PIPECAT)
        agent_proc = PipecatAgent(Path(callee.workdir), mode="echo")
        with agent_proc:
            agent = await streaming_agent(call_api, agent_proc.url)
            await outbound_trunk(
                call_api, agent["agent_uuid"], {"gateway": "127.0.0.1", "port": callee.port}
            )
            call = await place(call_api, agent["agent_uuid"])
            await reaches(call_api, call["call_uuid"], "in_progress")
            ws_id = uuid.UUID(call["call_uuid"])  # only to build the CallSid below
            account = "AC" + (await workspace_id(sessionmaker, call_api.slug)).hex
            call_sid = f"CA{ws_id.hex}"
            url = f"{call_server.url}/2010-04-01/Accounts/{account}/Calls/{call_sid}.json"
            basic = base64.b64encode(f"{account}:{call_api.token}".encode()).decode()
            async with httpx.AsyncClient() as http:
                wrong = await http.post(url, data={"Status": "completed"}, auth=(account, "nope"))
                r = await http.post(
                    url, data={"Status": "completed"}, headers={"Authorization": f"Basic {basic}"}
                )
                unknown = await http.post(
                    url.replace(ws_id.hex, uuid.uuid4().hex),
                    data={"Status": "completed"},
                    headers={"Authorization": f"Basic {basic}"},
                )
            ended = await reaches(call_api, call["call_uuid"], "completed")
        assert wrong.status_code == 401 and wrong.json()["code"] == 20003
        assert r.status_code == 200, r.text
        assert r.json()["sid"] == call_sid and r.json()["account_sid"] == account
        assert unknown.status_code == 404 and unknown.json()["code"] == 20404
        assert ended["end_reason"] == "api_hangup"


class TestSharedChannelLimit:
    async def test_inbound_and_outbound_calls_count_together(
        self, call_api: Api, carrier: Any, callee: SippServer, pipecat_agent: PipecatAgent
    ) -> None:
        """call.channel_limit 2: one inbound and one outbound call up → a third is refused,
        whichever way it goes (the same leases count both directions)."""
        from tests.callworker.test_inbound import calls_with, inbound_trunk

        agent = await streaming_agent(call_api, pipecat_agent.url)
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        snapshot = (await call_api.get("/phone-numbers/channels", params={"number": number})).json()
        r = await call_api.patch(
            f"/phone-numbers/{snapshot['data']['phone_number_uuid']}",
            {"channel_settings": {"voice": {"channel_limit": 2}}},
        )
        assert r.status_code == 200, r.text
        # the trunk's gateway is the carrier SIPp for inbound, and the callee for outbound
        r = await call_api.patch(
            "/phone-numbers/trunks",
            {
                "phone_number": number,
                "channel": "call",
                "sip": {"gateway": "127.0.0.1", "port": callee.port},
            },
        )
        assert r.status_code == 200, r.text
        inbound = asyncio.create_task(carrier.wait_for_bye(number.lstrip("+")))
        outbound = await place(call_api, agent["agent_uuid"])

        async def two_up() -> bool:
            return len(await calls_with(call_api, "in_progress")) == 2

        try:
            await until(two_up)
        except AssertionError:
            raise AssertionError((await call_api.get("/calls")).json()["data"]["items"]) from None
        third = await call_api.post("/calls", {"agent_uuid": agent["agent_uuid"], "to": CALLEE})
        assert third.status_code == 409, third.text
        assert third.json()["error"]["code"] == "CHANNEL_LIMIT_REACHED"
        refused = await carrier.refused(number.lstrip("+"))
        assert refused.final() == (486, 'SIP ;cause=486 ;text="channel_limit_reached"')

        for call in await calls_with(call_api, "in_progress"):
            await call_api.delete(f"/calls/{call['call_uuid']}")
        assert (await inbound).returncode == 0
        ended = await reaches(call_api, outbound["call_uuid"], "completed")
        assert ended["end_reason"] == "api_hangup"


class TestPlacedWithoutALocalWorker:
    async def test_a_worker_claims_the_queued_call(
        self, api: Api, call_server: Any, callee: SippServer, pipecat_agent: PipecatAgent
    ) -> None:
        """The shared test server runs no call worker (like `serve` with calls disabled): the
        call waits `queued` until a call worker on the same database (the call server's)
        claims it on its heartbeat and dials; a DELETE there reaches the worker the same way."""
        agent = await streaming_agent(api, pipecat_agent.url)
        await outbound_trunk(
            api, agent["agent_uuid"], {"gateway": "127.0.0.1", "port": callee.port}
        )
        call = await place(api, agent["agent_uuid"])
        answered = await reaches(api, call["call_uuid"], "in_progress")
        assert answered["answered_at"] is not None
        r = await api.delete(f"/calls/{call['call_uuid']}")
        assert r.status_code == 200, r.text
        ended = await reaches(api, call["call_uuid"], "completed")
        assert ended["end_reason"] == "api_hangup"


class TestAgentHangsUp:
    async def test_agent_closing_its_socket_sends_bye(
        self, call_api: Api, callee: SippServer
    ) -> None:
        from tests.support.calls import hanging_up_agent

        async with hanging_up_agent() as url:
            agent = await streaming_agent(call_api, url)
            await outbound_trunk(
                call_api, agent["agent_uuid"], {"gateway": "127.0.0.1", "port": callee.port}
            )
            call = await place(call_api, agent["agent_uuid"])
            ended = await reaches(call_api, call["call_uuid"], "completed")
        assert ended["end_reason"] == "agent_hangup"
        assert ended["answered_at"] is not None
        run = callee.finish(timeout_s=1)
        assert run.count("received", "BYE") == 1
