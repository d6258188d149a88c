"""The monitor against real Kamailio on loopback: status is the truth about the trunk."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.monitor.conftest import MonitorFactory
from tests.support.api import Api
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import DEFAULT_USERS, KamailioPeer, free_port
from trunkline.models import SipConnection

pytestmark = pytest.mark.peer

GOOD = {"username": "trunk1", "password": DEFAULT_USERS["trunk1"]}


def conn_body(peer: KamailioPeer, transport: str = "udp", **extra: Any) -> dict[str, Any]:
    port = peer.tls_port if transport == "tls" else peer.port
    return {
        "name": f"kamailio {transport}",
        "phone_number": "+14155550100",
        "gateway": "127.0.0.1",
        "port": port,
        "transport": transport,
        **GOOD,
        **extra,
    }


async def create(api: Api, body: dict[str, Any]) -> str:
    r = await api.post("/channels/sip-trunk/connections", body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["uuid"])


async def row(sm: async_sessionmaker[AsyncSession], connection_uuid: str) -> SipConnection:
    async with sm() as session:
        found = await session.scalar(
            select(SipConnection).where(SipConnection.id == uuid.UUID(connection_uuid))
        )
    assert found is not None
    return found


class TestCheckEndpoint:
    """POST /channels/sip-trunk/connections/{uuid}/check through the running server."""

    @pytest.mark.parametrize("transport", ["udp", "tcp"])
    async def test_right_password_is_active_with_registration(
        self, api: Api, kamailio_md5: KamailioPeer, transport: str
    ) -> None:
        cid = await create(api, conn_body(kamailio_md5, transport))

        r = await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] is True
        data = body["data"]
        assert data["status"] == "active"
        assert data["status_detail"] == {
            "gateway": "127.0.0.1",
            "transport": transport,
            "sip_code": 200,
            "reason": "OK",
            "rtt_ms": ANY,
            "hint": "The gateway answered and accepted the request.",
            "checked_at": ANY,
            "registered_until": ANY,
            "tls_cert_expires_at": None,
        }
        assert data["status_detail"]["registered_until"] > data["status_detail"]["checked_at"]
        methods = [t["text"].split(" ", 1)[0] for t in data["trace"] if t["direction"] == "sent"]
        assert methods[0] == "OPTIONS" and "REGISTER" in methods
        # The trace shows the digest exchange but never the password or digest values.
        text = "\n".join(t["text"] for t in data["trace"])
        assert DEFAULT_USERS["trunk1"] not in r.text
        assert "Authorization: Digest" in text and 'response="***"' in text

        again = await api.get(f"/channels/sip-trunk/connections/{cid}")
        assert again.json()["data"]["status"] == "active"
        assert again.json()["data"]["last_checked_at"] is not None

    async def test_wrong_password_is_auth_failed_with_403_and_a_hint(
        self, api: Api, kamailio_sha256: KamailioPeer
    ) -> None:
        cid = await create(api, conn_body(kamailio_sha256, password="not-the-password"))

        r = await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        detail = r.json()["data"]["status_detail"]
        assert r.json()["data"]["status"] == "auth_failed"
        assert detail["sip_code"] == 403
        assert "wrong username or password" in detail["hint"]

    async def test_register_false_only_probes_options(
        self, api: Api, kamailio_md5: KamailioPeer
    ) -> None:
        cid = await create(api, conn_body(kamailio_md5, password="wrong", register=False))

        r = await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        assert r.json()["data"]["status"] == "active"
        sent = [t["text"].split(" ", 1)[0] for t in r.json()["data"]["trace"]]
        assert "REGISTER" not in sent

    async def test_closed_port_is_unreachable_after_two_misses(self, api: Api) -> None:
        cid = await create(
            api,
            {
                "name": "nobody home",
                "phone_number": "+14155550101",
                "gateway": "127.0.0.1",
                "port": free_port(),
                "transport": "tcp",
                **GOOD,
            },
        )

        first = (await api.post(f"/channels/sip-trunk/connections/{cid}/check")).json()["data"]
        second = (await api.post(f"/channels/sip-trunk/connections/{cid}/check")).json()["data"]

        # One miss does not flap the status; the second consecutive miss does.
        assert (first["status"], first["status_detail"]["misses"]) == ("pending", 1)
        assert (second["status"], second["status_detail"]["misses"]) == ("unreachable", 2)
        assert second["status_detail"]["reason"] == "refused"
        assert "nothing listens" in second["status_detail"]["hint"]

    async def test_status_changes_are_listed_newest_first(
        self, api: Api, kamailio_md5: KamailioPeer
    ) -> None:
        cid = await create(api, conn_body(kamailio_md5))
        await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        r = await api.get(f"/channels/sip-trunk/connections/{cid}/events")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Events retrieved.",
            "data": {
                "items": [
                    {
                        "event_uuid": ANY,
                        "from_status": "pending",
                        "to_status": "active",
                        "detail": ANY,
                        "created_at": ANY,
                    }
                ],
                "pagination": {
                    "current_page": 1,
                    "per_page": 50,
                    "total": 1,
                    "last_page": 1,
                    "from": 1,
                    "to": 1,
                    "has_more": False,
                },
            },
        }

    async def test_foreign_connection_is_404(
        self, api: Api, other_api: Api, kamailio_md5: KamailioPeer
    ) -> None:
        cid = await create(api, conn_body(kamailio_md5))
        for path in (f"/channels/sip-trunk/connections/{cid}/check",):
            r = await other_api.post(path)
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "CONNECTION_NOT_FOUND"
        r = await other_api.get(f"/channels/sip-trunk/connections/{cid}/events")
        assert r.json()["error"]["code"] == "CONNECTION_NOT_FOUND"


class TestMonitorLoop:
    """MonitorService driven directly (for TLS CA settings, timing and several instances)."""

    @pytest.mark.parametrize("algo_fixture", ["kamailio_md5", "kamailio_sha256"])
    @pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
    async def test_every_algorithm_and_transport(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        request: pytest.FixtureRequest,
        algo_fixture: str,
        transport: str,
    ) -> None:
        peer: KamailioPeer = request.getfixturevalue(algo_fixture)
        good = await create(api, conn_body(peer, transport))
        bad = await create(api, conn_body(peer, transport, password="nope"))
        monitor = make_monitor(tls_ca_file=str(peer.cert_path))

        assert await monitor.tick() == 2

        ok_row, bad_row = await row(sessionmaker, good), await row(sessionmaker, bad)
        assert ok_row.status == "active", ok_row.status_detail
        assert ok_row.status_detail is not None
        assert ok_row.status_detail["registered_until"] is not None
        assert bad_row.status == "auth_failed", bad_row.status_detail
        assert bad_row.status_detail is not None and bad_row.status_detail["sip_code"] == 403
        if transport == "tls":
            assert ok_row.status_detail["tls_cert_expires_at"] is not None

    async def test_primary_down_secondary_up_is_degraded(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        # Nothing listens on 127.0.0.2 (loopback, but Kamailio binds 127.0.0.1 and ::1 only).
        cid = await create(
            api, conn_body(kamailio_md5, gateway="127.0.0.2", secondary_gateway="::1")
        )
        monitor = make_monitor(timeout_s=0.5)

        await monitor.tick()

        found = await row(sessionmaker, cid)
        assert found.status == "degraded", found.status_detail
        assert found.status_detail is not None
        assert found.status_detail["gateway"] == "::1"
        assert found.status_detail["secondary"]["sip_code"] == 200

    async def test_registration_is_refreshed_before_expiry(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        short_expiry_kamailio: KamailioPeer,
    ) -> None:
        cid = await create(api, conn_body(short_expiry_kamailio))
        monitor = make_monitor(register_expires_s=2)

        await monitor.tick()
        first = await row(sessionmaker, cid)
        assert first.status == "active", first.status_detail
        # Granted 2 s: the refresh is due after 1 s, so the next check comes then, not in 30 s.
        assert first.last_checked_at is not None
        assert (first.next_check_at - first.last_checked_at).total_seconds() < 2
        await asyncio.sleep(1.2)
        assert await monitor.tick() == 1

        registers = [
            r for r in short_expiry_kamailio.received("REGISTER") if r["expires"] not in {"", "0"}
        ]
        by_call = Counter(r["call_id"] for r in registers)
        call_id, count = by_call.most_common(1)[0]
        assert count >= 2, registers
        cseqs = [int(r["cseq"]) for r in registers if r["call_id"] == call_id]
        assert cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)

    async def test_deleted_target_is_unregistered(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        cid = await create(api, conn_body(kamailio_md5))
        monitor = make_monitor()
        await monitor.tick()
        async with sessionmaker.begin() as session:
            await session.delete(await session.get(SipConnection, uuid.UUID(cid)))

        await monitor.reconcile()

        assert monitor.registrations.targets() == set()
        zeroes = [r for r in kamailio_md5.received("REGISTER") if r["expires"] == "0"]
        assert zeroes, "no un-REGISTER (Expires: 0) reached the registrar"

    async def test_two_instances_check_each_target_once_per_interval(
        self,
        api: Api,
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        ids = [
            await create(api, conn_body(kamailio_md5, name=f"t{i}", register=False))
            for i in range(40)
        ]
        checked: list[uuid.UUID] = []
        monitors = [make_monitor(batch_size=5, interval_s=60.0) for _ in range(2)]
        for m in monitors:
            original = m._run

            async def counting(
                spec: Any, *, force_register: bool = False, _o: Any = original
            ) -> Any:
                checked.append(spec.id)
                return await _o(spec, force_register=force_register)

            m._run = counting  # type: ignore[method-assign]
            m.start()

        for _ in range(100):
            if len(set(checked)) >= len(ids):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let any duplicate show itself
        for m in monitors:
            await m.stop()

        counts = Counter(checked)
        assert set(counts) == {uuid.UUID(i) for i in ids}
        assert max(counts.values()) == 1, counts.most_common(3)
        assert all(m.checks_done > 0 for m in monitors), [m.checks_done for m in monitors]


@pytest.fixture(scope="module")
def short_expiry_kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KamailioPeer]:
    """A registrar that accepts a 2-second registration, so a refresh is observable quickly."""
    require_peer_binary("kamailio")
    with KamailioPeer(
        algo="MD5", users=DEFAULT_USERS, min_expires=1, workdir=tmp_path_factory.mktemp("kam-exp")
    ) as peer:
        yield peer


class TestUndecryptableCredentials:
    async def test_check_answers_503_not_500(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        cid = await create(
            api,
            {"name": "orphaned key", "phone_number": "+14155550103", "gateway": "127.0.0.1",
             "port": free_port(), **GOOD},
        )  # fmt: skip
        async with sessionmaker.begin() as session:  # as if sealed under a key since removed
            found = await session.get(SipConnection, uuid.UUID(cid))
            assert found is not None
            found.password_secret = "v1:deadbeef:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAA"

        try:
            r = await api.post(f"/channels/sip-trunk/connections/{cid}/check")
        finally:
            # Leave no undecryptable secret behind in the shared database (keys rotate reads all).
            assert (await api.delete(f"/channels/sip-trunk/connections/{cid}")).status_code == 200

        assert r.status_code == 503
        assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert "TRUNKLINE_ENCRYPTION_KEYS" in r.json()["message"]
