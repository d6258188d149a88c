"""Agents CRUD (docs/api-decisions.md §4.5) and list pagination (§2.3)."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, agent_object, error_body, unique_us_number
from trunkline.models import Binding

AGENT_NOT_FOUND = error_body("agent_not_found", "Agent not found.", field="agent_uuid")


def page_of(items: list[Any], **pagination: Any) -> dict[str, Any]:
    return {
        "success": True,
        "message": "Agents retrieved.",
        "data": {"items": items, "pagination": pagination},
    }


class TestCreateAgent:
    async def test_defaults_to_active(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Front desk"})

        assert r.status_code == 201
        assert r.json() == {
            "success": True,
            "message": "Agent created.",
            "data": {
                "agent_uuid": ANY,
                "name": "Front desk",
                "description": "",
                "language": "en",
                "timezone": "UTC",
                "status": "active",
                "settings": {"voice": {}, "text": {}, "memorize": {}, "evaluation": {}},
                "stream_url": None,
                "has_stream_auth_token": False,
                "channels": {"call": [], "sms": [], "whatsapp": []},
                "created_at": ANY,
                "updated_at": ANY,
            },
        }
        uuid.UUID(r.json()["data"]["agent_uuid"])

    async def test_paused(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Night", "status": "paused"})

        assert r.status_code == 201
        assert r.json()["data"]["status"] == "paused"

    async def test_unknown_keys_are_refused(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Bot", "voice": "alloy"})

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "voice"

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({}, "name", "Field required"),
            ({"name": ""}, "name", "String should have at least 1 character"),
            ({"name": "x" * 256}, "name", "String should have at most 255 characters"),
            ({"name": 5}, "name", "Input should be a valid string"),
            ({"name": "a", "status": "asleep"}, "status", "Input should be 'active' or 'paused'"),
        ],
    )
    async def test_invalid(self, api: Api, body: dict[str, Any], field: str, message: str) -> None:
        r = await api.post("/agents", body)

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message}.",
            field=field,
            fields=[{"field": field, "message": message}],
        )

    async def test_name_of_255_is_accepted(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "x" * 255})

        assert r.status_code == 201


class TestGetAgent:
    async def test_found(self, api: Api) -> None:
        agent = await api.agent("Bot")

        r = await api.get(f"/agents/{agent['agent_uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Agent retrieved.", "data": agent}

    async def test_missing(self, api: Api) -> None:
        r = await api.get(f"/agents/{uuid.uuid4()}")

        assert r.status_code == 404
        assert r.json() == AGENT_NOT_FOUND


class TestListAgents:
    async def test_empty(self, api: Api) -> None:
        r = await api.get("/agents")

        assert r.status_code == 200
        assert r.json() == page_of(
            [],
            current_page=1,
            per_page=50,
            total=0,
            last_page=1,
            to=None,
            has_more=False,
            **{"from": None},
        )

    async def test_oldest_first_with_pages(self, api: Api) -> None:
        agents = [await api.agent(f"A{i}") for i in range(5)]

        first = await api.get("/agents", params={"per_page": 2})
        last = await api.get("/agents", params={"page": 3, "per_page": 2})

        assert first.json() == page_of(
            agents[:2],
            current_page=1,
            per_page=2,
            total=5,
            last_page=3,
            to=2,
            has_more=True,
            **{"from": 1},
        )
        assert last.json() == page_of(
            agents[4:],
            current_page=3,
            per_page=2,
            total=5,
            last_page=3,
            to=5,
            has_more=False,
            **{"from": 5},
        )

    async def test_page_past_the_end_is_empty(self, api: Api) -> None:
        await api.agent()

        r = await api.get("/agents", params={"page": 4, "per_page": 1})

        assert r.json() == page_of(
            [],
            current_page=4,
            per_page=1,
            total=1,
            last_page=1,
            to=None,
            has_more=False,
            **{"from": None},
        )

    async def test_per_page_200_is_the_maximum(self, api: Api) -> None:
        assert (await api.get("/agents", params={"per_page": 200})).status_code == 200

        r = await api.get("/agents", params={"per_page": 201})

        assert r.status_code == 422
        message = "Input should be less than or equal to 200"
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: per_page: {message}.",
            field="per_page",
            fields=[{"field": "per_page", "message": message}],
        )

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"per_page": 0}, "per_page", "Input should be greater than or equal to 1"),
            ({"page": 0}, "page", "Input should be greater than or equal to 1"),
            ({"page": -1}, "page", "Input should be greater than or equal to 1"),
            (
                {"page": "two"},
                "page",
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ],
    )
    async def test_bad_pagination(
        self, api: Api, params: dict[str, Any], field: str, message: str
    ) -> None:
        r = await api.get("/agents", params=params)

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message}.",
            field=field,
            fields=[{"field": field, "message": message}],
        )


class TestUpdateAgent:
    async def test_rename(self, api: Api) -> None:
        agent = await api.agent("Old")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"name": "New"})

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Agent updated.",
            "data": {**agent, "name": "New", "updated_at": ANY},
        }

    async def test_pause_keeps_name(self, api: Api) -> None:
        agent = await api.agent("Bot")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"status": "paused"})

        assert r.json()["data"] == {**agent, "status": "paused", "updated_at": ANY}
        assert (await api.get(f"/agents/{agent['agent_uuid']}")).json()["data"]["status"] == (
            "paused"
        )

    async def test_empty_patch_changes_nothing(self, api: Api) -> None:
        agent = await api.agent("Bot")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {})

        assert r.status_code == 200
        assert r.json()["data"] == {**agent, "updated_at": ANY}

    async def test_invalid_status(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"status": "gone"})

        assert r.status_code == 422
        message = "Input should be 'active' or 'paused'"
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: status: {message}.",
            field="status",
            fields=[{"field": "status", "message": message}],
        )

    async def test_missing(self, api: Api) -> None:
        r = await api.patch(f"/agents/{uuid.uuid4()}", {"name": "x"})

        assert r.status_code == 404
        assert r.json() == AGENT_NOT_FOUND


class TestDeleteAgent:
    async def test_unbound_agent(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.delete(f"/agents/{agent['agent_uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Agent deleted.", "data": None}
        assert (await api.get(f"/agents/{agent['agent_uuid']}")).status_code == 404

    async def test_missing(self, api: Api) -> None:
        r = await api.delete(f"/agents/{uuid.uuid4()}")

        assert r.status_code == 404
        assert r.json() == AGENT_NOT_FOUND

    async def test_bound_agent_is_in_use(self, api: Api) -> None:
        agent = await api.agent()
        await api.trunk(agent["agent_uuid"], channel="call")
        await api.trunk(agent["agent_uuid"], channel="whatsapp")

        r = await api.delete(f"/agents/{agent['agent_uuid']}")

        assert r.status_code == 409
        assert r.json() == error_body(
            "agent_in_use",
            "The agent still has channel bindings; unbind them or pass force=true.",
            bindings=2,
        )
        assert (await api.get(f"/agents/{agent['agent_uuid']}")).status_code == 200

    async def test_force_unbinds_everything(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()
        snap = await api.trunk(agent["agent_uuid"], number, channel="call")
        await api.trunk(agent["agent_uuid"], number, channel="whatsapp")

        r = await api.delete(f"/agents/{agent['agent_uuid']}", params={"force": "true"})

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Agent deleted.", "data": None}
        assert (await api.get(f"/agents/{agent['agent_uuid']}")).status_code == 404
        async with sessionmaker() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(Binding)
                .where(Binding.agent_id == uuid.UUID(agent["agent_uuid"]))
            )
        assert left == 0
        after = (await api.get(f"/phone-numbers/{snap['phone_number_uuid']}/channels")).json()
        unbound = {"bound": False, "agent_uuid": "", "agent_name": ""}
        assert after["data"]["channels"]["whatsapp"] == unbound
        assert {k: after["data"]["channels"]["call"][k] for k in unbound} == unbound

    async def test_force_on_unbound_agent(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.delete(f"/agents/{agent['agent_uuid']}", params={"force": "true"})

        assert r.status_code == 200


class TestWholeAgent:
    """Every endpoint returns the whole agent (docs/api-decisions.md §6.3)."""

    async def test_profile_fields_are_kept_and_shown(self, api: Api) -> None:
        body = {
            "name": "Sales",
            "description": "Answers the sales line",
            "language": "it-IT",
            "timezone": "Europe/Rome",
            "settings": {"voice": {"speed": 1.1}, "crm": "acme"},
        }

        r = await api.post("/agents", body)

        assert r.status_code == 201, r.text
        assert r.json()["data"] == agent_object(
            "Sales",
            description="Answers the sales line",
            language="it-IT",
            timezone="Europe/Rome",
            settings={"voice": {"speed": 1.1}, "crm": "acme"},
        )

    async def test_patch_changes_only_what_is_sent_and_replaces_settings(self, api: Api) -> None:
        agent = await api.agent("Sales", description="Old", settings={"text": {"tone": "dry"}})

        r = await api.patch(
            f"/agents/{agent['agent_uuid']}",
            {"description": "New", "language": None, "settings": {"memorize": {"days": 3}}},
        )

        assert r.status_code == 200, r.text
        assert r.json()["data"] == agent_object(
            "Sales",
            agent_uuid=agent["agent_uuid"],
            description="New",
            settings={"memorize": {"days": 3}},
        )

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"timezone": "../etc/passwd"}, "timezone"),
            ({"language": "english please"}, "language"),
            ({"settings": {"voice": "alloy"}}, "settings"),
            ({"settings": {"blob": "x" * 17_000}}, "settings"),
            ({"description": "x" * 2001}, "description"),
        ],
    )
    async def test_bad_profile_fields_are_422(
        self, api: Api, body: dict[str, Any], field: str
    ) -> None:
        r = await api.post("/agents", {"name": "Bot", **body})

        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
        assert r.json()["error"]["field"] == field

    async def test_get_and_list_carry_the_channels(self, api: Api) -> None:
        agent = await api.agent("Desk")
        idle = await api.agent("Idle")
        snap = await api.trunk(agent["agent_uuid"])

        one = (await api.get(f"/agents/{agent['agent_uuid']}")).json()["data"]
        listed = (await api.get("/agents")).json()["data"]["items"]

        call = [
            {
                "number": snap["number"],
                "phone_number_uuid": snap["phone_number_uuid"],
                "bound_via": "trunk",
                "connection_uuid": None,
                "pbx_extension_connector_uuid": None,
                "receives_inbound": True,
                "bound_at": ANY,
            }
        ]
        assert one == agent_object("Desk", agent_uuid=agent["agent_uuid"], channels={"call": call})
        by_uuid = {a["agent_uuid"]: a for a in listed}
        assert len(listed) == 2
        assert by_uuid == {
            agent["agent_uuid"]: one,
            idle["agent_uuid"]: agent_object("Idle", agent_uuid=idle["agent_uuid"]),
        }
