"""Inbound calls end to end: SIPp as the carrier → Trunkline's SIP edge → routing → media →
a real Pipecat agent (TwilioFrameSerializer) over its WebSocket, and every refusal with its SIP
code, Reason header and call record (docs/calls.md §2-§5)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, unique_us_number
from tests.support.calls import (
    STRANGER_IP,
    Carrier,
    PipecatAgent,
    hanging_up_agent,
    silent_agent,
)
from trunkline.db import session_scope
from trunkline.models import Call

pytestmark = pytest.mark.peer


async def inbound_trunk(
    api: Api,
    agent_uuid: str,
    *,
    gateway: str = "127.0.0.1",
    direction: str = "both",
    number: str | None = None,
) -> str:
    """A BYO number on ``call`` whose carrier gateway is the SIPp carrier's address."""
    number = number or unique_us_number()
    r = await api.post(
        "/phone-numbers/trunks",
        {
            "phone_number": number,
            "agent_uuid": agent_uuid,
            "channel": "call",
            "direction": direction,
            "sip": {"gateway": gateway, "port": 5060},
        },
    )
    assert r.status_code == 201, r.text
    return number


async def streaming_agent(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    return await api.agent(
        "Front desk", stream_url=url, stream_auth_token="agent-secret-token", **extra
    )


async def call_events(api: Api, call_uuid: str) -> list[dict[str, Any]]:
    r = await api.get(f"/calls/{call_uuid}/events", params={"per_page": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["items"])


async def settle(api: Api, predicate: Any, timeout_s: float = 10.0) -> dict[str, Any]:
    """The only call of the workspace, once ``predicate(call)`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        r = await api.get("/calls")
        items = r.json()["data"]["items"]
        assert len(items) <= 1, items
        call = dict(items[0]) if items else {}
        if items and predicate(call):
            return call
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"call never settled: {call}")
        await asyncio.sleep(0.1)


class TestAnsweredCall:
    async def test_pcap_call_reaches_the_pipecat_agent(
        self, call_api: Api, carrier: Carrier, pipecat_agent: PipecatAgent
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        number = await inbound_trunk(call_api, agent["agent_uuid"])

        result = await carrier.call_pcap(number.lstrip("+"))

        assert result.returncode == 0, result.log[-3000:]
        call = await settle(call_api, lambda c: c["status"] == "completed")
        assert call["direction"] == "inbound"
        assert call["end_reason"] == "caller_hangup"
        assert call["agent_uuid"] == agent["agent_uuid"]
        assert call["to"] == number
        assert call["via"]["kind"] == "trunk"
        assert call["media"]["codec"] == "PCMA"
        # SIPp's recording: ≈ 7 s of PCMA in 30 ms packets (≈ 236 of them)
        assert 200 <= call["media"]["packets_in"] <= 260, call["media"]
        assert call["media"]["dtmf"] >= 1, call["media"]
        assert call["duration_s"] is not None and call["duration_s"] >= 6

        seen = await pipecat_agent.ended_call(call["call_uuid"])
        assert seen["authorization"] == "Bearer agent-secret-token"
        body = seen["start"]["body"]
        assert body["to_number"] == number
        assert body["call_uuid"] == call["call_uuid"]
        assert body["direction"] == "inbound"
        # ≈ 7 s of μ-law at 8,000 bytes a second, translated from the caller's A-law
        assert 50_000 <= seen["audio_bytes"] <= 62_000, seen["audio_bytes"]
        assert len(seen["digits"]) == call["media"]["dtmf"]
        assert seen["ended"] is True

        events = await call_events(call_api, call["call_uuid"])
        digits = [e["detail"]["digit"] for e in events if e["kind"] == "dtmf"]
        assert digits == seen["digits"]
        kinds = [e["kind"] for e in events]
        for kind in (
            "invite_received",
            "routing_check",
            "agent_connected",
            "answered",
            "dtmf",
            "ended",
        ):
            assert kind in kinds, kinds


class TestRefusals:
    async def refused(
        self, api: Api, carrier: Carrier, number: str, **kw: Any
    ) -> tuple[int, str | None]:
        result = await carrier.refused(number.lstrip("+"), **kw)
        assert result.returncode == 0, result.log[-3000:]
        return result.final()

    async def assert_rejected(self, api: Api, rejected_by: str, sip_code: int) -> None:
        call = await settle(api, lambda c: c["status"] == "rejected")
        assert call["rejected_by"] == rejected_by
        assert call["sip_code"] == sip_code
        assert call["end_reason"] is None or rejected_by == "agent_unreachable"

    async def test_unknown_number(
        self, call_api: Api, carrier: Carrier, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        await inbound_trunk(call_api, agent["agent_uuid"])
        unknown = unique_us_number()
        code, reason = await self.refused(call_api, carrier, unknown)
        assert (code, reason) == (404, 'SIP ;cause=404 ;text="unknown_number"')
        # no workspace is known: the refusal is kept for the operator, not listed by the API;
        # it is written just after the 404 goes out, so wait for it
        rows: list[Call] = []

        async def recorded() -> bool:
            nonlocal rows
            async with session_scope(sessionmaker) as session:
                found = await session.execute(
                    select(Call).where(Call.to_number == unknown.lstrip("+"))
                )
                rows = list(found.scalars().all())
            return bool(rows)

        await until(recorded)
        assert [(r.status, r.rejected_by, r.workspace_id) for r in rows] == [
            ("rejected", "unknown_number", None)
        ]

    async def test_untrusted_source(
        self, call_api: Api, tmp_path: Any, sip_edge: tuple[str, int]
    ) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        stranger = Carrier(tmp_path / "stranger", sip_edge, local_ip=STRANGER_IP)
        result = await stranger.refused(number.lstrip("+"))
        assert result.final() == (403, 'SIP ;cause=403 ;text="untrusted_source"')

    async def test_inbound_disabled(self, call_api: Api, carrier: Carrier) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        number = await inbound_trunk(call_api, agent["agent_uuid"], direction="outbound")
        assert await self.refused(call_api, carrier, number) == (
            403,
            'SIP ;cause=403 ;text="inbound_disabled"',
        )
        await self.assert_rejected(call_api, "inbound_disabled", 403)

    async def test_agent_paused(self, call_api: Api, carrier: Carrier) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws", status="paused")
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        assert await self.refused(call_api, carrier, number) == (
            480,
            'SIP ;cause=480 ;text="agent_unavailable"',
        )
        await self.assert_rejected(call_api, "agent_unavailable", 480)

    async def test_agent_without_stream_url(self, call_api: Api, carrier: Carrier) -> None:
        agent = await call_api.agent("No stream")
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        assert await self.refused(call_api, carrier, number) == (
            480,
            'SIP ;cause=480 ;text="agent_unavailable"',
        )
        await self.assert_rejected(call_api, "agent_unavailable", 480)

    async def test_no_agent_on_an_unassigned_connection(
        self, call_api: Api, carrier: Carrier
    ) -> None:
        number = unique_us_number()
        r = await call_api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "carrier",
                "phone_number": number,
                "gateway": "127.0.0.1",
                "username": "u",
                "password": "p",
                "register": False,
            },
        )
        assert r.status_code == 201, r.text
        assert await self.refused(call_api, carrier, number) == (
            480,
            'SIP ;cause=480 ;text="no_agent"',
        )
        await self.assert_rejected(call_api, "no_agent", 480)

    async def test_codec_unsupported(self, call_api: Api, carrier: Carrier) -> None:
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        got = await self.refused(call_api, carrier, number, codec=18, codec_name="G729")
        assert got == (488, 'SIP ;cause=488 ;text="codec_unsupported"')
        await self.assert_rejected(call_api, "codec_unsupported", 488)

    async def test_agent_unreachable(self, call_api: Api, carrier: Carrier) -> None:
        # nothing listens on the discard port: the WebSocket cannot open
        agent = await streaming_agent(call_api, "ws://127.0.0.1:9/ws")
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        assert await self.refused(call_api, carrier, number) == (
            480,
            'SIP ;cause=480 ;text="agent_unreachable"',
        )
        await self.assert_rejected(call_api, "agent_unreachable", 480)


async def limit_inbound(api: Api, number: str, limit: int) -> None:
    snapshot = (await api.get("/phone-numbers/channels", params={"number": number})).json()
    r = await api.patch(
        f"/phone-numbers/{snapshot['data']['phone_number_uuid']}",
        {"channel_settings": {"inbound": {"channel_limit": limit}}},
    )
    assert r.status_code == 200, r.text


async def calls_with(api: Api, status: str) -> list[dict[str, Any]]:
    r = await api.get("/calls", params={"status": status})
    return list(r.json()["data"]["items"])


async def until(condition: Any, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.1)


class TestLifecycle:
    async def test_cancel_before_answer(self, call_api: Api, carrier: Carrier) -> None:
        # The agent never completes its WebSocket upgrade, so the call rings until cancelled.
        async with silent_agent() as url:
            agent = await streaming_agent(call_api, url)
            number = await inbound_trunk(call_api, agent["agent_uuid"])
            result = await carrier.cancel_while_ringing(number.lstrip("+"))
        assert result.returncode == 0, result.log[-3000:]
        assert [r.split()[1] for r in result.responses() if not r.startswith("SIP/2.0 1")] == [
            "200",  # the CANCEL
            "487",  # the INVITE: Request Terminated (RFC 3261 §9.2)
        ]
        call = await settle(call_api, lambda c: c["status"] == "canceled")
        assert call["end_reason"] == "caller_hangup"
        assert call["answered_at"] is None

    async def test_api_hangup_sends_bye(
        self, call_api: Api, carrier: Carrier, pipecat_agent: PipecatAgent
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        sipp = asyncio.create_task(carrier.wait_for_bye(number.lstrip("+")))
        call = await settle(call_api, lambda c: c["status"] == "in_progress")
        r = await call_api.delete(f"/calls/{call['call_uuid']}")
        assert r.status_code == 200, r.text
        result = await sipp
        assert result.returncode == 0, result.log[-3000:]
        assert result.count("BYE") == 1  # Trunkline's BYE (this scenario never sends one)
        ended = await settle(call_api, lambda c: c["status"] == "completed")
        assert ended["end_reason"] == "api_hangup"
        # a second DELETE of an ended call changes nothing
        again = await call_api.delete(f"/calls/{call['call_uuid']}")
        assert again.status_code == 200
        assert again.json()["data"]["end_reason"] == "api_hangup"

    async def test_agent_closing_its_socket_hangs_up(self, call_api: Api, carrier: Carrier) -> None:
        async with hanging_up_agent() as url:
            agent = await streaming_agent(call_api, url)
            number = await inbound_trunk(call_api, agent["agent_uuid"])
            result = await carrier.wait_for_bye(number.lstrip("+"))
        assert result.returncode == 0, result.log[-3000:]
        call = await settle(call_api, lambda c: c["status"] == "completed")
        assert call["end_reason"] == "agent_hangup"

    async def test_channel_limit(
        self, call_api: Api, carrier: Carrier, pipecat_agent: PipecatAgent
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        await limit_inbound(call_api, number, 2)
        up = [asyncio.create_task(carrier.wait_for_bye(number.lstrip("+"))) for _ in range(2)]

        async def two_up() -> bool:
            return len(await calls_with(call_api, "in_progress")) == 2

        await until(two_up)
        refused = await carrier.refused(number.lstrip("+"))
        assert refused.final() == (486, 'SIP ;cause=486 ;text="channel_limit_reached"')

        async def refusal_recorded() -> bool:
            return len(await calls_with(call_api, "rejected")) == 1

        await until(refusal_recorded)
        rejected = await calls_with(call_api, "rejected")
        assert [c["rejected_by"] for c in rejected] == ["channel_limit_reached"]

        # one call ends (hung up through the API): the next call is accepted again
        first = (await calls_with(call_api, "in_progress"))[0]
        await call_api.delete(f"/calls/{first['call_uuid']}")

        async def one_up() -> bool:
            return len(await calls_with(call_api, "in_progress")) == 1

        await until(one_up)
        third = asyncio.create_task(carrier.wait_for_bye(number.lstrip("+")))
        await until(two_up)
        for call in await calls_with(call_api, "in_progress"):
            await call_api.delete(f"/calls/{call['call_uuid']}")
        results = await asyncio.gather(*up, third)
        assert [r.returncode for r in results] == [0, 0, 0]
