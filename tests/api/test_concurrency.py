"""Races against the running server: the unique constraints decide, exactly one request wins."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, unique_us_number
from trunkline.models import Binding, PhoneNumber, Trunk

pytestmark = pytest.mark.slow

N = 24


async def _count(sm: async_sessionmaker[AsyncSession], model: type, **where: object) -> int:
    async with sm() as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(await session.scalar(stmt) or 0)


class TestConcurrentRegistration:
    async def test_same_number_and_channel_has_exactly_one_winner(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agents = [await api.agent(f"A{i}") for i in range(N)]
        number = unique_us_number()

        responses = await asyncio.gather(
            *(
                api.post(
                    "/phone-numbers/trunks",
                    {"phone_number": number, "agent_uuid": a["agent_uuid"], "channel": "call"},
                )
                for a in agents
            )
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: N - 1}, [r.text for r in responses]
        codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
        assert codes == {"NUMBER_ALREADY_BOUND"}
        assert await _count(sessionmaker, PhoneNumber, number=number) == 1
        async with sessionmaker() as session:
            pn = await session.scalar(select(PhoneNumber).where(PhoneNumber.number == number))
        assert pn is not None
        assert await _count(sessionmaker, Trunk, phone_number_id=pn.id) == 1
        assert await _count(sessionmaker, Binding, phone_number_id=pn.id) == 1

    async def test_one_agent_two_numbers_same_channel_has_one_winner(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Busy")
        numbers = [unique_us_number() for _ in range(N)]

        responses = await asyncio.gather(
            *(
                api.post(
                    "/phone-numbers/trunks",
                    {"phone_number": n, "agent_uuid": agent["agent_uuid"], "channel": "whatsapp"},
                )
                for n in numbers
            )
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: N - 1}, [r.text for r in responses]
        codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
        assert codes == {"AGENT_CHANNEL_BUSY"}
        import uuid

        agent_id = uuid.UUID(agent["agent_uuid"])
        assert await _count(sessionmaker, Binding, agent_id=agent_id) == 1
        # The losers' number rows were rolled back with their transactions.
        async with sessionmaker() as session:
            rows = await session.scalar(
                select(func.count()).select_from(PhoneNumber).where(PhoneNumber.number.in_(numbers))
            )
        assert rows == 1

    async def test_same_number_on_two_channels_concurrently_shares_one_row(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("Caller"), await api.agent("Chatter")
        number = unique_us_number()

        r1, r2 = await asyncio.gather(
            api.post(
                "/phone-numbers/trunks",
                {"phone_number": number, "agent_uuid": a["agent_uuid"], "channel": "call"},
            ),
            api.post(
                "/phone-numbers/trunks",
                {"phone_number": number, "agent_uuid": b["agent_uuid"], "channel": "whatsapp"},
            ),
        )

        assert (r1.status_code, r2.status_code) == (201, 201), (r1.text, r2.text)
        assert r1.json()["data"]["phone_number_uuid"] == r2.json()["data"]["phone_number_uuid"]
        assert await _count(sessionmaker, PhoneNumber, number=number) == 1


class TestCrossTableRaces:
    """Holdings in different tables have no shared unique constraint: the per-number lock
    decides. A trunk registration and a connection assignment race for the same number."""

    async def test_trunk_registration_vs_connection_assignment(self, api: Api) -> None:
        pairs = []
        for _ in range(10):
            number = unique_us_number()
            connection = await api.connection(phone_number=number)
            a, b = await api.agent("Trunk side"), await api.agent("Connection side")
            pairs.append((number, connection["uuid"], a["agent_uuid"], b["agent_uuid"]))

        results = await asyncio.gather(
            *(
                asyncio.gather(
                    api.post(
                        "/phone-numbers/trunks",
                        {"phone_number": number, "agent_uuid": a, "channel": "call"},
                    ),
                    api.post(f"/agents/{b}/channels/call/sip-trunk", {"connection_uuid": cid}),
                )
                for number, cid, a, b in pairs
            )
        )

        for trunk, assign in results:
            statuses = sorted([trunk.status_code, assign.status_code])
            assert statuses in ([200, 409], [201, 409]), (trunk.text, assign.text)
            loser = trunk if trunk.status_code == 409 else assign
            assert loser.json()["error"]["code"] in {"NUMBER_ALREADY_BOUND", "PHONE_IN_USE"}
        for (number, _, a, _), (trunk, _) in zip(pairs, results, strict=True):
            snap = await api.get(f"/phone-numbers/channels?number={number[1:]}")
            if trunk.status_code == 201:  # the trunk won: its agent answers the number on call
                assert snap.json()["data"]["channels"]["call"]["agent_uuid"] == a
            else:  # the assignment won: no external number was created
                assert snap.status_code == 404
