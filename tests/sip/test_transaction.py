"""RFC 3261 §17.1.2 timers measured against in-test loopback responders (the transport seam)."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tests.sip.responders import TcpSink, UdpResponder
from trunkline.sip import SipClient, SipTimeout, Target
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.resolve import ResolvedAddress
from trunkline.sip.transaction import NonInviteClientTransaction
from trunkline.sip.transport import Dispatcher

T1, T2 = 0.05, 0.2
EARLY = 0.005  # timers never fire meaningfully early
LATE = 0.06  # scheduling slack on a busy CI box


def gaps(arrivals: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(arrivals)]


def assert_gaps(measured: list[float], expected: list[float]) -> None:
    assert len(measured) == len(expected), (measured, expected)
    for got, want in zip(measured, expected, strict=True):
        assert want - EARLY <= got <= want + LATE, (measured, expected)


async def test_timer_e_doubles_from_t1_up_to_t2() -> None:
    responder = await UdpResponder.start(drop_first=5)
    try:
        async with SipClient(t1_s=T1, t2_s=T2) as client:
            res = await client.options(Target("127.0.0.1", responder.port))
        assert res.reachable and res.sip_code == 200
        # RFC 3261 §17.1.2.2: T1, 2T1, 4T1, then capped at T2.
        assert_gaps(gaps(responder.arrivals), [T1, 2 * T1, T2, T2, T2])
        assert res.rtt_ms is not None and res.rtt_ms >= (T1 + 2 * T1 + 3 * T2) * 1000
        assert [e.direction for e in res.trace] == ["sent"] * 6 + ["received"]
    finally:
        responder.close()


async def test_provisional_response_switches_retransmits_to_t2() -> None:
    responder = await UdpResponder.start(drop_first=3, provisional_first=True)
    try:
        async with SipClient(t1_s=T1, t2_s=T2) as client:
            res = await client.options(Target("127.0.0.1", responder.port))
        assert res.sip_code == 200
        # The pending Timer E still fires at T1; in Proceeding it is reset to T2 (§17.1.2.2).
        assert_gaps(gaps(responder.arrivals), [T1, T2, T2])
        assert [e.text.split("\r\n")[0] for e in res.trace if e.direction == "received"] == [
            "SIP/2.0 100 Trying",
            "SIP/2.0 200 OK",
        ]
    finally:
        responder.close()


async def test_timer_f_timeout_after_64_t1() -> None:
    t1, t2 = 0.02, 0.08
    responder = await UdpResponder.start(drop_first=10_000)
    try:
        async with SipClient(t1_s=t1, t2_s=t2) as client:
            started = time.perf_counter()
            res = await client.options(Target("127.0.0.1", responder.port))
            elapsed = time.perf_counter() - started
        assert not res.reachable and res.error == "timeout" and res.sip_code is None
        assert 64 * t1 - EARLY <= elapsed <= 64 * t1 + 0.25
        assert res.remote == f"127.0.0.1:{responder.port}"
        # 20, 40, then every 80 ms until 1.28 s: 1 + 2 + ~15 transmissions
        assert 15 <= len(responder.arrivals) <= 19
    finally:
        responder.close()


async def test_tcp_never_retransmits() -> None:
    sink = await TcpSink().start()
    try:
        async with SipClient(t1_s=0.01, t2_s=0.04) as client:
            res = await client.options(Target("127.0.0.1", sink.port, "tcp"))
        assert res.error == "timeout"
        assert sink.received.count(b"OPTIONS sip:") == 1  # RFC 3261 §17.1.2.2: reliable
    finally:
        await sink.close()


async def test_stray_and_malformed_datagrams_are_ignored() -> None:
    responder = await UdpResponder.start(noise_first=True)
    try:
        async with SipClient(t1_s=T1, t2_s=T2) as client:
            res = await client.options(Target("127.0.0.1", responder.port))
            again = await client.options(Target("127.0.0.1", responder.port))
        assert res.sip_code == 200 and again.sip_code == 200
    finally:
        responder.close()


async def test_ipv6_udp_and_shared_socket() -> None:
    responder = await UdpResponder.start(host="::1")
    try:
        async with SipClient(t1_s=T1, t2_s=T2) as client:
            results = await asyncio.gather(
                *(client.options(Target("[::1]", responder.port)) for _ in range(20))
            )
            assert len(client.transports._udp) == 1  # one shared socket per family
        assert all(r.sip_code == 200 for r in results)
        assert results[0].remote == f"[::1]:{responder.port}"
        via = results[0].trace[0].text.split("\r\n")[1]
        assert via.startswith("Via: SIP/2.0/UDP [::1]:") and ";rport;" in via
    finally:
        responder.close()


class FakeChannel:
    """A scripted transport: the seam NonInviteClientTransaction talks to."""

    via_transport = "TCP"
    local = "127.0.0.1:1"
    remote = ResolvedAddress("127.0.0.1", 2, __import__("socket").AF_INET)
    tls_cert_expires_at = None

    def __init__(self, reliable: bool) -> None:
        self.reliable = reliable
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


@pytest.mark.parametrize(("reliable", "expected_sends"), [(True, 1), (False, 4)])
async def test_transaction_with_fake_channel(reliable: bool, expected_sends: int) -> None:
    request = SipRequest(
        method="OPTIONS",
        uri="sip:x",
        headers=[("Via", "SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKfake"), ("CSeq", "1 OPTIONS")],
    )
    channel = FakeChannel(reliable)
    tx = NonInviteClientTransaction(
        channel, Dispatcher(), request, t1_s=0.02, t2_s=0.04, timer_f_s=0.13
    )
    with pytest.raises(SipTimeout):
        await tx.run()
    # unreliable: sends at 0, 20, 60, 100 ms before Timer F at 130 ms
    assert len(channel.sent) == expected_sends


async def test_response_matched_by_branch_and_method() -> None:
    dispatcher = Dispatcher()
    request = SipRequest(
        method="OPTIONS",
        uri="sip:x",
        headers=[("Via", "SIP/2.0/UDP h;branch=z9hG4bKm"), ("CSeq", "1 OPTIONS")],
    )
    tx = NonInviteClientTransaction(
        FakeChannel(True), dispatcher, request, t1_s=0.02, t2_s=0.04, timer_f_s=1.0
    )
    task = asyncio.ensure_future(tx.run())
    await asyncio.sleep(0)

    def resp(branch: str, method: str) -> bytes:
        return SipResponse(
            status=200,
            reason="OK",
            headers=[("Via", f"SIP/2.0/UDP h;branch={branch}"), ("CSeq", f"1 {method}")],
        ).to_bytes()

    dispatcher.feed(resp("z9hG4bKm", "REGISTER"), "test")  # same branch, other method
    dispatcher.feed(resp("z9hG4bKother", "OPTIONS"), "test")
    await asyncio.sleep(0.01)
    assert not task.done()
    dispatcher.feed(resp("z9hG4bKm", "OPTIONS"), "test")
    assert (await task).status == 200
    assert dispatcher.waiters == {}
