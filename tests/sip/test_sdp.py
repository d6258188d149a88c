"""SDP parsing and RFC 3264 offer/answer decisions: one table per function."""

from __future__ import annotations

import pytest

from trunkline.sip.sdp import (
    SdpError,
    SessionDescription,
    answer,
    build_offer,
    negotiate_answer,
    parse_sdp,
)


def sdp(*media: str, session: str = "c=IN IP4 192.0.2.10\r\n") -> str:
    head = "v=0\r\no=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\ns=-\r\n" + session
    return head + "t=0 0\r\n" + "".join(media)


AUDIO_0_8_101 = (
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:30\r\n"
)


class TestParseSdp:
    @pytest.mark.parametrize(
        ("text", "ip", "port", "pts", "event_pt", "direction", "ptime"),
        [
            (sdp(AUDIO_0_8_101), "192.0.2.10", 49170, (0, 8, 101), 101, "sendrecv", 30),
            # media-level c= overrides the session-level one (RFC 4566 §5.7)
            (
                sdp("m=audio 4000 RTP/AVP 8\r\nc=IN IP4 198.51.100.7\r\n"),
                "198.51.100.7",
                4000,
                (8,),
                None,
                "sendrecv",
                None,
            ),
            # no session-level c=, only media-level
            (
                sdp("m=audio 4000 RTP/AVP 0\r\nc=IN IP4 198.51.100.7/127\r\n", session=""),
                "198.51.100.7",
                4000,
                (0,),
                None,
                "sendrecv",
                None,
            ),
            # session-level direction applies when the media has none
            (
                sdp("m=audio 4000 RTP/AVP 0\r\n", session="c=IN IP4 192.0.2.1\r\na=sendonly\r\n"),
                "192.0.2.1",
                4000,
                (0,),
                None,
                "sendonly",
                None,
            ),
            # media-level direction wins over session-level
            (
                sdp(
                    "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n",
                    session="c=IN IP4 192.0.2.1\r\na=sendonly\r\n",
                ),
                "192.0.2.1",
                4000,
                (0,),
                None,
                "inactive",
                None,
            ),
            # dynamic PCMU numbering and a second audio stream that is ignored
            (
                sdp(
                    "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 pcmu/8000\r\na=recvonly\r\n"
                    "m=audio 6000 RTP/AVP 0\r\na=sendonly\r\n"
                ),
                "192.0.2.10",
                5000,
                (96,),
                None,
                "recvonly",
                None,
            ),
            # video first, audio second; bare-LF line endings
            (
                "v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=video 7000 RTP/AVP 31\n"
                "a=sendonly\nm=audio 7002 RTP/AVP 8\n",
                "::1",
                7002,
                (8,),
                None,
                "sendrecv",
                None,
            ),
            # no audio at all
            (sdp("m=video 7000 RTP/AVP 31\r\n"), "192.0.2.10", None, (), None, "sendrecv", None),
        ],
    )
    def test_parses(
        self,
        text: str,
        ip: str,
        port: int | None,
        pts: tuple[int, ...],
        event_pt: int | None,
        direction: str,
        ptime: int | None,
    ) -> None:
        desc = parse_sdp(text)
        assert (desc.connection_ip, desc.audio_port, desc.payload_types) == (ip, port, pts)
        assert (desc.telephone_event_pt, desc.direction, desc.ptime_ms) == (
            event_pt,
            direction,
            ptime,
        )

    def test_static_and_mapped_codecs(self) -> None:
        desc = parse_sdp(sdp(AUDIO_0_8_101))
        assert [(c.name, c.clock_rate, c.fmtp) for c in desc.codecs.values()] == [
            ("PCMU", 8000, None),
            ("PCMA", 8000, None),
            ("TELEPHONE-EVENT", 8000, "0-15"),
        ]

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "hello",
            "o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n",  # v= not first
            sdp("m=audio 49170 RTP/AVP 0\r\n", session="").replace("o=alice", "o=x"),  # no c=
            sdp("m=audio 70000 RTP/AVP 0\r\n"),  # port out of range
            sdp("m=audio abc RTP/AVP 0\r\n"),
            sdp("m=audio 4000 RTP/AVP 0 x\r\n"),  # payload type not a number
            sdp("m=audio 4000 RTP/AVP 300\r\n"),  # payload type > 127
            sdp("m=audio 4000\r\n"),  # no formats
            sdp("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n"),  # rtpmap without rate
            sdp("m=audio 4000 RTP/AVP 0\r\n", session="c=IN IP4\r\n"),
            sdp("m=audio 4000 RTP/AVP 0\r\n", session="c=XX IP4 1.2.3.4\r\n"),
            sdp("garbage line\r\n"),
            "v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n",  # no o=
            b"v=0\r\n\xff\xfe",  # not UTF-8
        ],
    )
    def test_malformed_raises_sdp_error(self, text: str | bytes) -> None:
        with pytest.raises(SdpError):
            parse_sdp(text)


def offer(media: str) -> SessionDescription:
    return parse_sdp(sdp(media))


