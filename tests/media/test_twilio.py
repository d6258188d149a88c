"""Twilio Media Streams frames: exact JSON shapes, numbering, and agent message parsing."""

from __future__ import annotations

import base64
import json
import re

import pytest

from trunkline.media.twilio import (
    AgentClear,
    AgentMark,
    AgentMedia,
    ProtocolError,
    StreamWriter,
    new_sid,
    parse_agent_message,
)

ACCOUNT, CALL, STREAM = "AC" + "a" * 32, "CA" + "b" * 32, "MZ" + "c" * 32


def _writer() -> StreamWriter:
    return StreamWriter(ACCOUNT, CALL, STREAM, {"from_number": "+15551230000", "to": "+1555"})


class TestNewSid:
    @pytest.mark.parametrize("prefix", ["CA", "MZ", "AC"])
    def test_shape(self, prefix: str) -> None:
        assert re.fullmatch(prefix + "[0-9a-f]{32}", new_sid(prefix))

    def test_unique(self) -> None:
        assert len({new_sid("CA") for _ in range(100)}) == 100


class TestStreamWriter:
    def test_a_whole_stream(self) -> None:
        writer = _writer()
        ulaw = bytes(range(160))
        frames = [
            writer.connected(),
            writer.start(),
            writer.media(ulaw, 0),
            writer.media(ulaw[:80], 20),
            writer.dtmf("#"),
            writer.mark("greeting"),
            writer.stop(),
        ]
        payload = base64.b64encode(ulaw).decode()
        assert [json.loads(f) for f in frames] == [
            {"event": "connected", "protocol": "Call", "version": "1.0.0"},
            {
                "event": "start",
                "sequenceNumber": "1",
                "start": {
                    "accountSid": ACCOUNT,
                    "streamSid": STREAM,
                    "callSid": CALL,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"from_number": "+15551230000", "to": "+1555"},
                },
                "streamSid": STREAM,
            },
            {
                "event": "media",
                "sequenceNumber": "2",
                "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload},
                "streamSid": STREAM,
            },
            {
                "event": "media",
                "sequenceNumber": "3",
                "media": {
                    "track": "inbound",
                    "chunk": "2",
                    "timestamp": "20",
                    "payload": base64.b64encode(ulaw[:80]).decode(),
                },
                "streamSid": STREAM,
            },
            {
                "event": "dtmf",
                "streamSid": STREAM,
                "sequenceNumber": "4",
                "dtmf": {"track": "inbound_track", "digit": "#"},
            },
            {
                "event": "mark",
                "sequenceNumber": "5",
                "streamSid": STREAM,
                "mark": {"name": "greeting"},
            },
            {
                "event": "stop",
                "sequenceNumber": "6",
                "streamSid": STREAM,
                "stop": {"accountSid": ACCOUNT, "callSid": CALL},
            },
        ]

    def test_media_frame_is_the_same_json_as_dumps(self) -> None:
        # The hand-built media frame must stay byte-compatible with a JSON encoder's output.
        frame = _writer().media(b"\x00\xff", 40)
        assert frame == json.dumps(json.loads(frame), separators=(",", ":"))

    def test_custom_parameters_are_copied(self) -> None:
        params = {"a": "1"}
        writer = StreamWriter(ACCOUNT, CALL, STREAM, params)
        params["a"] = "2"
        assert json.loads(writer.start())["start"]["customParameters"] == {"a": "1"}

    def test_mark_name_with_quotes_is_escaped(self) -> None:
        assert json.loads(_writer().mark('say "hi"'))["mark"]["name"] == 'say "hi"'


class TestParseAgentMessage:
    @pytest.mark.parametrize(
        ("text", "parsed"),
        [
            (
                json.dumps({"event": "media", "streamSid": STREAM, "media": {"payload": "AAH/"}}),
                AgentMedia(b"\x00\x01\xff"),
            ),
            (json.dumps({"event": "media", "media": {"payload": ""}}), AgentMedia(b"")),
            (json.dumps({"event": "mark", "mark": {"name": "m1"}}), AgentMark("m1")),
            (json.dumps({"event": "clear", "streamSid": STREAM}), AgentClear()),
            (json.dumps({"event": "something-new"}), None),
            (json.dumps({"streamSid": STREAM}), None),
            # Valid JSON that orjson refuses (beyond 64 bits, NaN) is still read as JSON.
            (
                '{"event": "mark", "mark": {"name": "m"}, "n": 123456789012345678901234}',
                AgentMark("m"),
            ),
            ('{"event": "clear", "x": NaN}', AgentClear()),
        ],
    )
    def test_valid(self, text: str, parsed: object) -> None:
        assert parse_agent_message(text) == parsed

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("not json", "not JSON"),
            ("[1, 2]", "must be a JSON object"),
            ('{"event": 5}', "event must be a string"),
            ('{"event": "media"}', "media must be a JSON object"),
            ('{"event": "media", "media": {"payload": 5}}', "payload must be a string"),
            ('{"event": "media", "media": {"payload": "###"}}', "not base64"),
            ('{"event": "mark", "mark": {}}', "mark.name must be a string"),
            ('{"event": "mark", "mark": "m1"}', "mark must be a JSON object"),
        ],
    )
    def test_invalid(self, text: str, message: str) -> None:
        with pytest.raises(ProtocolError, match=message):
            parse_agent_message(text)
