"""SDP (RFC 4566) for one audio stream and the RFC 3264 offer/answer decisions. Pure: no I/O.

Only what a G.711 telephony edge needs: the connection address, the first audio ``m=`` line,
its payload types with ``rtpmap``/``fmtp``, ``ptime``, RFC 4733 ``telephone-event`` and the
direction attribute. Anything we cannot read raises :class:`SdpError` (the edge answers 400);
an offer we can read but not accept makes :func:`answer` return ``None`` (the edge answers 488).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trunkline.sip.errors import SipError

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
_DIRECTIONS: tuple[Direction, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3264 §6.1: the answer's direction mirrors the offer's.
_ANSWER_DIRECTION: dict[Direction, Direction] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
# RFC 3551 §6: static payload types a telephony peer may list without an rtpmap.
_STATIC: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    18: ("G729", 8000),
}
_G711_STATIC = {"PCMU": 0, "PCMA": 8}
TELEPHONE_EVENT = "TELEPHONE-EVENT"


class SdpError(SipError):
    """The session description is malformed (not merely unacceptable)."""


@dataclass(frozen=True, slots=True)
class Codec:
    payload_type: int
    name: str  # upper case, e.g. "PCMU", "TELEPHONE-EVENT"
    clock_rate: int
    fmtp: str | None = None


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """The parts of an SDP body that matter for one audio stream."""

    session_id: str
    version: str
    connection_ip: str | None  # media-level c= wins over session-level (RFC 4566 §5.7)
    audio_port: int | None  # None: no audio m= line; 0: audio stream rejected/disabled
    payload_types: tuple[int, ...] = ()
    codecs: dict[int, Codec] = field(default_factory=dict)
    ptime_ms: int | None = None
    direction: Direction = "sendrecv"

    @property
    def telephone_event_pt(self) -> int | None:
        """The RFC 4733 telephone-event/8000 payload type, if offered."""
        for pt in self.payload_types:
            codec = self.codecs.get(pt)
            if codec and codec.name == TELEPHONE_EVENT and codec.clock_rate == 8000:
                return pt
        return None


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of offer/answer from our side: what to send and where."""

    codec: Codec
    telephone_event_pt: int | None
    remote_ip: str
    remote_port: int
    direction: Direction  # ours: "sendonly" means we send but do not expect media
    ptime_ms: int | None  # the far end's preference, if it said


@dataclass(frozen=True, slots=True)
class Answer:
    sdp: str
    media: Negotiated


def _int(text: str, what: str, upper: int) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > upper:
        raise SdpError(f"invalid {what}: {text[:20]!r}")
    return int(text)


def _connection(value: str) -> str:
    # RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>[/ttl[/n]]
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6") or not parts[2]:
        raise SdpError(f"malformed c= line: {value[:40]!r}")
    return parts[2].split("/", 1)[0]


