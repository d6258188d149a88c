"""Message parsing/serialization, including hypothesis fuzzing of the parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkline.sip import SipParseError
from trunkline.sip.message import (
    SipRequest,
    SipResponse,
    frame_length,
    parse_message,
    parse_name_addr,
    split_list,
)
from trunkline.sip.transport import Dispatcher

RESPONSE = (
    b"SIP/2.0 200 OK\r\n"
    b"v: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKtop;received=127.0.0.1\r\n"
    b"Via: SIP/2.0/UDP proxy.example:5060;branch=z9hG4bKsecond, SIP/2.0/TCP p2;branch=z9hG4bK3\r\n"
    b"f: <sip:trunkline@127.0.0.1>;tag=abc\r\n"
    b"TO : <sip:127.0.0.1:5060>\r\n"
    b" ;tag=folded\r\n"
    b"i: call-1\r\n"
    b"CSeq: 7 options\r\n"
    b'm: <sip:a@1.2.3.4:5>;expires=60, "Bob, Jr" <sip:b@5.6.7.8>;expires=30\r\n'
    b"l: 5\r\n"
    b"\r\n"
    b"hello-and-extra-bytes"
)


def test_parse_response_with_compact_folded_and_multiple_via() -> None:
    msg = parse_message(RESPONSE)
    assert isinstance(msg, SipResponse)
    assert (msg.status, msg.reason) == (200, "OK")
    assert msg.top_via_branch == "z9hG4bKtop"
    assert len(msg.values("VIA")) == 3
    assert msg.get("to") == "<sip:127.0.0.1:5060> ;tag=folded"  # RFC 3261 §7.3.1 unfolding
    assert msg.call_id == "call-1"
    assert msg.cseq == (7, "OPTIONS")
    assert msg.get("Content-Length") == "5"
    assert msg.body == b"hello"  # bytes beyond Content-Length are discarded (§18.3)
    contacts = msg.values("contact")
    assert len(contacts) == 2
    assert parse_name_addr(contacts[1]) == ("sip:b@5.6.7.8", {"expires": "30"})


def test_parse_request_and_roundtrip() -> None:
    req = SipRequest(
        method="OPTIONS",
        uri="sip:[::1]:5060",
        headers=[("Via", "SIP/2.0/UDP [::1]:1;rport;branch=z9hG4bKx"), ("CSeq", "1 OPTIONS")],
        body=b"abc",
    )
    data = req.to_bytes()
    assert b"Content-Length: 3\r\n\r\nabc" in data
    again = parse_message(data)
    assert isinstance(again, SipRequest)
    assert (again.method, again.uri, again.body) == ("OPTIONS", "sip:[::1]:5060", b"abc")
    assert again.top_via_branch == "z9hG4bKx"


def test_name_addr_without_brackets_keeps_params_on_header() -> None:
    assert parse_name_addr("sip:a@b;expires=5") == ("sip:a@b", {"expires": "5"})
    assert split_list('"a,b" <sip:x,y>, c') == ['"a,b" <sip:x,y>', "c"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 099 Low\r\n\r\n",
        b"SIP/3.0 200 OK\r\n\r\n",
        b"OPTIONS sip:x\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\nno colon here\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
        b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\nContent-Length: \xd9\xa1\r\n\r\n",
        b"\xff\xfe SIP/2.0 200 OK\r\n\r\n",
        b" leading continuation\r\n\r\n",
    ],
)
def test_malformed_messages_raise_parse_error(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


def test_cseq_accessor_validates() -> None:
    msg = parse_message(b"SIP/2.0 200 OK\r\nCSeq: x OPTIONS\r\n\r\n")
    with pytest.raises(SipParseError):
        _ = msg.cseq
    with pytest.raises(SipParseError):
        _ = msg.call_id


def test_frame_length_for_streams() -> None:
    one = b"SIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    assert frame_length(one + b"SIP/2.0") == len(one)
    assert frame_length(one[:-1]) is None
    assert frame_length(b"SIP/2.0 200 OK\r\n") is None
    with pytest.raises(SipParseError):
        frame_length(b"SIP/2.0 200 OK\r\nX: y\r\n\r\n")  # §18.3: mandatory on streams


def _exercise(data: bytes) -> int | None:
    """Parse and touch every accessor; only SipParseError may escape. Returns the stream
    framing's length of the first message (None when incomplete or unframeable)."""
    try:
        msg = parse_message(data)
        _ = msg.top_via_branch, msg.values("via"), msg.values("contact"), msg.get("to")
        for value in msg.values("contact"):
            parse_name_addr(value)
        _ = msg.cseq
        _ = msg.call_id
        msg.to_bytes()
    except SipParseError:
        pass
    length = None
    with contextlib.suppress(SipParseError):
        length = frame_length(data)
    Dispatcher().feed(data, ("127.0.0.1", 1))  # the receive path must never raise
    return length


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    length = _exercise(data)
    assert length is None or 0 < length <= len(data)  # a framed message lies in the buffer


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(RESPONSE if draw(st.booleans()) else REQUEST)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b":", b" ", b";", b'"', b"<", b"\xff"]))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        else:
            data[pos:pos] = data[: draw(st.integers(0, 40))]
    return bytes(data)


REQUEST = (
    b"REGISTER sip:siplab.test SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5070;rport;branch=z9hG4bKabc\r\n"
    b"From: <sip:trunk1@siplab.test>;tag=1\r\nTo: <sip:trunk1@siplab.test>\r\n"
    b"Call-ID: c1\r\nCSeq: 2 REGISTER\r\nContact: <sip:trunk1@127.0.0.1:5070>;expires=60\r\n"
    b'Authorization: Digest username="trunk1", realm="r", nonce="n", uri="sip:x", '
    b'response="00", algorithm=MD5\r\nContent-Length: 0\r\n\r\n'
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_valid_messages(data: bytes) -> None:
    length = _exercise(data)
    assert length is None or 0 < length <= len(data)


@given(st.text(max_size=400))
def test_fuzz_text(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    length = _exercise(data)
    assert length is None or 0 < length <= len(data)
