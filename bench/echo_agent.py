"""A minimal Twilio Media Streams agent for the call benchmarks: every ``media`` frame it
receives goes straight back. ``python -m bench.echo_agent --port 8765``."""

from __future__ import annotations

import argparse
import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    stream_sid = ""
    async for message in ws:
        frame = json.loads(message)
        event = frame.get("event")
        if event == "start":
            stream_sid = frame["start"]["streamSid"]
        elif event == "media":
            payload = frame["media"]["payload"]
            reply = {"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}
            await ws.send(json.dumps(reply))
        elif event == "stop":
            break


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
