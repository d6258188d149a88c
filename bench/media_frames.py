"""CPU per agent WebSocket frame, in process: websockets' generic paths vs media/agent_socket.py.

Run: .venv/bin/python -m bench.media_frames [--frames 20000] [--rounds 5]

A load-independent check of the per-frame shortcuts (a shared machine distorts
``bench.media_bridge``): ``time.process_time`` over N frames, best of R rounds, on one real
client connection to a local websockets server.

* write: a caller ``media`` frame (as ``StreamWriter.media`` builds it) through
  ``protocol.send_text`` + ``send_data`` (what ``ws.send`` does underneath, and what main wrote
  straight onto the socket) vs ``agent_socket.write_text``. The transport is swapped for one
  that drops the bytes, so the socket's system call, the same for both, is left out.
* read: an agent ``media`` frame fed to the connection's ``data_received``, then parsed and
  played (``parse_agent_message``) by an ``async for`` task (main) vs delivered by
  ``AgentConnection.deliver_to`` (this branch). Each frame is followed by the same
  ``sleep(0)`` so that the task has run in both cases.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

from trunkline.media.agent_socket import AgentConnection, write_text  # noqa: E402
from trunkline.media.twilio import StreamWriter, new_sid, parse_agent_message  # noqa: E402


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _server_frame(text: str) -> bytes:
    data = text.encode()
    assert 126 <= len(data) < 65536
    return bytes((0x81, 126)) + len(data).to_bytes(2, "big") + data


def _cpu_us(run: Callable[[], None], frames: int) -> float:
    start = time.process_time()
    run()
    return (time.process_time() - start) / frames * 1e6


async def _sink(ws: ServerConnection) -> None:
    await ws.wait_closed()


async def measure(frames: int, rounds: int) -> dict[str, float]:
    writer = StreamWriter(new_sid("AC"), new_sid("CA"), new_sid("MZ"), {})
    caller_frame = writer.media(b"\x55" * 160, 0)
    payload = base64.b64encode(b"\x55" * 160).decode()
    agent_frame = _server_frame(json.dumps({"event": "media", "media": {"payload": payload}}))
    best: dict[str, float] = {}
    async with serve(_sink, "127.0.0.1", 0, compression=None) as server:
        url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"
        plain = await connect(url, compression=None, ping_interval=None)
        direct = await connect(
            url, compression=None, ping_interval=None, create_connection=AgentConnection
        )
        assert isinstance(direct, AgentConnection)
        played: list[bool] = []

        def play(data: bytes) -> None:
            played.append(parse_agent_message(data.decode()) is not None)

        direct.deliver_to(play)

        async def consume(ws: ClientConnection) -> None:
            async for message in ws:
                assert isinstance(message, str)
                played.append(parse_agent_message(message) is not None)

        consumer = asyncio.create_task(consume(plain))
        await asyncio.sleep(0.1)
        for ws in (plain, direct):
            ws.transport = _NullTransport()  # type: ignore[assignment]

        def old_write() -> None:
            protocol, send_data = plain.protocol, plain.send_data
            for _ in range(frames):
                protocol.send_text(caller_frame.encode())
                send_data()

        def new_write() -> None:
            for _ in range(frames):
                write_text(direct, caller_frame)

        async def read(ws: ClientConnection) -> float:
            start = time.process_time()
            for _ in range(frames):
                ws.data_received(agent_frame)
                await asyncio.sleep(0)
            return (time.process_time() - start) / frames * 1e6

        async def idle() -> float:
            start = time.process_time()
            for _ in range(frames):
                await asyncio.sleep(0)
            return (time.process_time() - start) / frames * 1e6

        for _ in range(rounds):
            results = {
                "write: protocol.send_text + send_data (main)": _cpu_us(old_write, frames),
                "write: agent_socket.write_text (branch)": _cpu_us(new_write, frames),
                "read: assembler + async for + parse (main)": await read(plain) - await idle(),
                "read: deliver_to + parse (branch)": await read(direct) - await idle(),
            }
            for name, value in results.items():
                best[name] = min(best.get(name, value), value)
        consumer.cancel()
        assert len(played) == 2 * frames * rounds and all(played)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        best = runner.run(measure(args.frames, args.rounds))
    print(f"== CPU per frame, best of {args.rounds} rounds of {args.frames} frames (µs)")
    for name, value in best.items():
        print(f"{name:<48}{value:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
