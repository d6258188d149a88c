"""A real Pipecat agent for the call tests: echoes the caller's audio back through Pipecat's
``TwilioFrameSerializer`` exactly as a Pipecat telephony bot is wired (FastAPI WebSocket +
``parse_telephony_websocket``), and records what it saw.

Run as its own process (the agent is another service; Pipecat is a test-only dependency):

    python -m tests.support.agents.pipecat_echo --port 8765 --report /tmp/report.json

Modes (``--mode``): ``echo`` (default) sends every caller frame back; ``interrupt`` plays a
long tone and pushes an interruption after ``--interrupt-after-s`` (Pipecat then sends
``clear``); ``speak`` says 2 s of tone once and listens (``loud_samples`` counts what it hears
above silence — its own voice, when the callee echoes). The report (JSON, rewritten as things
happen) holds the ``start`` call data, the μ-law bytes received, the digits and whether the
stream ended.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import math
import struct
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner

RATE = 8000


class Report:
    """``{"calls": {call_sid: {...}}}``: what the agent saw of each call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"calls": {}}
        self.write()

    def new_call(self) -> dict[str, Any]:
        return {
            "start": None,
            "authorization": None,
            "audio_bytes": 0,
            "digits": [],
            "ended": False,
            "interrupted": False,
            "loud_samples": 0,
        }

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


class Echo(FrameProcessor):
    """Caller audio → the same audio out; digits noted."""

    def __init__(self, report: Report, call: dict[str, Any], echo: bool) -> None:
        super().__init__()
        self.report = report
        self.call = call
        self.echo = echo

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            # 16-bit PCM at 8 kHz in the pipeline: 2 bytes per μ-law byte on the wire
            self.call["audio_bytes"] += len(frame.audio) // 2
            # samples well above μ-law's idle noise: speech or tone, not silence
            pcm = array.array("h", frame.audio)
            self.call["loud_samples"] += sum(1 for x in pcm if abs(x) > 1000)
            if self.echo:
                await self.push_frame(
                    OutputAudioRawFrame(
                        audio=frame.audio,
                        sample_rate=frame.sample_rate,
                        num_channels=frame.num_channels,
                    )
                )
            return
        if isinstance(frame, InputDTMFFrame):
            self.call["digits"].append(str(frame.button.value))
            self.report.write()
        await self.push_frame(frame, direction)


def tone(seconds: float, hz: float = 440.0) -> bytes:
    count = int(RATE * seconds)
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / RATE))) for i in range(count)
    )


def build_app(report: Report, mode: str, interrupt_after_s: float) -> FastAPI:
    app = FastAPI()

    @app.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        call = report.new_call()
        call["authorization"] = websocket.headers.get("authorization")
        _, call_data = await parse_telephony_websocket(websocket)
        report.data["calls"][call_data["call_id"]] = call
        call["start"] = {
            "stream_id": call_data["stream_id"],
            "call_id": call_data["call_id"],
            "body": call_data.get("body", {}),
        }
        report.write()
        serializer = TwilioFrameSerializer(
            stream_sid=call_data["stream_id"],
            call_sid=call_data["call_id"],
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        transport = FastAPIWebsocketTransport(
            websocket=websocket,
            params=FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                add_wav_header=False,
                serializer=serializer,
            ),
        )
        echo = Echo(report, call, echo=mode == "echo")
        pipeline = Pipeline([transport.input(), echo, transport.output()])
        task = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
        )

        @transport.event_handler("on_client_disconnected")
        async def on_disconnected(_transport: Any, _client: Any) -> None:
            call["ended"] = True
            report.write()
            await task.cancel()

        async def interrupt_later() -> None:
            await task.queue_frame(
                OutputAudioRawFrame(audio=tone(10.0), sample_rate=RATE, num_channels=1)
            )
            await asyncio.sleep(interrupt_after_s)
            await task.queue_frame(InterruptionFrame())
            call["interrupted"] = True
            report.write()

        async def speak() -> None:
            await task.queue_frame(
                OutputAudioRawFrame(audio=tone(2.0), sample_rate=RATE, num_channels=1)
            )

        side = None
        if mode == "interrupt":
            side = asyncio.create_task(interrupt_later())
        elif mode == "speak":
            side = asyncio.create_task(speak())
        try:
            runner = WorkerRunner(handle_sigint=False)
            await runner.add_workers(task)
            await runner.run()
        finally:
            if side is not None:
                side.cancel()
            call["ended"] = True
            report.write()

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--mode", choices=["echo", "interrupt", "speak"], default="echo")
    parser.add_argument("--interrupt-after-s", type=float, default=1.0)
    args = parser.parse_args()
    report = Report(args.report)
    app = build_app(report, args.mode, args.interrupt_after_s)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
