"""RtpSession against a real carrier: SIPp's bundled uac_pcap call (PCMA in 30 ms + RFC 2833).

SIPp places one call to a minimal UAS in this test (just enough SIP to answer: 200 OK with our
SDP, then 200 to BYE), plays ``g711a.pcap`` to the RTP port we announced and then a telephone-
event "1". The audio the session hands to its listener must be exactly the pcap's A-law payloads
translated to μ-law and re-cut into 20 ms frames, and the digit must arrive once.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import subprocess
from pathlib import Path
from typing import cast

import pytest

from tests.media.conftest import Recorder, wait_until
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import find_binary, free_port
from trunkline.media.g711 import alaw_to_ulaw
from trunkline.media.ports import PortPool
from trunkline.media.session import Codec, RtpSession

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SIPP_DATA = Path("/usr/share/sip-tester")  # Debian's sip-tester keeps the pcaps here
LOCAL = "127.0.0.1"


def _require_pcap() -> Path:
    require_peer_binary("sipp")
    pcap = SIPP_DATA / "g711a.pcap"
    if not pcap.is_file():
        message = f"{pcap} is missing (apt-get install sip-tester)"
        if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
            pytest.fail(f"TRUNKLINE_REQUIRE_PEERS=1 but {message}")
        pytest.skip(message)
    return pcap


def pcap_rtp_payloads(path: Path) -> list[bytes]:
    """RTP payloads of a classic pcap of Ethernet/IPv4/UDP/RTP packets, in capture order."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4  # little-endian classic pcap
    offset, payloads = 24, []
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip_header = (frame[14] & 0x0F) * 4
        rtp = frame[14 + ip_header + 8 :]
        payloads.append(rtp[12 + 4 * (rtp[0] & 0x0F) :])
    return payloads