class TestAnswer:
    @pytest.mark.parametrize(
        ("media", "codecs", "chosen", "event_pt", "direction"),
        [
            (AUDIO_0_8_101, ("PCMU", "PCMA"), ("PCMU", 0), 101, "sendrecv"),
            # the offerer's order decides (RFC 3264 §5.1)
            ("m=audio 4000 RTP/AVP 8 0\r\n", ("PCMU", "PCMA"), ("PCMA", 8), None, "sendrecv"),
            # only PCMA allowed by us
            ("m=audio 4000 RTP/AVP 0 8\r\n", ("PCMA",), ("PCMA", 8), None, "sendrecv"),
            # G.729 first, PCMU under a dynamic number second
            (
                "m=audio 4000 RTP/AVP 18 97\r\na=rtpmap:97 PCMU/8000\r\n",
                ("PCMU", "PCMA"),
                ("PCMU", 97),
                None,
                "sendrecv",
            ),
            # direction mirrors the offer (RFC 3264 §6.1)
            ("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", ("PCMU",), ("PCMU", 0), None, "recvonly"),
            ("m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n", ("PCMU",), ("PCMU", 0), None, "sendonly"),
            ("m=audio 4000 RTP/AVP 0\r\na=inactive\r\n", ("PCMU",), ("PCMU", 0), None, "inactive"),
            # wideband PCMU is not G.711
            (
                "m=audio 4000 RTP/AVP 96 8\r\na=rtpmap:96 PCMU/16000\r\n",
                ("PCMU", "PCMA"),
                ("PCMA", 8),
                None,
                "sendrecv",
            ),
        ],
    )
    def test_chooses(
        self,
        media: str,
        codecs: tuple[str, ...],
        chosen: tuple[str, int],
        event_pt: int | None,
        direction: str,
    ) -> None:
        result = answer(
            offer(media),
            local_ip="127.0.0.1",
            local_port=20000,
            codecs=codecs,
            session_id="42",
            version=1,
        )
        assert result is not None
        media_out = result.media
        assert (media_out.codec.name, media_out.codec.payload_type) == chosen
        assert (media_out.telephone_event_pt, media_out.direction) == (event_pt, direction)
        expected_port = 4000 if "4000" in media else 49170
        assert (media_out.remote_ip, media_out.remote_port) == ("192.0.2.10", expected_port)
        # The answer parses back to exactly what was decided.
        back = parse_sdp(result.sdp)
        expected_pts = (chosen[1],) if event_pt is None else (chosen[1], event_pt)
        assert back.payload_types == expected_pts
        assert (back.connection_ip, back.audio_port, back.direction) == (
            "127.0.0.1",
            20000,
            direction,
        )
        assert (back.session_id, back.version) == ("42", "1")

    @pytest.mark.parametrize(
        "media",
        [
            "m=audio 4000 RTP/AVP 18 9\r\n",  # G.729 and G.722 only
            "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n",
            "m=audio 0 RTP/AVP 0\r\n",  # audio stream disabled
            "m=video 4000 RTP/AVP 31\r\n",  # no audio
            "m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        ],
    )
    def test_no_g711_gives_none(self, media: str) -> None:
        result = answer(offer(media), local_ip="127.0.0.1", local_port=1, session_id="1", version=1)
        assert result is None

    def test_ipv6_answer(self) -> None:
        result = answer(
            offer("m=audio 4000 RTP/AVP 0\r\n"), local_ip="::1", local_port=2, session_id="1",
            version=1,
        )  # fmt: skip
        assert result is not None
        assert "c=IN IP6 ::1" in result.sdp


class TestOfferAndNegotiate:
    def test_build_offer_round_trips(self) -> None:
        text = build_offer("127.0.0.1", 30000, session_id="7", version=3)
        desc = parse_sdp(text)
        assert desc.payload_types == (0, 8, 101)
        assert desc.telephone_event_pt == 101
        assert desc.codecs[101].fmtp == "0-16"
        assert (desc.connection_ip, desc.audio_port, desc.direction) == (
            "127.0.0.1",
            30000,
            "sendrecv",
        )

    @pytest.mark.parametrize(
        ("answer_media", "expected"),
        [
            (
                "m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
                ("PCMU", 101, "sendrecv"),
            ),
            ("m=audio 5000 RTP/AVP 8\r\n", ("PCMA", None, "sendrecv")),
            ("m=audio 5000 RTP/AVP 8\r\na=recvonly\r\n", ("PCMA", None, "sendonly")),
            # an event type number we did not offer is not used
            (
                "m=audio 5000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n",
                ("PCMU", None, "sendrecv"),
            ),
            ("m=audio 5000 RTP/AVP 18\r\n", None),  # a codec we never offered
            ("m=audio 0 RTP/AVP 0\r\n", None),  # stream rejected
            # number 0 renamed to something else is not PCMU
            ("m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 G722/8000\r\n", None),
        ],
    )
    def test_negotiate_answer(
        self, answer_media: str, expected: tuple[str, int | None, str] | None
    ) -> None:
        ours = parse_sdp(build_offer("127.0.0.1", 30000, session_id="7"))
        result = negotiate_answer(ours, parse_sdp(sdp(answer_media)))
        if expected is None:
            assert result is None
        else:
            assert result is not None
            assert (result.codec.name, result.telephone_event_pt, result.direction) == expected
            assert (result.remote_ip, result.remote_port) == ("192.0.2.10", 5000)
