"""Idempotency-Key on POST (issue 13): a retry gets the first answer without acting again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, unique_us_number
from trunkline.kit.clock import utcnow
from trunkline.models import IdempotencyKey


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def agent_count(api: Api) -> int:
    r = await api.get("/agents")
    return int(r.json()["data"]["pagination"]["total"])


class TestReplay:
    async def test_same_key_and_body_replays_the_first_answer_without_acting(
        self, api: Api
    ) -> None:
        headers = key()

        first = await api.post("/agents", {"name": "Desk"}, headers=headers)
        again = await api.post("/agents", {"name": "Desk"}, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await agent_count(api) == 1

    async def test_a_lost_answer_is_not_a_409_on_retry(self, api: Api) -> None:
        # A trunk registration that committed but whose answer the client never read: the retry
        # with the same key gets the 201, not number_already_bound.
        agent = await api.agent()
        body = {"phone_number": unique_us_number(), "agent_uuid": agent["agent_uuid"],
                "channel": "call"}  # fmt: skip
        headers = key()
        first = await api.post("/phone-numbers/trunks", body, headers=headers)

        retry = await api.post("/phone-numbers/trunks", body, headers=headers)
        without_key = await api.post("/phone-numbers/trunks", body)

        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert without_key.status_code == 409

    async def test_json_key_order_does_not_matter(self, api: Api) -> None:
        headers = key()
        await api.post("/agents", content=b'{"name":"A","status":"paused"}', headers={
            **headers, "Content-Type": "application/json"})  # fmt: skip

        again = await api.post("/agents", content=b'{"status": "paused", "name": "A"}', headers={
            **headers, "Content-Type": "application/json"})  # fmt: skip

        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"

    async def test_client_errors_replay_too(self, api: Api) -> None:
        headers = key()

        first = await api.post("/agents", {"name": ""}, headers=headers)
        again = await api.post("/agents", {"name": ""}, headers=headers)

        assert first.status_code == again.status_code == 422
        assert again.json() == first.json()

    async def test_keys_are_per_workspace(self, api: Api, other_api: Api) -> None:
        headers = key()

        mine = await api.post("/agents", {"name": "Same"}, headers=headers)
        theirs = await other_api.post("/agents", {"name": "Same"}, headers=headers)

        assert mine.status_code == theirs.status_code == 201
        assert "idempotent-replayed" not in theirs.headers
        assert mine.json()["data"]["agent_uuid"] != theirs.json()["data"]["agent_uuid"]

    async def test_an_expired_key_acts_again(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        headers = key()
        await api.post("/agents", {"name": "Old"}, headers=headers)
        async with sessionmaker.begin() as session:  # as if 25 hours had passed
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == headers["Idempotency-Key"])
                .values(created_at=utcnow() - timedelta(hours=25))
            )

        again = await api.post("/agents", {"name": "Old"}, headers=headers)

        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
        assert await agent_count(api) == 2


class TestMisuse:
    async def test_same_key_other_body_is_422(self, api: Api) -> None:
        headers = key()
        await api.post("/agents", {"name": "One"}, headers=headers)

        r = await api.post("/agents", {"name": "Two"}, headers=headers)

        assert r.status_code == 422
        assert r.json() == error_body(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request; use a new key for a new "
            "request.",
        )
        assert await agent_count(api) == 1

    async def test_same_key_other_endpoint_is_422(self, api: Api) -> None:
        headers = key()
        await api.post("/agents", {"name": "One"}, headers=headers)

        r = await api.post(
            "/channels/sip-trunk/connections",
            {"name": "One"},
            headers=headers,
        )

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    async def test_invalid_key_is_422(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "x"}, headers={"Idempotency-Key": "x" * 256})

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "Idempotency-Key"

    async def test_without_token_the_key_changes_nothing(self, api: Api) -> None:
        r = await api.http.post(
            "/api/v1/agents", json={"name": "x"}, headers={"Idempotency-Key": "k-1"}
        )

        assert r.status_code == 401


class TestConcurrent:
    async def test_one_acts_the_others_wait_or_replay(self, api: Api) -> None:
        headers = key()

        answers = await asyncio.gather(
            *(api.post("/agents", {"name": "Race"}, headers=headers) for _ in range(6))
        )

        statuses = sorted(r.status_code for r in answers)
        created = {r.json()["data"]["agent_uuid"] for r in answers if r.status_code == 201}
        assert set(statuses) <= {201, 409}, statuses
        assert len(created) == 1  # every 201 is the same agent: one acted, others replayed
        for r in answers:
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
                assert r.headers["retry-after"] == "1"
        assert await agent_count(api) == 1
