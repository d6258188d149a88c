"""RtpSession on real UDP sockets on 127.0.0.1: latching, re-cutting, pacing, marks, bounds."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time

import pytest

from tests.media.conftest import FarEnd, Recorder, audio_packet, wait_until
from trunkline.media.g711 import ALAW_SILENCE, ULAW_SILENCE, alaw_to_ulaw, ulaw_to_alaw
from trunkline.media.ports import PortPool
from trunkline.media.rtp import RtpPacket
from trunkline.media.session import Codec, RtpSession

LOCAL = "127.0.0.1"
ULAW_SILENT_FRAME = bytes([ULAW_SILENCE]) * 160


def _start(
    session: RtpSession,
    far: FarEnd,
    *,
    codec: Codec = Codec.PCMU,
    dtmf_payload_type: int | None = 101,
    media_timeout_s: float = 60.0,
    max_queue_s: float = 60.0,
) -> Recorder:
    recorder = Recorder()
    session.start(
        remote=far.address,
        codec=codec,
        dtmf_payload_type=dtmf_payload_type,
        listener=recorder,
        media_timeout_s=media_timeout_s,
        max_queue_s=max_queue_s,
    )
    return recorder


def _local(session: RtpSession) -> tuple[str, int]:
    return (LOCAL, session.local_port)


def _index(packets: list[RtpPacket], first_seq: int) -> list[int]:
    """Sequence numbers as offsets from the first packet (handles the 16-bit wrap)."""
    return [(p.sequence - first_seq) & 0xFFFF for p in packets]


def _frames(seed: int, count: int) -> bytes:
    """Recognisable non-silent μ-law: frame k is filled with one byte value."""
    return b"".join(bytes([(seed + k) % 0x7E]) * 160 for k in range(count))


class TestOpen:
    async def test_binds_an_even_port_and_releases_it(self, port_pool: PortPool) -> None:
        session = await RtpSession.open(LOCAL, port_pool)
        assert session.local_port % 2 == 0
        assert port_pool.in_use == 1
        await session.close()
        await session.close()  # idempotent
        assert port_pool.in_use == 0

    async def test_start_twice_is_refused(self, session: RtpSession, far_end: FarEnd) -> None:
        _start(session, far_end)
        with pytest.raises(RuntimeError, match="twice"):
            _start(session, far_end)


class TestSending:
    async def test_silence_with_sequence_and_timestamp_steps(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        _start(session, far_end)
        await far_end.wait_packets(12)
        packets = far_end.packets[:12]
        assert {p.payload for p in packets} == {ULAW_SILENT_FRAME}
        assert {(p.payload_type, p.ssrc) for p in packets} == {(0, session.ssrc)}
        assert [p.marker for p in packets] == [True] + [False] * 11  # RFC 3551 §4.1
        assert _index(packets, packets[0].sequence) == list(range(12))
        # +160 per slot; a slot skipped on an overloaded loop shows as a larger, whole step.
        steps = [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)]
        assert all(step % 160 == 0 and step >= 160 for step in steps)
        skipped_seen = sum(step // 160 - 1 for step in steps)
        assert skipped_seen <= session.stats.skipped_sends

    async def test_play_is_recut_into_20ms_packets_in_order(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        _start(session, far_end)
        audio = _frames(1, 3) + b"\x10" * 80  # 3.5 frames, in odd-sized pieces
        for start in range(0, len(audio), 70):
            session.play(audio[start : start + 70])
        await wait_until(lambda: session.queued_ms == 0, "the queue to drain")
        await wait_until(
            lambda: any(p.payload == ULAW_SILENT_FRAME for p in far_end.packets[-1:]),
            "silence after the audio",
        )
        sent = [p for p in far_end.packets if p.payload != ULAW_SILENT_FRAME]
        assert [p.payload for p in sent] == [
            audio[0:160],
            audio[160:320],
            audio[320:480],
            audio[480:] + bytes([ULAW_SILENCE]) * 80,  # the tail is padded with silence
        ]
        assert _index(sent, sent[0].sequence) == [0, 1, 2, 3]

    async def test_pcma_is_translated_on_the_way_out(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        _start(session, far_end, codec=Codec.PCMA)
        audio = _frames(7, 2)
        session.play(audio)
        await wait_until(lambda: session.stats.packets_out >= 4, "packets after the audio")
        await far_end.wait_packets(session.stats.packets_out)
        assert {p.payload_type for p in far_end.packets} == {8}
        sent = [p.payload for p in far_end.packets if p.payload != bytes([ALAW_SILENCE]) * 160]
        assert sent == [ulaw_to_alaw(audio[:160]), ulaw_to_alaw(audio[160:])]

    async def test_hold_stops_sending_and_resume_marks_a_talkspurt(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        _start(session, far_end)
        await far_end.wait_packets(3)
        session.hold(True)
        held_at = session.stats.packets_out
        await asyncio.sleep(0.2)  # ten slots pass while held
        assert session.stats.packets_out == held_at
        session.hold(False)
        await far_end.wait_packets(held_at + 2)
        resumed = far_end.packets[held_at]
        assert resumed.marker
        # The clock kept running while held: the timestamp jumped by the held slots.
        gap = (resumed.timestamp - far_end.packets[held_at - 1].timestamp) & 0xFFFFFFFF
        assert gap >= 160 * 5


class TestMarksAndClear:
    async def test_mark_with_nothing_queued_fires_at_once(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        session.mark("now")
        assert recorder.marks == ["now"]

    async def test_mark_fires_right_after_its_audio_is_sent(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        sent_when_marked: list[int] = []
        recorder.on_mark_hook = lambda name: sent_when_marked.append(session.stats.packets_out)
        await far_end.wait_packets(1)
        session.play(_frames(20, 3))
        session.mark("after-three")
        session.play(_frames(40, 2))
        session.mark("after-five")
        await wait_until(lambda: len(recorder.marks) == 2, "both marks")
        assert recorder.marks == ["after-three", "after-five"]
        await far_end.wait_packets(sent_when_marked[1])
        first = far_end.packets[0].sequence
        audio_at = [
            i
            for i, p in zip(_index(far_end.packets, first), far_end.packets, strict=True)
            if p.payload != ULAW_SILENT_FRAME
        ]
        # Each mark fired once the packet carrying its last audio frame had been sent.
        assert len(audio_at) == 5
        assert sent_when_marked == [audio_at[2] + 1, audio_at[4] + 1]

    async def test_clear_drops_queued_audio_at_once_and_fires_pending_marks(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        session.play(_frames(1, 250))  # 5 s
        session.mark("a")
        session.play(_frames(2, 10))
        session.mark("b")
        await far_end.wait_packets(3)
        session.clear()
        cleared_at = session.stats.packets_out
        assert recorder.marks == ["a", "b"]  # synchronously, in order
        assert session.queued_ms == 0
        await far_end.wait_packets(cleared_at + 5)
        after = far_end.packets[cleared_at:]
        assert {p.payload for p in after} == {ULAW_SILENT_FRAME}
        assert recorder.dropped == []  # a clear is not an overflow

    async def test_overflow_drops_the_oldest_and_reports_it(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end, max_queue_s=0.1)  # 800 bytes
        # No await until the end: the first send tick cannot run in between.
        session.play(_frames(1, 7)[:1000])
        session.mark("early")
        second = _frames(50, 7)[:1000]
        session.play(second)
        assert recorder.dropped == [25, 125]  # 200 bytes, then 1000 bytes
        assert recorder.marks == ["early"]  # its audio was dropped: nothing to wait for
        assert session.queued_ms == 100
        assert session.stats.dropped_ms == 150
        await wait_until(lambda: session.queued_ms == 0, "the queue to drain")
        await wait_until(lambda: session.stats.packets_out >= 6, "the tail to be sent")
        await far_end.wait_packets(session.stats.packets_out)
        kept = b"".join(p.payload for p in far_end.packets if p.payload != ULAW_SILENT_FRAME)
        assert kept == second[200:]  # the newest 100 ms, 5 whole frames


class TestReceiving:
    async def test_latches_onto_the_real_source(self, session: RtpSession, far_end: FarEnd) -> None:
        announced = far_end  # the address in the SDP
        actual = await FarEnd.open()  # where the caller's RTP really comes from (NAT)
        stranger = await FarEnd.open()
        try:
            recorder = _start(session, announced)
            await announced.wait_packets(2)
            # A payload type we did not negotiate (G.729) must not move our media.
            stranger.send(RtpPacket(18, 1, 160, 99, False, b"\x00" * 20), _local(session))
            await wait_until(lambda: session.stats.ignored == 1, "the stranger to be ignored")
            assert not session.stats.latched
            actual.send(audio_packet(1, _frames(3, 1)), _local(session))
            await actual.wait_packets(3)
            assert session.stats.latched
            assert session.stats.remote == actual.address
            # Everything sent after the latch went to the real source, nothing to the SDP one.
            first = announced.packets[0].sequence
            assert max(_index(announced.packets, first)) < min(_index(actual.packets, first))
            # Once latched, other sources are not media.
            stranger.send(audio_packet(1, _frames(9, 1), ssrc=7), _local(session))
            await wait_until(lambda: session.stats.ignored == 2, "the second stranger packet")
            assert recorder.audio == [_frames(3, 1)]
        finally:
            actual.close()
            stranger.close()

    async def test_update_remote_moves_and_relatches(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        moved = await FarEnd.open()
        try:
            _start(session, far_end)
            far_end.send(audio_packet(1, _frames(1, 1)), _local(session))
            await wait_until(lambda: session.stats.latched, "the latch")
            session.update_remote(moved.address)
            await moved.wait_packets(2)
            assert session.stats.remote == moved.address and not session.stats.latched
            moved.send(audio_packet(1, _frames(2, 1), ssrc=5), _local(session))
            await wait_until(lambda: session.stats.latched, "the new latch")
            assert session.stats.remote == moved.address
        finally:
            moved.close()

    async def test_pcma_30ms_packets_become_20ms_ulaw_frames(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end, codec=Codec.PCMA)
        alaw = bytes((k * 7) % 256 for k in range(240 * 4))  # 120 ms in four 30 ms packets
        for n in range(4):
            packet = audio_packet(n, alaw[n * 240 : (n + 1) * 240], codec=Codec.PCMA)
            far_end.send(packet, _local(session))
        await wait_until(lambda: len(recorder.audio) == 6, "six 20 ms frames")
        assert all(len(frame) == 160 for frame in recorder.audio)
        assert b"".join(recorder.audio) == alaw_to_ulaw(alaw)
        assert session.stats.packets_in == 4 and session.stats.bytes_in == 960

    async def test_duplicates_and_late_packets_are_dropped(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        for seq in (65534, 65535, 65535, 0, 65533, 1):  # wraps; one duplicate, one late
            far_end.send(audio_packet(seq, bytes([seq % 100]) * 160), _local(session))
        await wait_until(lambda: session.stats.out_of_order == 2, "two dropped packets")
        await wait_until(lambda: len(recorder.audio) == 4, "four frames")
        assert [frame[0] for frame in recorder.audio] == [34, 35, 0, 1]

    async def test_malformed_datagrams_are_counted_and_ignored(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        for junk in (
            b"\x80",  # (asyncio will not send an empty datagram)
            b"\x00" * 40,
            b"hello world, not rtp",
            b"\x80" * 11,
            b"\xa0" + b"\x00" * 11,
        ):
            far_end.send(junk, _local(session))
        far_end.send(audio_packet(1, _frames(5, 1)), _local(session))
        await wait_until(lambda: len(recorder.audio) == 1, "the valid packet after the junk")
        assert session.stats.malformed == 5
        assert not session.stats.latched or session.stats.remote == far_end.address

    async def test_telephone_events_become_digits_once(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end, dtmf_payload_type=101)
        seq = 0
        for event, ts in ((1, 8000), (1, 16000), (11, 24000)):
            for duration, end in (
                (160, False),
                (320, False),
                (480, True),
                (480, True),
                (480, True),
            ):
                payload = struct.pack("!BBH", event, 0x80 * end | 10, duration)
                far_end.send(RtpPacket(101, seq, ts, 77, False, payload), _local(session))
                seq += 1
        await wait_until(lambda: len(recorder.digits) == 3, "three digits")
        await wait_until(lambda: session.stats.packets_in == 15, "all event packets")
        assert recorder.digits == ["1", "1", "#"]
        assert session.stats.dtmf == ["1", "1", "#"]

    async def test_signalled_digits_join_the_rtp_ones(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end)
        payload = struct.pack("!BBH", 4, 0x80 | 10, 480)
        far_end.send(RtpPacket(101, 1, 8000, 9, False, payload), _local(session))
        await wait_until(lambda: recorder.digits == ["4"], "the RTP digit")
        session.report_dtmf("*")  # e.g. from a SIP INFO body
        assert recorder.digits == ["4", "*"]
        assert session.stats.dtmf == ["4", "*"]

    async def test_events_on_an_unnegotiated_type_are_ignored(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end, dtmf_payload_type=None)
        payload = struct.pack("!BBH", 5, 0x80 | 10, 480)
        far_end.send(RtpPacket(101, 1, 1, 1, False, payload), _local(session))
        await wait_until(lambda: session.stats.ignored == 1, "the ignored event")
        assert recorder.digits == []


class TestMediaTimeout:
    async def test_fires_once_after_rtp_stops(self, session: RtpSession, far_end: FarEnd) -> None:
        recorder = _start(session, far_end, media_timeout_s=0.3)
        last_sent = 0.0
        for seq in range(5):
            far_end.send(audio_packet(seq, _frames(seq, 1)), _local(session))
            last_sent = time.monotonic()  # the session receives it no earlier than this
            await asyncio.sleep(0.02)
        await wait_until(lambda: recorder.timeouts == 1, "the media timeout")
        assert time.monotonic() - last_sent >= 0.3  # never early
        await asyncio.sleep(0.1)
        assert recorder.timeouts == 1

    async def test_steady_rtp_never_times_out(self, session: RtpSession, far_end: FarEnd) -> None:
        # The receive path reads no clock: the slots notice the packet count move instead.
        recorder = _start(session, far_end, media_timeout_s=0.15)
        for seq in range(25):  # 0.5 s of packets every 20 ms: > 3 timeouts long
            far_end.send(audio_packet(seq, _frames(seq, 1)), _local(session))
            await asyncio.sleep(0.02)
        assert session.stats.packets_in == 25
        assert recorder.timeouts == 0
        await wait_until(lambda: recorder.timeouts == 1, "the media timeout once they stop")

    async def test_the_receive_path_reads_no_loop_clock(
        self, session: RtpSession, far_end: FarEnd, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # asyncio.get_running_loop() is a getpid() system call per packet on Python 3.11
        # (50 a call-second, -3 % of the media process's CPU at 50 and 100 calls on this VM:
        # bench/README.md, fifth session).
        recorder = _start(session, far_end)
        far_end.send(audio_packet(0, _frames(0, 1)), _local(session))
        await wait_until(lambda: session.stats.latched, "the first packet latches")

        def no_loop() -> asyncio.AbstractEventLoop:
            raise AssertionError("the receive path asked for the running loop")

        monkeypatch.setattr(asyncio, "get_running_loop", no_loop)
        session._on_datagram(audio_packet(1, _frames(1, 1)).to_bytes(), far_end.address)
        session._on_datagram(audio_packet(2, _frames(2, 3)).to_bytes(), far_end.address)
        monkeypatch.undo()
        assert session.stats.packets_in == 3
        assert len(recorder.audio) == 1 + 1 + 3

    async def test_fires_when_no_rtp_ever_arrives(
        self, session: RtpSession, far_end: FarEnd
    ) -> None:
        recorder = _start(session, far_end, media_timeout_s=0.2)
        await wait_until(lambda: recorder.timeouts == 1, "the media timeout")
        assert recorder.timeouts == 1
        assert session.stats.packets_in == 0
