"""The monitor against a SIPp registrar scenario, and the background loop inside the service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.monitor.conftest import MonitorFactory
from tests.support.api import Api, unique_us_number
from tests.support.sip_peers import DEFAULT_USERS, KamailioPeer, SippRegistrar
from trunkline.models import SipConnection, Trunk

pytestmark = pytest.mark.peer


def sipp_body(peer: SippRegistrar, password: str) -> dict[str, Any]:
    return {
        "name": "sipp registrar",
        "phone_number": "+14155550102",
        "gateway": peer.host,
        "port": peer.port,
        "username": peer.user,
        "password": password,
    }


class TestAgainstSippRegistrar:
    async def test_right_password_is_active(self, api: Api, sipp_registrar: SippRegistrar) -> None:
        r = await api.post(
            "/channels/sip-trunk/connections", sipp_body(sipp_registrar, sipp_registrar.password)
        )
        cid = r.json()["data"]["uuid"]

        checked = await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        data = checked.json()["data"]
        assert data["status"] == "active", data
        assert data["status_detail"]["sip_code"] == 200
        assert data["status_detail"]["registered_until"] is not None

    async def test_wrong_password_is_auth_failed(
        self, api: Api, sipp_registrar: SippRegistrar
    ) -> None:
        r = await api.post("/channels/sip-trunk/connections", sipp_body(sipp_registrar, "wrong"))
        cid = r.json()["data"]["uuid"]

        checked = await api.post(f"/channels/sip-trunk/connections/{cid}/check")

        data = checked.json()["data"]
        assert data["status"] == "auth_failed", data
        assert data["status_detail"]["sip_code"] == 403


class TestBackgroundLoop:
    async def test_new_connection_is_checked_within_seconds(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        monitor = make_monitor(tick_s=0.2)
        monitor.start()
        r = await api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "fresh",
                "phone_number": unique_us_number(),
                "gateway": "127.0.0.1",
                "port": kamailio_md5.port,
                "username": "trunk1",
                "password": DEFAULT_USERS["trunk1"],
            },
        )
        cid = uuid.UUID(r.json()["data"]["uuid"])

        status = "pending"
        for _ in range(40):  # up to 4 s
            async with sessionmaker() as session:
                status = (
                    await session.scalar(
                        select(SipConnection.status).where(SipConnection.id == cid)
                    )
                    or "missing"
                )
            if status != "pending":
                break
            await asyncio.sleep(0.1)

        assert status == "active"

    async def test_trunk_rows_with_sip_settings_are_checked(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        agent = await api.agent()
        snap = await api.trunk(
            agent["agent_uuid"],
            sip={
                "gateway": "127.0.0.1",
                "port": kamailio_md5.port,
                "username": "alice",
                "password": DEFAULT_USERS["alice"],
            },
        )
        without_sip = await api.trunk((await api.agent())["agent_uuid"])
        monitor = make_monitor()

        assert await monitor.tick() == 1  # the trunk without SIP settings has nothing to check

        async with sessionmaker() as session:
            trunks = {
                t.phone_number_id: t
                for t in await session.scalars(
                    select(Trunk).where(
                        Trunk.phone_number_id.in_(
                            [
                                uuid.UUID(snap["phone_number_uuid"]),
                                uuid.UUID(without_sip["phone_number_uuid"]),
                            ]
                        )
                    )
                )
            }
        checked = trunks[uuid.UUID(snap["phone_number_uuid"])]
        assert checked.status == "active", checked.status_detail
        assert trunks[uuid.UUID(without_sip["phone_number_uuid"])].status == "pending"
        listed = await api.get(f"/phone-numbers/{snap['phone_number_uuid']}")
        sip = listed.json()["data"]["trunks"][0]["sip"]
        assert (sip["status"], sip["status_detail"]["sip_code"]) == ("active", 200)
        assert sip["last_checked_at"] is not None


class TestDisable:
    """enabled=false: status disabled, never checked, un-REGISTERed; enabled=true: checked again."""

    async def test_disable_and_enable(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        make_monitor: MonitorFactory,
        kamailio_md5: KamailioPeer,
    ) -> None:
        r = await api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "to disable",
                "phone_number": unique_us_number(),
                "gateway": "127.0.0.1",
                "port": kamailio_md5.port,
                "username": "trunk1",
                "password": DEFAULT_USERS["trunk1"],
            },
        )
        cid = r.json()["data"]["uuid"]
        monitor = make_monitor()
        assert await monitor.tick() == 1
        assert monitor.registrations.targets() == {("connection", uuid.UUID(cid))}

        off = await api.patch(f"/channels/sip-trunk/connections/{cid}", {"enabled": False})
        await monitor.reconcile()  # what the loop does every few ticks

        assert off.status_code == 200
        assert (off.json()["data"]["enabled"], off.json()["data"]["status"]) == (False, "disabled")
        assert monitor.registrations.targets() == set()
        unregisters = [r for r in kamailio_md5.received("REGISTER") if r["expires"] == "0"]
        assert unregisters
        async with sessionmaker.begin() as session:  # even when due, a disabled row is skipped
            row = await session.get(SipConnection, uuid.UUID(cid))
            assert row is not None
            row.next_check_at = row.created_at
        assert await monitor.tick() == 0
        refused = await api.post(f"/channels/sip-trunk/connections/{cid}/check")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "CONNECTION_DISABLED"

        on = await api.patch(f"/channels/sip-trunk/connections/{cid}", {"enabled": True})

        assert (on.json()["data"]["enabled"], on.json()["data"]["status"]) == (True, "pending")
        assert await monitor.tick() == 1
        checked = await api.get(f"/channels/sip-trunk/connections/{cid}")
        assert checked.json()["data"]["status"] == "active"

    async def test_created_disabled(self, api: Api) -> None:
        r = await api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "off from the start",
                "phone_number": unique_us_number(),
                "gateway": "sip.example.com",
                "username": "u",
                "password": "p",
                "enabled": False,
            },
        )
        assert r.status_code == 201
        assert (r.json()["data"]["enabled"], r.json()["data"]["status"]) == (False, "disabled")


class TestPbxConnectors:
    async def test_connector_registers_as_its_extension(
        self, api: Api, make_monitor: MonitorFactory, kamailio_sha256: KamailioPeer
    ) -> None:
        agent = await api.agent("Extension bot")
        body = {
            "agent_uuid": agent["agent_uuid"],
            "phone_number": unique_us_number(),
            "registrar_server": "127.0.0.1",
            "port": kamailio_sha256.port,
            "username_extension": "alice",
            "pbx_password": DEFAULT_USERS["alice"],
        }
        good = (await api.post("/pbx_extension_connectors", body)).json()["data"]
        wrong = (
            await api.post(
                "/pbx_extension_connectors",
                body | {"phone_number": unique_us_number(), "pbx_password": "nope"},
            )
        ).json()["data"]
        monitor = make_monitor()

        assert await monitor.tick() == 2

        ok = (
            await api.get(f"/pbx_extension_connectors/{good['pbx_extension_connector_uuid']}")
        ).json()
        bad = (
            await api.get(f"/pbx_extension_connectors/{wrong['pbx_extension_connector_uuid']}")
        ).json()
        assert ok["data"]["status"] == "active", ok["data"]["status_detail"]
        assert ok["data"]["status_detail"]["registered_until"] is not None
        assert bad["data"]["status"] == "auth_failed", bad["data"]["status_detail"]
