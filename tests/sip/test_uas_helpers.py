"""Pure helpers of the UAS: Via handling, response building, URIs, dialogs; parser fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sip.edge_support import OFFER, request
from trunkline.sip.dialog import (
    display_name_of,
    parse_sip_uri,
    uac_dialog,
    uas_dialog,
    user_of,
)
from trunkline.sip.edge_transport import salvage_request
from trunkline.sip.errors import SipParseError
from trunkline.sip.message import SipRequest, SipResponse, parse_message
from trunkline.sip.sdp import SdpError, parse_sdp
from trunkline.sip.server_transaction import (
    build_response,
    header_tag,
    parse_top_via,
    response_address,
    split_hostport,
    stamp_via,
)


def parsed(text: str) -> SipRequest:
    msg = parse_message(text.encode())
    assert isinstance(msg, SipRequest)
    return msg


class TestTopVia:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx", ("UDP", "10.0.0.1", 5070, "z9hG4bKx")),
            ("SIP/2.0/tcp host.example;branch=b1;rport", ("TCP", "host.example", None, "b1")),
            ("SIP/2.0/UDP [::1]:5062;branch=b2, SIP/2.0/UDP 10.0.0.9", ("UDP", "::1", 5062, "b2")),
            ("SIP / 2.0 / UDP", None),
            ("SIP/2.0/UDP", None),
            ("SIP/2.0/UDP host:99999;branch=x", None),
            ("HTTP/1.1/TCP host", None),
            ("", None),
        ],
    )
    def test_parse(self, value: str, expected: tuple[str, str, int | None, str] | None) -> None:
        via = parse_top_via(value)
        if expected is None:
            assert via is None
        else:
            assert via is not None
            assert (via.transport, via.host, via.port, via.params.get("branch")) == expected

    @pytest.mark.parametrize(
        ("via", "source", "expected"),
        [
            # RFC 3581 §4: rport present -> back to the source address and port
            (
                "SIP/2.0/UDP 10.0.0.1:5070;rport;branch=x",
                ("192.0.2.1", 40000),
                ("192.0.2.1", 40000),
            ),
            # RFC 3261 §18.2.2: otherwise the source IP and the sent-by port ...
            ("SIP/2.0/UDP 10.0.0.1:5070;branch=x", ("192.0.2.1", 40000), ("192.0.2.1", 5070)),
            # ... defaulting to 5060
            ("SIP/2.0/UDP 10.0.0.1;branch=x", ("192.0.2.1", 40000), ("192.0.2.1", 5060)),
        ],
    )
    def test_response_address(
        self, via: str, source: tuple[str, int], expected: tuple[str, int]
    ) -> None:
        top = parse_top_via(via)
        assert top is not None
        assert response_address(top, source) == expected

    @pytest.mark.parametrize(
        ("via", "expected"),
        [
            (
                "SIP/2.0/UDP 10.0.0.1:5070;rport;branch=x",
                "SIP/2.0/UDP 10.0.0.1:5070;branch=x;received=192.0.2.1;rport=40000",
            ),
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=x;received=1.1.1.1, SIP/2.0/UDP 10.9.9.9",
                "SIP/2.0/UDP 10.0.0.1:5070;branch=x;received=192.0.2.1, SIP/2.0/UDP 10.9.9.9",
            ),
        ],
    )
    def test_stamp_via(self, via: str, expected: str) -> None:
        req = SipRequest(method="OPTIONS", uri="sip:x", headers=[("Via", via)])
        stamp_via(req, ("192.0.2.1", 40000))
        assert req.get("via") == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("10.0.0.1:5060", ("10.0.0.1", 5060)),
            ("[2001:db8::1]:5061", ("2001:db8::1", 5061)),
            ("[2001:db8::1]", ("2001:db8::1", None)),
            ("example.com", ("example.com", None)),
            ("example.com:0", ("", None)),
            ("[::1", ("", None)),
        ],
    )
    def test_split_hostport(self, text: str, expected: tuple[str, int | None]) -> None:
        assert split_hostport(text) == expected


class TestResponses:
    def test_copies_the_mandatory_headers_and_adds_the_to_tag_once(self) -> None:
        req = parsed(request("INVITE", 5060, 5070, call_id="c1", body=OFFER))
        res = build_response(req, 180, "Ringing", to_tag="abc", headers=[("Contact", "<sip:x>")])
        assert [n for n, _ in res.headers] == ["Via", "From", "To", "Call-ID", "CSeq", "Contact"]
        assert header_tag(res.get("to") or "") == "abc"
        in_dialog = parsed(request("BYE", 5060, 5070, to_tag="theirs"))
        res = build_response(in_dialog, 200, "OK", to_tag="abc")
        assert header_tag(res.get("to") or "") == "theirs"

    @pytest.mark.parametrize(
        ("value", "tag"),
        [
            ("<sip:a@b>;tag=1", "1"),
            ('"A;tag=2" <sip:a@b;tag=3>', None),  # params inside <> belong to the URI
            ("sip:a@b;tag=4", "4"),
            ("<sip:a@b", None),  # unparseable: no tag rather than an error
        ],
    )
    def test_header_tag(self, value: str, tag: str | None) -> None:
        assert header_tag(value) == tag


class TestUris:
    @pytest.mark.parametrize(
        ("uri", "expected"),
        [
            ("sip:+15551234567@10.0.0.1:5070;user=phone", ("+15551234567", "10.0.0.1", 5070)),
            ("sips:alice:secret@example.com", ("alice", "example.com", None)),
            ("sip:[::1]:5062;transport=tcp", (None, "::1", 5062)),
            ("sip:bob@host?subject=x", ("bob", "host", None)),
        ],
    )
    def test_parse_sip_uri(self, uri: str, expected: tuple[str | None, str, int | None]) -> None:
        parsed_uri = parse_sip_uri(uri)
        assert (parsed_uri.user, parsed_uri.host, parsed_uri.port) == expected

    @pytest.mark.parametrize("uri", ["tel:+15551234567", "http://x", "sip:", "sip:a@:5060"])
    def test_rejects(self, uri: str) -> None:
        with pytest.raises(SipParseError):
            parse_sip_uri(uri)

    @pytest.mark.parametrize(
        ("value", "user", "display"),
        [
            ('"Carrier \\"X\\"" <sip:+1555@h>;tag=1', "+1555", 'Carrier "X"'),
            ("Bob <sip:bob@h>", "bob", "Bob"),
            ("<tel:+1555>", None, None),
            ("sip:carol@h;tag=1", "carol", None),
        ],
    )
    def test_user_and_display_name(self, value: str, user: str | None, display: str | None) -> None:
        assert (user_of(value), display_name_of(value)) == (user, display)


class TestDialogs:
    def test_uas_dialog_keeps_record_route_order_and_targets_contact(self) -> None:
        text = request("INVITE", 5060, 5070, call_id="c9", cseq=7, body=OFFER).replace(
            "Max-Forwards: 70", "Max-Forwards: 70\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>"
        )
        invite = parsed(text)
        dialog = uas_dialog(invite, "ours", to_with_tag=f"{invite.get('to')};tag=ours")
        assert dialog.key == ("c9", "ours", "peer1")
        assert dialog.route_set == ["<sip:p1;lr>", "<sip:p2;lr>"]
        assert dialog.remote_target == "sip:peer@127.0.0.1:5070"
        assert dialog.next_hop().host == "p1"
        bye = dialog.request("BYE")
        assert bye.uri == "sip:peer@127.0.0.1:5070"
        assert bye.get_all("route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
        assert bye.cseq == (1, "BYE") and header_tag(bye.get("from") or "") == "ours"
        # RFC 3261 §12.2.2: lower remote CSeq is refused, equal or higher accepted.
        assert not dialog.accepts_remote_cseq(6)
        assert dialog.accepts_remote_cseq(8)

    def test_uac_dialog_reverses_record_route(self) -> None:
        invite = parsed(request("INVITE", 5060, 5070, call_id="c1", cseq=2, body=OFFER))
        response = SipResponse(
            status=200,
            reason="OK",
            headers=[
                ("To", "<sip:x@h>;tag=theirs"),
                ("Record-Route", "<sip:p1;lr>"),
                ("Record-Route", "<sip:p2;lr>"),
                ("Contact", "<sip:callee@10.0.0.5:5090>"),
            ],
        )
        dialog = uac_dialog(invite, response)
        assert dialog.key == ("c1", "peer1", "theirs")
        assert dialog.route_set == ["<sip:p2;lr>", "<sip:p1;lr>"]
        assert dialog.remote_target == "sip:callee@10.0.0.5:5090"
        assert dialog.request("BYE").cseq == (3, "BYE")


class TestSalvage:
    @pytest.mark.parametrize(
        ("data", "answerable"),
        [
            (request("OPTIONS", 1, 2).replace("Content-Length: 0", "Content-Length: 9"), True),
            (request("ACK", 1, 2).replace("Content-Length: 0", "Content-Length: 9"), False),
            (
                "SIP/2.0 200 OK\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 X\r\n\r\n",
                False,
            ),
            ("garbage", False),
            ("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", False),  # no From/To/...
        ],
    )
    def test_only_requests_with_the_echoed_headers(self, data: str, answerable: bool) -> None:
        assert (salvage_request(data.encode()) is not None) is answerable


VALID = request("INVITE", 5060, 5070, body=OFFER).encode()


class TestFuzz:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=2048))
    def test_parser_raises_only_sip_parse_error_on_bytes(self, data: bytes) -> None:
        try:
            msg = parse_message(data)
        except SipParseError:
            salvaged = salvage_request(data)  # never raises either
            assert salvaged is None or salvaged.get("call-id") is not None
        else:
            assert isinstance(msg, SipRequest | SipResponse)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=12))
    def test_mutated_invites_raise_only_sip_parse_error(self, flips: list[tuple[int, int]]) -> None:
        data = bytearray(VALID)
        for index, value in flips:
            data[index] = value
        try:
            msg = parse_message(bytes(data))
        except SipParseError:
            return
        for name in ("via", "to", "from", "contact"):
            parse_top_via(msg.get(name) or "") if name == "via" else header_tag(msg.get(name) or "")
        try:
            assert msg.cseq[0] >= 0
            parse_sdp(msg.body)
        except (SipParseError, SdpError):
            pass

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=400))
    def test_sdp_parser_raises_only_sdp_error(self, text: str) -> None:
        try:
            desc = parse_sdp("v=0\r\n" + text)
        except SdpError:
            return
        assert desc.audio_port is None or 0 <= desc.audio_port <= 65535