class MiniUas(asyncio.DatagramProtocol):
    """Answers one INVITE with our SDP (PCMA + telephone-event) and the BYE with 200."""

    def __init__(self, session: RtpSession, recorder: Recorder) -> None:
        self.session, self.recorder = session, recorder
        self.transport: asyncio.DatagramTransport | None = None
        self.offer_media: tuple[str, int] | None = None
        self.bye = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        text = data.decode(errors="replace")
        method = text.split(" ", 1)[0]
        if method == "INVITE":
            if self.offer_media is None:
                host = re.search(r"^c=IN IP4 (\S+)", text, re.M)
                port = re.search(r"^m=audio (\d+) ", text, re.M)
                assert host and port, text
                self.offer_media = (host[1], int(port[1]))
                # Start before answering: SIPp plays its pcap as soon as it has sent the ACK.
                self.session.start(
                    remote=self.offer_media,
                    codec=Codec.PCMA,
                    dtmf_payload_type=101,
                    listener=self.recorder,
                )
            self._respond(text, addr, sdp=True)
        elif method == "BYE":
            self._respond(text, addr, sdp=False)
            self.bye.set()

    def _respond(self, request: str, addr: tuple[str | int, ...], *, sdp: bool) -> None:
        assert self.transport is not None
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        copied = [
            line
            for line in head
            if line.split(":", 1)[0].strip().lower() in ("via", "from", "call-id", "cseq")
        ]
        to = next(line for line in head if line.lower().startswith("to:"))
        if ";tag=" not in to:
            to += ";tag=trunkline-test"
        body = ""
        if sdp:
            port = self.session.local_port
            body = (
                f"v=0\r\no=- 1 1 IN IP4 {LOCAL}\r\ns=-\r\nc=IN IP4 {LOCAL}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
            )
        lines = ["SIP/2.0 200 OK", *copied, to, f"Contact: <sip:test@{LOCAL}>"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        message = "\r\n".join(lines) + "\r\n\r\n" + body
        self.transport.sendto(message.encode(), (str(addr[0]), int(addr[1])))


async def test_sipp_pcap_call_is_recut_and_its_digit_decoded(
    port_pool: PortPool, tmp_path: Path
) -> None:
    pcap = _require_pcap()
    (tmp_path / "pcap").symlink_to(pcap.parent, target_is_directory=True)
    session = await RtpSession.open(LOCAL, port_pool)
    recorder = Recorder()
    loop = asyncio.get_running_loop()
    transport, uas = await loop.create_datagram_endpoint(
        lambda: MiniUas(session, recorder), local_addr=(LOCAL, 0)
    )
    uas_port = transport.get_extra_info("sockname")[1]
    binary = find_binary("sipp")
    assert binary is not None
    media_port = free_port() & ~1
    log = (tmp_path / "sipp.log").open("wb")
    sipp = await asyncio.create_subprocess_exec(
        *[
            binary, "-sn", "uac_pcap", "-s", "1000", "-i", LOCAL, "-p", str(free_port()),
            "-mi", LOCAL, "-mp", str(media_port), "-m", "1", "-nd", "-nostdin",
            "-timeout", "60s", f"{LOCAL}:{uas_port}",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await asyncio.wait_for(uas.bye.wait(), 60)
        code = await asyncio.wait_for(sipp.wait(), 30)
        assert code == 0, (tmp_path / "sipp.log").read_text(errors="replace")[-2000:]
        expected = alaw_to_ulaw(b"".join(pcap_rtp_payloads(pcap)))
        whole_frames = len(expected) // 160
        await wait_until(lambda: len(recorder.audio) >= whole_frames, "every whole frame")
        assert {len(frame) for frame in recorder.audio} == {160}
        assert b"".join(recorder.audio) == expected[: whole_frames * 160]
        assert recorder.digits == ["1"]
        stats = session.stats
        assert stats.malformed == 0 and stats.out_of_order == 0
        assert stats.latched and stats.remote is not None and stats.remote[0] == LOCAL
        assert stats.packets_out > 0
    finally:
        if sipp.returncode is None:
            sipp.terminate()
            await asyncio.wait_for(sipp.wait(), 10)
        log.close()
        transport.close()
        await session.close()


class MiniUac(asyncio.DatagramProtocol):
    """Just enough of a UAC to call SIPp: INVITE (retransmitted), ACK, BYE."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.responses: asyncio.Queue[str] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.responses.put_nowait(data.decode(errors="replace"))

    def request(self, method: str, target: tuple[str, int], cseq: int, *, to_tag: str = "",
                body: str = "") -> None:  # fmt: skip
        assert self.transport is not None
        local_port = self.transport.get_extra_info("sockname")[1]
        uri = f"sip:echo@{target[0]}:{target[1]}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {LOCAL}:{local_port};branch=z9hG4bK{method}{cseq}",
            "Max-Forwards: 70",
            f"From: <sip:test@{LOCAL}>;tag=caller",
            f"To: <{uri}>" + (f";tag={to_tag}" if to_tag else ""),
            "Call-ID: media-echo-test",
            f"CSeq: {cseq} {'INVITE' if method == 'ACK' else method}",
            f"Contact: <sip:test@{LOCAL}:{local_port}>",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        self.transport.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), target)

    async def final(self, method: str) -> str:
        while True:
            response = await self.responses.get()
            status = int(response.split(" ", 2)[1])
            if status >= 200 and f" {method}\r\n" in response:
                return response


async def test_sipp_echo_callee_returns_our_paced_audio(
    port_pool: PortPool, tmp_path: Path
) -> None:
    require_peer_binary("sipp")
    binary = find_binary("sipp")
    assert binary is not None
    sip_port, media_port = free_port(), free_port() & ~1
    log = (tmp_path / "sipp.log").open("wb")
    sipp = await asyncio.create_subprocess_exec(
        *[
            binary, "-sn", "uas", "-rtp_echo", "-i", LOCAL, "-p", str(sip_port),
            "-mi", LOCAL, "-mp", str(media_port), "-m", "1", "-nostdin", "-timeout", "60s",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    transport, uac = await loop.create_datagram_endpoint(MiniUac, local_addr=(LOCAL, 0))
    session = await RtpSession.open(LOCAL, port_pool)
    target = (LOCAL, sip_port)
    try:
        offer = (
            f"v=0\r\no=- 1 1 IN IP4 {LOCAL}\r\ns=-\r\nc=IN IP4 {LOCAL}\r\nt=0 0\r\n"
            f"m=audio {session.local_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        answer = ""
        for _ in range(60):  # SIPp may still be starting: retransmit like Timer A would
            uac.request("INVITE", target, 1, body=offer)
            try:
                answer = await asyncio.wait_for(uac.final("INVITE"), 0.5)
                break
            except TimeoutError:
                continue
        assert answer.startswith("SIP/2.0 200"), answer
        to_tag = re.search(r"^To:.*;tag=([^;\s]+)", answer, re.M | re.I)
        port = re.search(r"^m=audio (\d+) ", answer, re.M)
        assert to_tag and port, answer
        uac.request("ACK", target, 1, to_tag=to_tag[1])
        recorder = Recorder()
        session.start(
            remote=(LOCAL, int(port[1])),
            codec=Codec.PCMU,
            dtmf_payload_type=None,
            listener=recorder,
        )
        spoken = b"".join(bytes([k]) * 160 for k in range(1, 26))  # 0.5 s, one value per frame
        session.play(spoken)
        await wait_until(
            lambda: spoken in b"".join(recorder.audio), "our audio echoed back by SIPp"
        )
        assert session.stats.latched and session.stats.remote == (LOCAL, int(port[1]))
        uac.request("BYE", target, 2, to_tag=to_tag[1])
        assert (await asyncio.wait_for(uac.final("BYE"), 10)).startswith("SIP/2.0 200")
        code = await asyncio.wait_for(sipp.wait(), 30)
        assert code == 0, (tmp_path / "sipp.log").read_text(errors="replace")[-2000:]
    finally:
        if sipp.returncode is None:
            sipp.terminate()
            await asyncio.wait_for(sipp.wait(), 10)
        log.close()
        transport.close()
        await session.close()
