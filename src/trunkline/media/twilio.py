"""The Twilio Media Streams wire protocol (bidirectional), as pure functions.

Agents written for Twilio (Pipecat's ``TwilioFrameSerializer`` and the like) expect exactly
Twilio's JSON text frames, so the field names, nesting and string-typed counters below follow
Twilio's published messages: ``connected`` first and without a sequence number, then ``start``,
``media``, ``dtmf``, ``mark`` and ``stop``, each with ``sequenceNumber`` as a string counting from
"1". The agent sends ``media``, ``mark`` and ``clear``; anything else it sends is ignored.
"""

from __future__ import annotations

import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "AgentClear",
    "AgentMark",
    "AgentMedia",
    "ProtocolError",
    "StreamWriter",
    "new_sid",
    "parse_agent_message",
]


def new_sid(prefix: str) -> str:
    """A Twilio-shaped id: ``prefix`` ("CA", "MZ", "AC") and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


class ProtocolError(ValueError):
    """The agent sent a frame that is not valid Media Streams JSON."""


@dataclass(frozen=True, slots=True)
class AgentMedia:
    """Audio to play to the caller: μ-law of any length."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class AgentMark:
    """Echo ``name`` back once the audio sent before it has been played."""

    name: str


@dataclass(frozen=True, slots=True)
class AgentClear:
    """Drop all audio not played yet and return every pending mark."""


class StreamWriter:
    """Builds the frames Trunkline sends to the agent for one stream, numbering them."""

    def __init__(
        self,
        account_sid: str,
        call_sid: str,
        stream_sid: str,
        custom_parameters: dict[str, str],
    ) -> None:
        self.account_sid = account_sid
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.custom_parameters = dict(custom_parameters)
        self._sequence = 0
        self._chunk = 0
        # media frames are 50 per second per call: build them from a prepared template
        # rather than json.dumps (the sid is our own hex, nothing in it needs escaping).
        self._media_tail = '"},"streamSid":' + json.dumps(stream_sid) + "}"

    def _next(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    def _frame(self, body: dict[str, Any]) -> str:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def connected(self) -> str:
        """The first frame: names the protocol (no sequence number, as Twilio sends it)."""
        return self._frame({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self) -> str:
        """Stream metadata, sent once right after ``connected``."""
        return self._frame(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {
                        "encoding": "audio/x-mulaw",
                        "sampleRate": 8000,
                        "channels": 1,
                    },
                    "customParameters": self.custom_parameters,
                },
                "streamSid": self.stream_sid,
            }
        )

    def media(self, ulaw: bytes, timestamp_ms: int) -> str:
        """One chunk of the caller's audio; ``timestamp_ms`` counts from the stream's start."""
        self._chunk += 1
        self._sequence += 1
        payload = binascii.b2a_base64(ulaw, newline=False).decode("ascii")
        return (
            f'{{"event":"media","sequenceNumber":"{self._sequence}","media":{{"track":"inbound",'
            f'"chunk":"{self._chunk}","timestamp":"{timestamp_ms}","payload":"{payload}'
            + self._media_tail
        )

    def dtmf(self, digit: str) -> str:
        """A key the caller pressed."""
        return self._frame(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": self._next(),
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    def mark(self, name: str) -> str:
        """The echo of an agent's mark: its audio has been played (or cleared)."""
        return self._frame(
            {
                "event": "mark",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    def stop(self) -> str:
        """The last frame: the call ended on Trunkline's side."""
        return self._frame(
            {
                "event": "stop",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} must be a JSON object")
    return value


def _string(container: dict[str, Any], key: str, what: str) -> str:
    value = container.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"{what}.{key} must be a string")
    return value


def _loads(text: str) -> object:
    """JSON by orjson (50 agent frames a second per call: several times faster than json).

    What orjson refuses but JSON allows (integers beyond 64 bits, NaN) goes to the standard
    parser, so the accepted language is exactly JSON's either way.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"not JSON: {exc.msg}") from None


def parse_agent_message(text: str) -> AgentMedia | AgentMark | AgentClear | None:
    """One text frame from the agent; None for events we do not act on.

    Raises :class:`ProtocolError` for non-JSON, a non-object, or a known event whose fields
    have the wrong types (e.g. a payload that is not base64).
    """
    message = _object(_loads(text), "message")
    event = message.get("event")
    if event == "media":
        media = _object(message.get("media"), "media")
        payload = _string(media, "payload", "media")
        try:
            # Strict: only the base64 alphabet, padding only at the end (a bad payload is the
            # agent's bug, not something to guess around).
            return AgentMedia(binascii.a2b_base64(payload, strict_mode=True))
        except ValueError:  # binascii.Error, or a non-ASCII str
            raise ProtocolError("media.payload is not base64") from None
    if event == "mark":
        mark = _object(message.get("mark"), "mark")
        return AgentMark(_string(mark, "name", "mark"))
    if event == "clear":
        return AgentClear()
    if event is not None and not isinstance(event, str):
        raise ProtocolError("event must be a string")
    return None  # an event we do not act on (Twilio agents may send more in future)
