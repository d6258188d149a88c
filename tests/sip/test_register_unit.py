"""Registration logic against a scripted registrar: 407, stale nonces, repeated 401, RFC 2069."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.sip.responders import DigestRegistrar
from trunkline.sip import Credentials, RegisterResult, Registration, SipClient, Target


async def register(
    registrar: DigestRegistrar, password: str = "pw"
) -> tuple[Registration, RegisterResult]:
    async with SipClient(t1_s=0.05, timeout_s=1.0) as client:
        reg = Registration(
            client, Target("127.0.0.1", registrar.port), Credentials("u", password), domain="d"
        )
        return reg, await reg.register()


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-256-sess", "SHA-512-256", "MD5-sess"])
async def test_proxy_authenticate_407(algorithm: str) -> None:
    registrar = await DigestRegistrar.start(status=407, algorithm=algorithm)
    try:
        reg, res = await register(registrar)
        assert res.registered and res.expires_s == 45
        assert registrar.requests[1].get("Proxy-Authorization") is not None
        assert registrar.requests[1].get("Authorization") is None
        assert [r.cseq[0] for r in registrar.requests] == [1, 2]
        assert len({r.call_id for r in registrar.requests}) == 1
        # refresh before expiry: min(granted - 30, granted / 2) = 15 s after sending
        assert reg.refresh_due_at is not None and reg.registered_until is not None
        assert (
            reg.refresh_due_at < reg.registered_until <= datetime.now(UTC) + timedelta(seconds=45)
        )
        assert reg.registered_until - reg.refresh_due_at == timedelta(seconds=30)
    finally:
        registrar.close()


async def test_stale_nonce_is_retried_once() -> None:
    registrar = await DigestRegistrar.start(stale_once=True)
    try:
        res = (await register(registrar))[1]
        assert res.registered and not res.auth_failed
        assert len(registrar.requests) == 3
    finally:
        registrar.close()


async def test_second_401_after_credentials_is_auth_failure() -> None:
    registrar = await DigestRegistrar.start()
    try:
        res = (await register(registrar, password="wrong"))[1]
        assert res.auth_failed and not res.registered and res.sip_code == 401
        assert len(registrar.requests) == 2
    finally:
        registrar.close()


async def test_rfc2069_challenge_without_qop() -> None:
    registrar = await DigestRegistrar.start(qop=False)
    try:
        res = (await register(registrar))[1]
        assert res.registered
        auth = registrar.requests[1].get("Authorization") or ""
        assert "qop=" not in auth and "nc=" not in auth
    finally:
        registrar.close()


async def test_refresh_reuses_challenge_with_increasing_nonce_count() -> None:
    registrar = await DigestRegistrar.start()
    try:
        async with SipClient(t1_s=0.05, timeout_s=1.0) as client:
            reg = Registration(client, Target("127.0.0.1", registrar.port), Credentials("u", "pw"))
            assert (await reg.register()).registered
            refresh = await reg.register()
        assert refresh.registered and len(refresh.trace) == 2  # pre-emptive credentials
        ncs = [r.get("Authorization") or "" for r in registrar.requests[1:]]
        assert "nc=00000001" in ncs[0] and "nc=00000002" in ncs[1]
        assert [r.cseq[0] for r in registrar.requests] == [1, 2, 3]
    finally:
        registrar.close()
