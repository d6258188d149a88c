"""A token of workspace A can neither read nor bind anything of workspace B (docs/api-decisions.md
§1).

A foreign uuid answers exactly as a missing one does, so existence never leaks.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, unique_us_number
from trunkline.models import PhoneNumber

AGENT_NOT_FOUND = error_body("agent_not_found", "Agent not found.", field="agent_uuid")


async def both_answers(api: Api, method: str, path: str, foreign: str, **kw: Any) -> list[Any]:
    """The responses for a foreign uuid and for a never-existing one, side by side."""
    theirs = await api.request(method, path.format(foreign), **kw)
    missing = await api.request(method, path.format(uuid.uuid4()), **kw)
    return [(theirs.status_code, theirs.json()), (missing.status_code, missing.json())]


class TestForeignAgent:
    async def test_get_is_404_like_missing(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.agent("Theirs")

        answers = await both_answers(api, "GET", "/agents/{}", theirs["agent_uuid"])

        assert answers == [(404, AGENT_NOT_FOUND)] * 2

    async def test_patch_is_404_and_changes_nothing(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.agent("Theirs")

        answers = await both_answers(
            api, "PATCH", "/agents/{}", theirs["agent_uuid"], json={"name": "Hijacked"}
        )

        assert answers == [(404, AGENT_NOT_FOUND)] * 2
        still = await other_api.get(f"/agents/{theirs['agent_uuid']}")
        assert still.json()["data"] == theirs

    async def test_forced_delete_is_404_and_deletes_nothing(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.agent("Theirs")
        await other_api.trunk(theirs["agent_uuid"])

        answers = await both_answers(
            api, "DELETE", "/agents/{}", theirs["agent_uuid"], params={"force": "true"}
        )

        assert answers == [(404, AGENT_NOT_FOUND)] * 2
        assert (await other_api.get(f"/agents/{theirs['agent_uuid']}")).status_code == 200

    async def test_list_shows_only_own_agents(self, api: Api, other_api: Api) -> None:
        mine = await api.agent("Mine")
        await other_api.agent("Theirs")

        r = await api.get("/agents")

        assert r.json()["data"]["items"] == [mine]
        assert r.json()["data"]["pagination"]["total"] == 1

    async def test_cannot_bind_a_foreign_agent(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        theirs = await other_api.agent("Theirs")
        number = unique_us_number()

        r = await api.post(
            "/phone-numbers/trunks",
            {"phone_number": number, "agent_uuid": theirs["agent_uuid"], "channel": "call"},
        )

        assert r.status_code == 404
        assert r.json() == AGENT_NOT_FOUND
        async with sessionmaker() as session:
            rows = await session.scalar(
                select(func.count()).select_from(PhoneNumber).where(PhoneNumber.number == number)
            )
        assert rows == 0


class TestForeignNumber:
    async def test_snapshot_by_uuid_is_404_like_missing(self, api: Api, other_api: Api) -> None:
        snap = await other_api.trunk((await other_api.agent())["agent_uuid"])

        answers = await both_answers(
            api, "GET", "/phone-numbers/{}/channels", snap["phone_number_uuid"]
        )

        assert (
            answers == [(404, error_body("phone_number_not_found", "Phone number not found."))] * 2
        )

    async def test_snapshot_by_number_is_404(self, api: Api, other_api: Api) -> None:
        number = unique_us_number()
        await other_api.trunk((await other_api.agent())["agent_uuid"], number)

        r = await api.get("/phone-numbers/channels", params={"number": number})

        assert r.status_code == 404
        assert r.json() == error_body(
            "phone_number_not_found", "Phone number not found.", field="number"
        )

    async def test_foreign_binding_neither_blocks_nor_is_touched(
        self, api: Api, other_api: Api
    ) -> None:
        number = unique_us_number()
        theirs = await other_api.agent("Theirs")
        before = await other_api.trunk(theirs["agent_uuid"], number)
        mine = await api.agent("Mine")

        r = await api.post(
            "/phone-numbers/trunks",
            {"phone_number": number, "agent_uuid": mine["agent_uuid"], "channel": "call"},
        )

        assert r.status_code == 201
        assert r.json()["data"]["channels"]["call"]["agent_uuid"] == mine["agent_uuid"]
        after = await other_api.get(f"/phone-numbers/{before['phone_number_uuid']}/channels")
        assert after.json()["data"] == before


class TestForeignConnection:
    async def test_get_is_404_like_missing(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.connection()

        answers = await both_answers(
            api, "GET", "/channels/sip-trunk/connections/{}", theirs["uuid"]
        )

        not_found = error_body("connection_not_found", "SIP trunk connection not found.")
        assert answers == [(404, not_found)] * 2

    async def test_list_shows_only_own_connections(self, api: Api, other_api: Api) -> None:
        mine = await api.connection(name="Mine")
        await other_api.connection(name="Theirs")

        r = await api.get("/channels/sip-trunk/connections")

        assert r.json()["data"]["items"] == [mine]
        assert r.json()["data"]["pagination"]["total"] == 1
