"""SipEdge as a UAS against SIPp callers (a second, independent SIP implementation).

Each test runs one SIPp client scenario to completion against an edge on loopback and checks
SIPp's verdict (exit code 0: every call succeeded) and its message trace.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.sip.edge_support import Handler, running_edge
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import PEERS_DIR, SippRun, run_sipp

pytestmark = pytest.mark.peer


@pytest.fixture(autouse=True)
def _needs_sipp() -> None:
    require_peer_binary("sipp")


async def call_edge(
    handler: Handler,
    tmp_path: Path,
    scenario: list[str],
    *,
    transport: str = "u1",
    calls: int = 1,
    t1_s: float = 0.5,
) -> SippRun:
    # RFC 3261's default T1 unless a test is about retransmissions: a busy CI machine must
    # not turn a slow ACK into an extra 200 in an exact message sequence.
    async with running_edge(handler, t1_s=t1_s, t2_s=4 * t1_s) as edge:
        host, port = edge.local_address
        run = await run_sipp(
            [*scenario, "-m", str(calls), f"{host}:{port}"], workdir=tmp_path, transport=transport
        )
        # Let the edge see the last messages (SIPp's final ACK or BYE answer) before closing.
        await asyncio.sleep(0.1)
    return run


def scenario(name: str) -> list[str]:
    return ["-sf", str(PEERS_DIR / name)]


class TestBuiltInUac:
    async def test_full_call_udp(self, tmp_path: Path) -> None:
        handler = Handler()
        run = await call_edge(handler, tmp_path, ["-sn", "uac"])
        assert run.returncode == 0, run.screen
        got = [line.split(" ")[0] if d == "sent" else line for d, line in run.messages()]
        assert got == [
            "INVITE",
            "SIP/2.0 100 Trying",
            "SIP/2.0 180 Ringing",
            "SIP/2.0 200 OK",
            "ACK",
            "BYE",
            "SIP/2.0 200 OK",
        ]
        assert handler.answered == [True]
        assert handler.calls[0].ended.result() == "bye"

    async def test_full_call_tcp(self, tmp_path: Path) -> None:
        handler = Handler()
        run = await call_edge(handler, tmp_path, ["-sn", "uac"], transport="t1")
        assert run.returncode == 0, run.screen
        assert run.count("received", "SIP/2.0 200") == 2  # INVITE and BYE
        assert handler.calls[0].transport == "tcp"
        assert handler.calls[0].ended.result() == "bye"

    async def test_ten_calls_leave_nothing_behind(self, tmp_path: Path) -> None:
        handler = Handler()
        async with running_edge(handler, t1_s=0.01, t2_s=0.04) as edge:
            host, port = edge.local_address
            run = await run_sipp(
                ["-sn", "uac", "-r", "20", "-m", "10", f"{host}:{port}"], workdir=tmp_path
            )
            await asyncio.sleep(64 * 0.01 + 0.3)  # every transaction's linger (64*T1) is over
            counts = edge.counts()
        assert run.returncode == 0, run.screen
        assert run.count("sent", "INVITE") == 10
        assert handler.answered == [True] * 10
        assert len({call.call_id for call in handler.calls}) == 10
        assert counts == {
            "server_transactions": 0,
            "client_transactions": 0,
            "unanswered_invites": 0,
            "dialogs": 0,
            "tcp_connections": 0,
        }


class TestScenarios:
    async def test_cancel_before_answer(self, tmp_path: Path) -> None:
        handler = Handler(mode="ring")
        run = await call_edge(handler, tmp_path, scenario("sipp_uac_cancel.xml"))
        assert run.returncode == 0, run.screen
        assert run.count("received", "SIP/2.0 487") == 1
        assert handler.calls[0].ended.result() == "cancel"

    async def test_200_is_retransmitted_until_the_late_ack(self, tmp_path: Path) -> None:
        handler = Handler()
        run = await call_edge(handler, tmp_path, scenario("sipp_uac_late_ack.xml"), t1_s=0.05)
        assert run.returncode == 0, run.screen
        # T1=50 ms, T2=200 ms: 200 at 0, 50, 150, 350, 550, ... ms; the ACK leaves at 1.2 s.
        assert run.count("received", "SIP/2.0 200 OK") >= 1 + 4 + 1  # + the BYE's 200
        assert handler.answered == [True]

    async def test_require_100rel_gets_420(self, tmp_path: Path) -> None:
        handler = Handler()
        run = await call_edge(handler, tmp_path, scenario("sipp_uac_100rel.xml"))
        assert run.returncode == 0, run.screen
        assert run.count("received", "SIP/2.0 420") == 1
        assert handler.calls == []  # never reached the handler

    async def test_options_info_and_reinvite_in_dialog(self, tmp_path: Path) -> None:
        handler = Handler()
        run = await call_edge(handler, tmp_path, scenario("sipp_uac_in_dialog.xml"))
        assert run.returncode == 0, run.screen
        assert handler.infos == [("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")]
        assert handler.reinvites == ["sendonly"]
        assert handler.calls[0].ended.result() == "bye"

    async def test_out_of_dialog_options(self, tmp_path: Path) -> None:
        run = await call_edge(Handler(), tmp_path, scenario("sipp_uac_options.xml"))
        assert run.returncode == 0, run.screen

    async def test_our_bye_reaches_the_caller(self, tmp_path: Path) -> None:
        handler = Handler(mode="hangup_after_ack")
        run = await call_edge(handler, tmp_path, scenario("sipp_uac_wait_bye.xml"))
        assert run.returncode == 0, run.screen
        assert run.count("received", "BYE ") == 1
        assert handler.calls[0].ended.result() == "hangup"
