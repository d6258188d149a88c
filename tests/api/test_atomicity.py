"""A force delete is one transaction: a failure half-way leaves nothing half-done."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api
from tests.support.rows import purchased_number
from trunkline.models import Agent, Binding, PbxConnector, SipConnectionAssignment
from trunkline.sip_connection import repository as connections


async def holdings(sm: async_sessionmaker[AsyncSession], agent_uuid: str) -> dict[str, int]:
    agent_id = uuid.UUID(agent_uuid)
    out = {}
    async with sm() as session:
        for model in (Binding, SipConnectionAssignment, PbxConnector):
            out[model.__tablename__] = int(
                await session.scalar(
                    select(func.count()).select_from(model).where(model.agent_id == agent_id)
                )
                or 0
            )
        out["agent"] = int(
            await session.scalar(
                select(func.count()).select_from(Agent).where(Agent.id == agent_id)
            )
            or 0
        )
    return out


async def busy_agent(api: Api, sm: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """An agent holding numbers every way: provisioned call + sms, a connection, a PBX."""
    agent = await api.agent("Busy")
    pn = await purchased_number(sm, api.slug)
    for path in ("call/provision", "sms"):
        r = await api.post(
            f"/agents/{agent['agent_uuid']}/channels/{path}", {"phone_number_uuid": str(pn.id)}
        )
        assert r.status_code == 200, r.text
    c = await api.connection()
    await api.assign_connection(agent["agent_uuid"], c["uuid"])
    await api.pbx_connector(agent["agent_uuid"])
    return agent


class TestForceDeleteAgentIsAtomic:
    async def test_a_failure_after_the_first_delete_rolls_everything_back(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        agent = await busy_agent(api, sessionmaker)
        before = await holdings(sessionmaker, agent["agent_uuid"])
        assert before == {
            "binding": 2,
            "sip_connection_assignment": 1,
            "pbx_connector": 1,
            "agent": 1,
        }

        # The binding rows are deleted first; the second statement fails. The app runs in this
        # process (tests/conftest.py), so patching the repository module reaches it.
        async def explode(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("injected failure")

        monkeypatch.setattr(connections, "delete_assignments", explode)

        r = await api.delete(f"/agents/{agent['agent_uuid']}", params={"force": "true"})

        assert r.status_code == 500
        assert r.json() == {
            "success": False,
            "message": "Internal server error.",
            "error": {
                "code": "INTERNAL_ERROR",
                "details": "Internal server error.",
                "field": "",
                "fields": [],
            },
            "data": {"error": "internal_error"},
        }
        assert await holdings(sessionmaker, agent["agent_uuid"]) == before

    async def test_without_the_failure_everything_goes(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await busy_agent(api, sessionmaker)

        r = await api.delete(f"/agents/{agent['agent_uuid']}", params={"force": "true"})

        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "message": "Agent deleted.", "data": None}
        assert await holdings(sessionmaker, agent["agent_uuid"]) == {
            "binding": 0,
            "sip_connection_assignment": 0,
            "pbx_connector": 0,
            "agent": 0,
        }

    async def test_without_force_an_agent_holding_a_connection_or_pbx_is_in_use(
        self, api: Api
    ) -> None:
        agent = await api.agent("Connected")
        c = await api.connection()
        await api.assign_connection(agent["agent_uuid"], c["uuid"])
        await api.pbx_connector(agent["agent_uuid"])

        r = await api.delete(f"/agents/{agent['agent_uuid']}")

        assert r.status_code == 409
        assert r.json() == {
            "success": False,
            "message": "The agent still has channel bindings; unbind them or pass force=true.",
            "error": {
                "code": "AGENT_IN_USE",
                "details": "The agent still has channel bindings; unbind them or pass force=true.",
                "field": "",
                "fields": [],
            },
            "data": {"error": "agent_in_use", "bindings": 2},
        }
