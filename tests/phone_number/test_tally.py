"""phone_number_tally: the exact list totals kept by triggers, whatever writes the rows."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, sandbox_number, unique_us_number
from tests.support.rows import purchased_number, workspace_id
from tests.support.sql import statements
from trunkline.models import PhoneNumber, PhoneNumberTally


async def tally_and_rows(
    sm: async_sessionmaker[AsyncSession], ws: uuid.UUID
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(what the tally says, what counting the rows says) per (source, status), zeros left out."""
    async with sm() as session:
        tallied = await session.execute(
            select(PhoneNumberTally.source, PhoneNumberTally.status, func.sum(PhoneNumberTally.n))
            .where(PhoneNumberTally.workspace_id == ws)
            .group_by(PhoneNumberTally.source, PhoneNumberTally.status)
        )
        counted = await session.execute(
            select(PhoneNumber.source, PhoneNumber.status, func.count())
            .where(PhoneNumber.workspace_id == ws)
            .group_by(PhoneNumber.source, PhoneNumber.status)
        )
    return (
        Counter({(s, st): int(n) for s, st, n in tallied if n}),
        Counter({(s, st): int(n) for s, st, n in counted}),
    )


class TestTheTallyFollowsTheRows:
    async def test_through_every_write_of_a_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        ws = await workspace_id(sessionmaker, api.slug)
        agent = await api.agent()
        external, bought = unique_us_number(), sandbox_number()
        expected: list[Counter[tuple[str, str]]] = []

        async def step() -> None:
            tally, rows = await tally_and_rows(sessionmaker, ws)
            assert tally == rows
            expected.append(rows)

        await api.trunk(agent["agent_uuid"], external)  # a new external row
        await step()
        await api.trunk(agent["agent_uuid"], external, channel="whatsapp")  # same row
        await step()
        number = await api.buy(bought)  # a purchased row
        await step()
        r = await api.delete(f"/phone-numbers/{number['phone_number_uuid']}")  # released
        assert r.status_code == 200, r.text
        await step()
        other = await api.agent()
        await api.trunk(other["agent_uuid"], bought, channel="whatsapp")  # back, as external
        await step()
        for channel in ("call", "whatsapp"):  # the last trunk row takes the number with it
            r = await api.delete(
                "/phone-numbers/trunks", params={"phone_number": external, "channel": channel}
            )
            assert r.status_code == 200, r.text
        await step()

        assert expected == [
            Counter({("external", "active"): 1}),
            Counter({("external", "active"): 1}),
            Counter({("external", "active"): 1, ("purchased", "active"): 1}),
            Counter({("external", "active"): 1, ("purchased", "released"): 1}),
            Counter({("external", "active"): 2}),
            Counter({("external", "active"): 1}),
        ]

    async def test_rows_written_straight_to_the_table_are_counted(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        ws = await workspace_id(sessionmaker, api.slug)
        await purchased_number(sessionmaker, api.slug)
        await purchased_number(sessionmaker, api.slug, status="released")

        tally, rows = await tally_and_rows(sessionmaker, ws)

        assert tally == rows == Counter({("purchased", "active"): 1, ("purchased", "released"): 1})


class TestListTotals:
    async def test_a_full_page_takes_its_total_from_the_tally(self, api: Api) -> None:
        for _ in range(3):
            await api.trunk((await api.agent())["agent_uuid"])
        await api.get("/phone-numbers/trunks")  # warm-up: the token lookup is cached after it

        with statements() as seen:
            r = await api.get("/phone-numbers/trunks", params={"per_page": 2})

        assert r.json()["data"]["pagination"]["total"] == 3
        assert any("phone_number_tally" in s for s in seen), seen
        assert not any("count(*)" in s.lower() and "phone_number_tally" not in s for s in seen)

    async def test_a_filter_the_tally_cannot_answer_is_counted(self, api: Api) -> None:
        agent, other = await api.agent(), await api.agent()
        await api.trunk(agent["agent_uuid"])
        await api.trunk(agent["agent_uuid"], channel="whatsapp")
        await api.trunk(other["agent_uuid"])

        with statements() as seen:
            r = await api.get(
                "/phone-numbers/trunks", params={"per_page": 1, "agent_uuid": agent["agent_uuid"]}
            )

        assert r.json()["data"]["pagination"]["total"] == 2
        assert not any("phone_number_tally" in s for s in seen)