def parse_sdp(text: str | bytes) -> SessionDescription:
    """Parse an SDP body; raise SdpError for anything malformed."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError("SDP is not UTF-8") from exc
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        raise SdpError("SDP must start with v=0 (RFC 4566 §5)")
    origin: list[str] | None = None
    session_c: str | None = None
    session_dir: Direction | None = None
    in_audio = seen_audio = False
    in_media = False
    audio_c: str | None = None
    audio_port: int | None = None
    pts: tuple[int, ...] = ()
    rtpmap: dict[int, tuple[str, int]] = {}
    fmtp: dict[int, str] = {}
    ptime: int | None = None
    audio_dir: Direction | None = None
    for line in lines:
        kind, eq, value = line.partition("=")
        if not eq or len(kind) != 1 or not kind.isalpha():
            raise SdpError(f"malformed SDP line: {line[:40]!r}")
        value = value.strip()
        if kind == "m":
            in_media = True
            parts = value.split()
            if len(parts) < 4:
                raise SdpError(f"malformed m= line: {value[:40]!r}")
            port = _int(parts[1].split("/", 1)[0], "media port", 65535)
            in_audio = parts[0] == "audio" and not seen_audio
            if in_audio:
                # RFC 3264 §6: only the first audio stream is used; others are left alone.
                seen_audio = True
                audio_port = port
                if parts[2].upper().startswith("RTP/"):
                    pts = tuple(_int(p, "payload type", 127) for p in parts[3:])
            continue
        if kind == "o":
            origin = value.split()
            if len(origin) != 6:
                raise SdpError(f"malformed o= line: {value[:40]!r}")
        elif kind == "c":
            if not in_media:
                session_c = _connection(value)
            elif in_audio:
                audio_c = _connection(value)
        elif kind == "a":
            name, _, arg = value.partition(":")
            if name in _DIRECTIONS:
                direction = _DIRECTIONS[[str(d) for d in _DIRECTIONS].index(name)]
                if not in_media:
                    session_dir = direction
                elif in_audio:
                    audio_dir = direction
            elif in_audio and name == "rtpmap":
                # RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<params>]
                pt_text, _, encoding = arg.partition(" ")
                enc_parts = encoding.strip().split("/")
                if len(enc_parts) < 2:
                    raise SdpError(f"malformed rtpmap: {arg[:40]!r}")
                pt = _int(pt_text.strip(), "payload type", 127)
                rtpmap[pt] = (enc_parts[0].upper(), _int(enc_parts[1], "clock rate", 10**6))
            elif in_audio and name == "fmtp":
                pt_text, _, params = arg.partition(" ")
                fmtp[_int(pt_text.strip(), "payload type", 127)] = params.strip()
            elif in_audio and name == "ptime":
                ptime = _int(arg.strip().split(".", 1)[0], "ptime", 10_000)
    if origin is None:
        raise SdpError("SDP without o= line")
    connection = audio_c or session_c
    if audio_port and connection is None:
        raise SdpError("audio stream without a connection address (c=)")
    codecs: dict[int, Codec] = {}
    for pt in pts:
        name_rate = rtpmap.get(pt) or _STATIC.get(pt)
        if name_rate is not None:
            codecs[pt] = Codec(pt, name_rate[0], name_rate[1], fmtp.get(pt))
    return SessionDescription(
        session_id=origin[1],
        version=origin[2],
        connection_ip=connection,
        audio_port=audio_port,
        payload_types=pts,
        codecs=codecs,
        ptime_ms=ptime,
        direction=audio_dir or session_dir or "sendrecv",  # RFC 3264 §5.1: default sendrecv
    )


def _is_g711(codec: Codec | None, allowed: tuple[str, ...]) -> bool:
    return codec is not None and codec.name in allowed and codec.clock_rate == 8000


def _sdp_name(codec: Codec) -> str:
    # Encoding names are case-insensitive (RFC 4566 §6); peers commonly expect this spelling.
    return "telephone-event" if codec.name == TELEPHONE_EVENT else codec.name


def _render(
    *,
    local_ip: str,
    local_port: int,
    session_id: str,
    version: str | int,
    codecs: list[Codec],
    direction: Direction,
    ptime_ms: int = 20,
) -> str:
    addr_type = "IP6" if ":" in local_ip else "IP4"
    lines = [
        "v=0",
        f"o=trunkline {session_id} {version} IN {addr_type} {local_ip}",
        "s=Trunkline",
        f"c=IN {addr_type} {local_ip}",
        "t=0 0",
        f"m=audio {local_port} RTP/AVP {' '.join(str(c.payload_type) for c in codecs)}",
    ]
    for codec in codecs:
        lines.append(f"a=rtpmap:{codec.payload_type} {_sdp_name(codec)}/{codec.clock_rate}")
        if codec.fmtp:
            lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
    lines += [f"a=ptime:{ptime_ms}", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"


def answer(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    session_id: str,
    version: str | int,
) -> Answer | None:
    """The RFC 3264 §6.1 answer to ``offer``, or None when no allowed G.711 codec is offered."""
    if not offer.audio_port or offer.connection_ip is None:
        return None  # no usable audio stream: nothing to answer with (the edge answers 488)
    allowed = tuple(c.upper() for c in codecs)
    # The offerer's order is its preference (RFC 3264 §5.1); take the first we support.
    chosen = next(
        (offer.codecs[pt] for pt in offer.payload_types if _is_g711(offer.codecs.get(pt), allowed)),
        None,
    )
    if chosen is None:
        return None
    listed = [Codec(chosen.payload_type, chosen.name, 8000)]
    event_pt = offer.telephone_event_pt
    if event_pt is not None:
        # RFC 3264 §6.1: the answer uses the offer's payload type numbers; RFC 4733 §2.5.1.3.
        listed.append(Codec(event_pt, TELEPHONE_EVENT, 8000, "0-16"))
    direction = _ANSWER_DIRECTION[offer.direction]
    sdp = _render(
        local_ip=local_ip,
        local_port=local_port,
        session_id=session_id,
        version=version,
        codecs=listed,
        direction=direction,
    )
    media = Negotiated(
        codec=listed[0],
        telephone_event_pt=event_pt,
        remote_ip=offer.connection_ip,
        remote_port=offer.audio_port,
        direction=direction,
        ptime_ms=offer.ptime_ms,
    )
    return Answer(sdp=sdp, media=media)


def build_offer(
    local_ip: str,
    local_port: int,
    *,
    session_id: str,
    version: str | int = 1,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    telephone_event_pt: int = 101,
    direction: Direction = "sendrecv",
) -> str:
    """An offer of G.711 (static payload types) plus telephone-event/8000 events 0-16."""
    listed = [Codec(_G711_STATIC[name.upper()], name.upper(), 8000) for name in codecs]
    listed.append(Codec(telephone_event_pt, TELEPHONE_EVENT, 8000, "0-16"))
    return _render(
        local_ip=local_ip,
        local_port=local_port,
        session_id=session_id,
        version=version,
        codecs=listed,
        direction=direction,
    )


def negotiate_answer(
    offer_we_sent: SessionDescription, answer_received: SessionDescription
) -> Negotiated | None:
    """Our media from the answer to our offer; None when the answer is unusable (RFC 3264 §7).

    The answer must pick a G.711 payload type we offered (with the number we gave it) and
    keep a non-zero port; otherwise the call has no common codec and the UAC hangs up.
    """
    if not answer_received.audio_port or answer_received.connection_ip is None:
        return None
    chosen: Codec | None = None
    for pt in answer_received.payload_types:
        ours = offer_we_sent.codecs.get(pt)
        theirs = answer_received.codecs.get(pt)
        if ours is None or not _is_g711(ours, tuple(_G711_STATIC)):
            continue
        if theirs is None or theirs.name == ours.name:
            chosen = ours
            break
    if chosen is None:
        return None
    event_pt = answer_received.telephone_event_pt
    if event_pt is not None and event_pt != offer_we_sent.telephone_event_pt:
        event_pt = None  # an event type we did not offer cannot be used (RFC 3264 §6.1)
    return Negotiated(
        codec=chosen,
        telephone_event_pt=event_pt,
        remote_ip=answer_received.connection_ip,
        remote_port=answer_received.audio_port,
        direction=_ANSWER_DIRECTION[answer_received.direction],
        ptime_ms=answer_received.ptime_ms,
    )
