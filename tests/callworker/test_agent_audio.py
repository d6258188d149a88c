"""The caller hears the agent: audio through SIP edge → μ-law to a Pipecat agent → back to the
caller as A-law, and an agent-side interruption (``clear``) stops queued audio at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.callworker.conftest import PIPECAT
from tests.callworker.test_inbound import inbound_trunk, settle, streaming_agent
from tests.support.api import Api
from tests.support.calls import Carrier, PipecatAgent, RtpCaller, sox
from tests.support.sip_fixtures import require_module

if TYPE_CHECKING:
    import numpy as np

pytestmark = pytest.mark.peer

ALAW_SILENCE = 0xD5


def make_signal(folder: Path, seconds: float = 3.0) -> tuple[bytes, np.ndarray]:
    """A speech-band sweep with a varying envelope, as A-law (made by sox, independently of
    Trunkline's G.711 tables) and as the linear samples it decodes to."""
    alaw = folder / "signal.al"
    sox(
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-e",
        "a-law",
        "-t",
        "raw",
        str(alaw),
        "synth",
        str(seconds),
        "sine",
        "300-3000",
        "tremolo",
        "3",
        "60",
        "vol",
        "0.5",
    )
    return alaw.read_bytes(), decode_alaw(folder, alaw.read_bytes(), "sent")


def decode_alaw(folder: Path, data: bytes, name: str) -> np.ndarray:
    import numpy as np  # comes with the agents extra (Pipecat's dependency)

    raw_in, raw_out = folder / f"{name}.al", folder / f"{name}.s16"
    raw_in.write_bytes(data)
    sox(
        "-t",
        "raw",
        "-r",
        "8000",
        "-e",
        "a-law",
        "-c",
        "1",
        str(raw_in),
        "-t",
        "raw",
        "-e",
        "signed",
        "-b",
        "16",
        str(raw_out),
    )
    return np.frombuffer(raw_out.read_bytes(), dtype="<i2").astype(np.float64)  # type: ignore[no-any-return]


def best_correlation(sent: np.ndarray, heard: np.ndarray) -> float:
    """Pearson correlation of what was sent with what came back, at the best delay (searched
    in 1 ms steps, then sample by sample around the best)."""
    import numpy as np

    n = len(sent)

    def at(lag: int) -> float:
        window = heard[lag : lag + n]
        if len(window) < n or window.std() == 0:
            return 0.0
        return float(np.corrcoef(sent, window)[0, 1])

    lags = range(0, max(len(heard) - n + 1, 0))
    coarse = max(lags[::8], key=at, default=0)
    fine = range(max(coarse - 8, 0), min(coarse + 9, len(lags)))
    return max((at(lag) for lag in fine), default=0.0)


class TestEcho:
    async def test_caller_hears_itself_through_the_pipecat_agent(
        self, call_api: Api, carrier: Carrier, pipecat_agent: PipecatAgent, tmp_path: Path
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        number = await inbound_trunk(call_api, agent["agent_uuid"])
        alaw, sent = make_signal(tmp_path)
        caller, port = await RtpCaller.open()
        try:
            sipp = asyncio.create_task(carrier.call_external_media(number.lstrip("+"), port, 6000))
            await asyncio.wait_for(caller.heard.wait(), 15)
            await caller.play_alaw(alaw)
            result = await sipp
        finally:
            caller.close()
        assert result.returncode == 0, result.log[-3000:]
        call = await settle(call_api, lambda c: c["status"] == "completed")
        assert call["end_reason"] == "caller_hangup"

        heard_alaw = b"".join(payload for _, payload in caller.received)
        heard = decode_alaw(tmp_path, heard_alaw, "heard")
        # A-law → μ-law (agent) → A-law: the round trip keeps the waveform
        assert best_correlation(sent, heard) >= 0.99


class TestInterruption:
    async def test_clear_stops_the_queued_audio(
        self, call_api: Api, carrier: Carrier, tmp_path: Path
    ) -> None:
        require_module("pipecat", PIPECAT)
        # The agent queues 10 s of tone, then interrupts after 1 s: Pipecat sends `clear`.
        with PipecatAgent(tmp_path, mode="interrupt", interrupt_after_s=1.0) as agent_proc:
            agent = await streaming_agent(call_api, agent_proc.url)
            number = await inbound_trunk(call_api, agent["agent_uuid"])
            caller, port = await RtpCaller.open()
            try:
                result = await carrier.call_external_media(number.lstrip("+"), port, 4000)
            finally:
                caller.close()
        assert result.returncode == 0, result.log[-3000:]
        call = await settle(call_api, lambda c: c["status"] == "completed")
        events = await call_api.get(f"/calls/{call['call_uuid']}/events", params={"per_page": 200})
        kinds = [e["kind"] for e in events.json()["data"]["items"]]
        assert "clear" in kinds, kinds

        tone_packets = [p for _, p in caller.received if any(b != ALAW_SILENCE for b in p)]
        # ≈ 1 s of tone (50 packets) played before the interruption — never the 10 s queued
        assert 10 <= len(tone_packets) <= 100, len(tone_packets)
