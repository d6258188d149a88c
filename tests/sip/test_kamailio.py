"""Against real Kamailio registrars (MD5 and SHA-256) on loopback over UDP, TCP and TLS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.sip_peers import KamailioPeer, free_port
from trunkline.sip import Credentials, Registration, SipClient, Target

pytestmark = pytest.mark.peer

ALGOS = ["kamailio_md5", "kamailio_sha256"]
TRANSPORTS = ["udp", "tcp", "tls"]
GOOD = Credentials("trunk1", "s3cret-pw")


@pytest.fixture(params=ALGOS)
def kamailio(request: pytest.FixtureRequest) -> KamailioPeer:
    peer: KamailioPeer = request.getfixturevalue(request.param)
    return peer


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options_reachable(
    kamailio: KamailioPeer, sip_client: SipClient, transport: str
) -> None:
    target = kamailio.target(transport)  # type: ignore[arg-type]
    res = await sip_client.options(target)
    assert res.ok and res.reachable and (res.sip_code, res.reason) == (200, "OK")
    assert res.error is None and res.rtt_ms is not None and res.rtt_ms > 0
    assert res.remote == f"127.0.0.1:{target.port}" and res.transport == transport
    assert [e.direction for e in res.trace] == ["sent", "received"]
    if transport == "tls":
        assert res.tls_cert_expires_at is not None
        assert res.tls_cert_expires_at > datetime.now(UTC) + timedelta(days=29)
    else:
        assert res.tls_cert_expires_at is None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_refresh_unregister(
    kamailio: KamailioPeer, sip_client: SipClient, transport: str
) -> None:
    reg = Registration(
        sip_client,
        kamailio.target(transport),
        GOOD,
        domain="siplab.test",
        expires_s=120,  # type: ignore[arg-type]
    )
    before = datetime.now(UTC)
    first = await reg.register()
    assert first.registered and first.sip_code == 200 and not first.auth_failed
    assert first.expires_s == 120 and first.error is None
    assert first.registered_until is not None
    assert (
        before + timedelta(seconds=119)
        <= first.registered_until
        <= datetime.now(UTC) + timedelta(seconds=120)
    )
    assert reg.refresh_due_at is not None and reg.refresh_due_at < first.registered_until
    # The trace shows the digest exchange without the secrets.
    texts = "\n".join(e.text for e in first.trace)
    assert "401 Unauthorized" in texts and f"algorithm={kamailio.algo}" in texts
    assert "s3cret-pw" not in texts and 'username="trunk1"' not in texts
    assert 'response="***"' in texts

    refresh = await reg.register()
    assert refresh.registered and refresh.sip_code == 200
    # RFC 3261 §10.2.4: the registrar saw the same Call-ID with increasing CSeq.
    seen = kamailio.received(method="REGISTER", call_id=reg.call_id)
    cseqs = [int(e["cseq"]) for e in seen]
    assert len(cseqs) >= 3 and cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)
    assert all(e["src"].endswith("/" + transport) for e in seen)

    gone = await reg.unregister()
    assert gone.sip_code == 200 and not gone.registered and gone.expires_s == 0
    assert reg.refresh_due_at is None and reg.registered_until is None
    assert kamailio.received(method="REGISTER", call_id=reg.call_id)[-1]["expires"] == "0"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "creds",
    [Credentials("trunk1", "wrong"), Credentials("nobody", "whatever")],
    ids=["wrong-pw", "unknown-user"],
)
async def test_register_rejected(
    kamailio: KamailioPeer, sip_client: SipClient, transport: str, creds: Credentials
) -> None:
    res = await Registration(sip_client, kamailio.target(transport), creds).register()  # type: ignore[arg-type]
    assert res.sip_code == 403 and res.auth_failed and not res.registered
    assert res.error is None and res.registered_until is None


async def test_interval_too_brief_is_retried_with_min_expires(
    kamailio: KamailioPeer, sip_client: SipClient
) -> None:
    reg = Registration(sip_client, kamailio.target("udp"), GOOD, expires_s=10)
    res = await reg.register()
    assert res.registered and res.expires_s == kamailio.min_expires == 60
    first_lines = [e.text.split("\r\n")[0] for e in res.trace if e.direction == "received"]
    assert "SIP/2.0 423 Interval Too Brief" in first_lines
    assert [e["expires"] for e in kamailio.received("REGISTER", reg.call_id)][-1] == "60"
    assert reg.expires_s == 60  # later refreshes ask for what the registrar accepts
    await reg.unregister()


async def test_ipv6_udp_and_tcp(kamailio_md5: KamailioPeer, sip_client: SipClient) -> None:
    for transport in ("udp", "tcp"):
        res = await sip_client.options(kamailio_md5.target(transport, ipv6=True))  # type: ignore[arg-type]
        assert res.sip_code == 200 and res.remote == f"[::1]:{kamailio_md5.port}"
    reg = Registration(sip_client, kamailio_md5.target("udp", ipv6=True), GOOD)
    assert reg.request_uri == f"sip:[::1]:{kamailio_md5.port}"
    assert (await reg.register()).registered
    assert (await reg.unregister()).sip_code == 200


async def test_closed_ports_fail_fast(sip_client: SipClient) -> None:
    port = free_port()
    started = time.perf_counter()
    udp = await sip_client.options(Target("127.0.0.1", port, "udp"), timeout_s=0.3)
    assert not udp.reachable and udp.error == "timeout"
    tcp = await sip_client.options(Target("127.0.0.1", port, "tcp"), timeout_s=0.3)
    assert not tcp.reachable and tcp.error == "refused" and tcp.remote == f"127.0.0.1:{port}"
    tls = await sip_client.options(Target("127.0.0.1", port, "tls"), timeout_s=0.3)
    assert tls.error == "refused"
    reg = await Registration(sip_client, Target("127.0.0.1", port, "tcp"), GOOD).register()
    assert reg.error == "refused" and not reg.registered
    assert time.perf_counter() - started < 1.5


async def test_tls_verification_failure(kamailio_md5: KamailioPeer, sip_client: SipClient) -> None:
    verified = kamailio_md5.target("tls")
    untrusted = Target("127.0.0.1", verified.port, "tls")  # system CAs do not know our cert
    res = await sip_client.options(untrusted)
    assert res.error == "tls" and not res.reachable
    insecure = Target("127.0.0.1", verified.port, "tls", tls_verify=False)
    res = await sip_client.options(insecure)
    assert res.sip_code == 200 and res.tls_cert_expires_at is not None


async def test_connections_are_reused(kamailio_sha256: KamailioPeer, sip_client: SipClient) -> None:
    for transport in ("tcp", "tls"):
        target = kamailio_sha256.target(transport)  # type: ignore[arg-type]
        first = await sip_client.options(target)
        second = await sip_client.options(target)
        via = [r.trace[0].text.split("\r\n")[1] for r in (first, second)]
        sent_by = [v.split()[2].split(";")[0] for v in via]
        assert sent_by[0] == sent_by[1]  # same local port => same connection
    assert len(sip_client.transports._streams) == 2
