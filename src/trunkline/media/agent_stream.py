"""The bridge between one call's RtpSession and the agent's WebSocket (Twilio Media Streams).

Trunkline is the WebSocket *client*: for each answered call it dials the agent's ``stream_url``
(with ``Authorization: Bearer …`` when the agent has a token) and then, until either side ends:

* caller audio from the session (20 ms μ-law frames) → ``media`` frames;
* caller keys → ``dtmf``; marks whose audio has been played → ``mark`` (the echo);
* agent ``media`` → ``session.play``; agent ``mark`` → ``session.mark``; ``clear`` →
  ``session.clear`` (which returns the pending marks, echoed in turn).

An :class:`AgentStream` is the session's :class:`~trunkline.media.session.MediaListener`:
pass it as ``listener=`` to ``RtpSession.start``. Listener callbacks run on the event loop and
only queue work for the sending task, so a slow agent never stalls the RTP clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any, Literal

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from trunkline.media.agent_socket import AgentConnection, can_write, write_text
from trunkline.media.session import FRAME_S, RtpSession
from trunkline.media.twilio import (
    AgentClear,
    AgentMark,
    AgentMedia,
    ProtocolError,
    StreamWriter,
    parse_agent_message,
)

__all__ = ["AgentStream", "AgentUnreachable", "EndReason", "EventCallback"]

log = logging.getLogger(__name__)

EndReason = Literal["agent_hangup", "caller_hangup", "media_timeout", "error"]
EventCallback = Callable[[str, dict[str, object]], None]

# Caller audio waiting for a slow agent is bounded: 10 s of frames, then newer frames are
# dropped (the agent hears a gap) rather than the process growing without limit.
_MAX_OUTBOX_AUDIO = 500
# Audio from the agent may be long (a whole TTS utterance in one message): allow 4 MiB,
# about 6 minutes of base64 μ-law, instead of websockets' 1 MiB default.
_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_CLOSE_TIMEOUT_S = 2.0

_Item = (
    tuple[Literal["audio"], bytes]
    | tuple[Literal["dtmf", "mark"], str]
    | tuple[Literal["dropped"], int]
    | tuple[Literal["timeout"], None]
)


class AgentUnreachable(Exception):
    """The agent's WebSocket could not be opened; ``reason`` says why, briefly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AgentStream:
    """One open agent WebSocket speaking Twilio Media Streams for one call."""

    def __init__(self, ws: AgentConnection) -> None:
        self._ws = ws
        self._outbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._audio_in_outbox = 0
        self._result: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()
        self._finished = asyncio.Event()
        self._running = False
        self._writer: StreamWriter | None = None  # set by run(): frames can go out
        self._session: RtpSession | None = None  # set by run(): agent frames are played
        self._emit: EventCallback = _ignore
        self._frames = 0  # caller frames sent to the agent
        self.dropped_frames = 0  # caller frames dropped because the agent did not keep up

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        auth_token: str | None,
        timeout_s: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> AgentStream:
        """Open the agent's WebSocket; raises :class:`AgentUnreachable` with a short reason.

        ``wss://`` URLs verify the agent's certificate against the system CAs unless
        ``ssl_context`` says otherwise (e.g. a private CA).
        """
        headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else None
        extra: dict[str, Any] = {"ssl": ssl_context} if ssl_context is not None else {}
        try:
            # The timeout covers DNS, TCP, TLS and the upgrade together.
            async with asyncio.timeout(timeout_s):
                ws = await connect(
                    url,
                    additional_headers=headers,
                    open_timeout=None,
                    close_timeout=_CLOSE_TIMEOUT_S,
                    # Base64 μ-law hardly compresses; deflate would cost CPU on every frame.
                    compression=None,
                    max_size=_MAX_MESSAGE_BYTES,
                    # websockets would read HTTP(S)_PROXY from the environment; Trunkline is
                    # configured only through its settings object, so agents are dialled directly.
                    proxy=None,
                    # Agent frames go straight to the session (see media/agent_socket.py).
                    create_connection=AgentConnection,
                    **extra,
                )
        except TimeoutError:
            raise AgentUnreachable(f"no answer within {timeout_s:g} s") from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise AgentUnreachable(f"HTTP {status} instead of a WebSocket upgrade") from None
        except InvalidURI as exc:
            raise AgentUnreachable(f"invalid stream URL: {exc.msg}") from None
        except OSError as exc:
            raise AgentUnreachable(_os_reason(exc)) from None
        except WebSocketException as exc:
            raise AgentUnreachable(f"handshake failed: {exc}") from None
        assert isinstance(ws, AgentConnection)
        return cls(ws)

    # -- MediaListener: called by the RtpSession on the event loop ----------------------------

    def on_audio(self, ulaw: bytes) -> None:
        writer = self._writer
        if writer is not None and self._outbox.empty() and self._writable():
            # The common case, 50 times a second per call: straight onto the socket, in order
            # (nothing is queued before it), without waking the sending task.
            self._write(writer.media(ulaw, self._next_timestamp_ms()))
            return
        if self._audio_in_outbox >= _MAX_OUTBOX_AUDIO:
            self.dropped_frames += 1
            return
        self._audio_in_outbox += 1
        self._outbox.put_nowait(("audio", ulaw))

    def on_dtmf(self, digit: str) -> None:
        self._outbox.put_nowait(("dtmf", digit))

    def on_mark(self, name: str) -> None:
        self._outbox.put_nowait(("mark", name))

    def on_media_timeout(self) -> None:
        self._outbox.put_nowait(("timeout", None))

    def on_audio_dropped(self, dropped_ms: int) -> None:
        self._outbox.put_nowait(("dropped", dropped_ms))

    # -- the bridge -------------------------------------------------------------------------

    async def run(
        self,
        session: RtpSession,
        writer: StreamWriter,
        on_event: EventCallback | None = None,
    ) -> EndReason:
        """Bridge until the call ends; returns why it ended. The WebSocket is closed after."""
        if self._running:
            raise RuntimeError("AgentStream.run() called twice")
        self._running = True
        emit = on_event or _ignore
        sender: asyncio.Task[None] | None = None
        receiver: asyncio.Task[None] | None = None
        try:
            try:
                await self._ws.send(writer.connected())
                await self._ws.send(writer.start())
            except ConnectionClosed:
                self._end("agent_hangup")
            else:
                emit("agent_connected", {"stream_sid": writer.stream_sid})
                self._writer = writer
                self._session, self._emit = session, emit
                sender = asyncio.create_task(self._send_loop(writer, emit))
                # Agent frames are handled as they arrive (inside the socket's data_received),
                # those that came before `start` first; this task only waits for the close.
                self._ws.deliver_to(self._on_agent_text)
                receiver = asyncio.create_task(self._wait_closed())
                sender.add_done_callback(self._task_done)
                receiver.add_done_callback(self._task_done)
            reason = await self._result
        finally:
            self._writer = None  # from here on, nothing but `stop` goes out
            self._session = None  # and nothing the agent sends is played
            tasks = [task for task in (sender, receiver) if task is not None]
            for task in tasks:
                task.cancel()
            # A loop that crashed was already reported by _task_done: only wait for both here.
            await asyncio.gather(*tasks, return_exceptions=True)
            if not self._result.done():
                self._result.set_result("error")  # run() itself was cancelled
            reason = self._result.result()
            if reason != "agent_hangup":
                # Every ending but the agent's own ends with `stop`, as Twilio does.
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(writer.stop())
            await self._ws.close()
            self._finished.set()
        return reason

    async def stop(self) -> None:
        """The caller hung up: send ``stop``, close the WebSocket; run() returns caller_hangup."""
        self._end("caller_hangup")
        if self._running:
            await self._finished.wait()
        else:
            await self._ws.close()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        # A bug in either loop must end the call, not leave run() waiting forever.
        if not task.cancelled() and task.exception() is not None:
            log.error("agent stream task failed", exc_info=task.exception())
            self._end("error")

    def _end(self, reason: EndReason) -> None:
        if not self._result.done():
            self._result.set_result(reason)

    def _next_timestamp_ms(self) -> int:
        """Twilio's timestamp of the next caller frame: its place in the stream, in ms."""
        timestamp = round(self._frames * FRAME_S * 1000)
        self._frames += 1
        return timestamp

    def _writable(self) -> bool:
        """The socket takes a frame now: open, no fragmented send under way, and not paused
        by flow control (then frames wait in the outbox for the sending task)."""
        return can_write(self._ws) and not self._result.done()

    def _write(self, frame: str) -> None:
        """What ``ws.send`` does for one text frame, minus the coroutine (media/agent_socket.py
        says why and what it relies on). Only when :meth:`_writable`."""
        write_text(self._ws, frame)

    async def _send_loop(self, writer: StreamWriter, emit: EventCallback) -> None:
        ws = self._ws
        try:
            while True:
                kind, value = await self._outbox.get()
                if kind == "audio":
                    assert isinstance(value, bytes)
                    self._audio_in_outbox -= 1
                    await ws.send(writer.media(value, self._next_timestamp_ms()))
                elif kind == "dtmf":
                    assert isinstance(value, str)
                    emit("dtmf", {"digit": value})
                    await ws.send(writer.dtmf(value))
                elif kind == "mark":
                    assert isinstance(value, str)
                    emit("mark", {"name": value})
                    await ws.send(writer.mark(value))
                elif kind == "dropped":
                    emit("audio_dropped", {"dropped_ms": value})
                else:
                    emit("media_timeout", {})
                    self._end("media_timeout")
                    return
        except ConnectionClosed:
            self._end("agent_hangup")

    async def _wait_closed(self) -> None:
        await self._ws.wait_closed()
        self._end("agent_hangup")

    def _on_agent_text(self, data: bytes) -> None:
        """One text message from the agent, as it arrives (called inside data_received)."""
        session, emit = self._session, self._emit
        if session is None or self._result.done():
            return  # the bridge is over (or ended on an error): nothing more is played
        try:
            try:
                parsed = parse_agent_message(data.decode())
            except UnicodeDecodeError:
                raise ProtocolError("a text frame that is not UTF-8") from None
            if isinstance(parsed, AgentMedia):
                session.play(parsed.payload)
            elif isinstance(parsed, AgentMark):
                session.mark(parsed.name)
            elif isinstance(parsed, AgentClear):
                emit("clear", {"dropped_ms": session.queued_ms})
                session.clear()
        except ProtocolError as exc:
            log.warning("agent protocol error: %s", exc)
            emit("protocol_error", {"detail": str(exc)})
            self._end("error")
        except Exception:
            # A bug here must end the call, not the agent socket's reader.
            log.exception("agent frame failed")
            self._end("error")


def _os_reason(exc: OSError) -> str:
    """A short reason for a failed dial: asyncio wraps errno errors in long messages."""
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed: {exc.strerror}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if exc.errno:
        return os.strerror(exc.errno)  # e.g. "Connection refused"
    return str(exc) or type(exc).__name__


def _ignore(kind: str, detail: dict[str, object]) -> None:
    """The default on_event: the call record is optional."""
