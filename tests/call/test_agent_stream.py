"""The agent's stream fields (docs/calls.md §2): stream_url shown, stream_auth_token write-only
and sealed to its row, and the call path's decrypting read."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_KEYRING
from tests.support.api import Api, agent_object, error_body
from tests.support.rows import get_row, set_columns
from trunkline.agent.service import StreamTarget, agent_service
from trunkline.kit.crypto import CryptoError, SecretBox
from trunkline.logs import redact
from trunkline.models import Agent

BOX = SecretBox.from_spec(TEST_KEYRING)
URL = "wss://agent.example.com/twilio"


def agent_body(**fields: Any) -> dict[str, Any]:
    return agent_object("Voice", **fields)


async def stream_target(sm: async_sessionmaker[AsyncSession], agent_uuid: str) -> Any:
    async with sm() as session:
        return await agent_service.stream_target(session, BOX, uuid.UUID(agent_uuid))


class TestCreate:
    async def test_url_and_token_are_stored_and_only_the_url_is_shown(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        token = f"tok-{uuid.uuid4().hex}"

        r = await api.post(
            "/agents", {"name": "Voice", "stream_url": URL, "stream_auth_token": token}
        )

        assert r.status_code == 201
        assert r.json() == {
            "success": True,
            "message": "Agent created.",
            "data": agent_body(stream_url=URL, has_stream_auth_token=True),
        }
        assert token not in r.text
        agent_uuid = r.json()["data"]["agent_uuid"]
        row = await get_row(sessionmaker, Agent, agent_uuid)
        assert row.stream_auth_token_secret.startswith("v1:")
        assert token not in row.stream_auth_token_secret
        assert await stream_target(sessionmaker, agent_uuid) == StreamTarget(URL, token)

    async def test_without_stream_fields(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Voice"})

        assert r.status_code == 201
        assert r.json()["data"] == agent_body()

    async def test_empty_strings_mean_none(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Voice", "stream_url": "", "stream_auth_token": ""})

        assert r.status_code == 201
        assert r.json()["data"] == agent_body()

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                {"stream_url": "https://agent.example.com/ws"},
                "stream_url",
                "Must be a ws:// or wss:// URL",
            ),
            (
                {"stream_url": "wss://u:p@agent.example.com/"},
                "stream_url",
                "Must not carry credentials; send them as stream_auth_token",
            ),
            ({"stream_url": 5}, "stream_url", "Input should be a valid string"),
            (
                {"stream_auth_token": "a\r\nX: 1"},
                "stream_auth_token",
                "Must be visible ASCII characters without spaces",
            ),
        ],
    )
    async def test_invalid(self, api: Api, body: dict[str, Any], field: str, message: str) -> None:
        r = await api.post("/agents", {"name": "Voice", **body})

        assert r.status_code == 422
        details_message = message if message.startswith("Input") else f"{message}."
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message}.",
            field=field,
            fields=[{"field": field, "message": details_message}],
        )

    async def test_token_is_never_in_lists(self, api: Api) -> None:
        token = f"tok-{uuid.uuid4().hex}"
        await api.agent("Voice", stream_url=URL, stream_auth_token=token)

        r = await api.get("/agents")

        assert r.status_code == 200
        assert r.json()["data"]["items"] == [agent_body(stream_url=URL, has_stream_auth_token=True)]
        assert token not in r.text


class TestUpdate:
    async def test_sets_both(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Voice")

        r = await api.patch(
            f"/agents/{agent['agent_uuid']}", {"stream_url": URL, "stream_auth_token": "t1"}
        )

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Agent updated.",
            "data": {**agent, "stream_url": URL, "has_stream_auth_token": True, "updated_at": ANY},
        }
        assert await stream_target(sessionmaker, agent["agent_uuid"]) == StreamTarget(URL, "t1")

    async def test_other_fields_leave_them_alone(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Voice", stream_url=URL, stream_auth_token="t1")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"name": "Renamed"})

        assert r.status_code == 200
        assert r.json()["data"] == {**agent, "name": "Renamed", "updated_at": ANY}
        assert await stream_target(sessionmaker, agent["agent_uuid"]) == StreamTarget(URL, "t1")

    @pytest.mark.parametrize("cleared", [None, ""])
    async def test_clears_the_token(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], cleared: str | None
    ) -> None:
        agent = await api.agent("Voice", stream_url=URL, stream_auth_token="t1")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"stream_auth_token": cleared})

        assert r.status_code == 200
        assert r.json()["data"] == {**agent, "has_stream_auth_token": False, "updated_at": ANY}
        assert await stream_target(sessionmaker, agent["agent_uuid"]) == StreamTarget(URL, None)

    @pytest.mark.parametrize("cleared", [None, ""])
    async def test_clears_the_url(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], cleared: str | None
    ) -> None:
        agent = await api.agent("Voice", stream_url=URL, stream_auth_token="t1")

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"stream_url": cleared})

        assert r.status_code == 200
        assert r.json()["data"] == {**agent, "stream_url": None, "updated_at": ANY}
        # No URL, nothing to connect to: the call path gets no target (routing says
        # agent_unavailable before it asks).
        assert await stream_target(sessionmaker, agent["agent_uuid"]) is None

    async def test_invalid_url_changes_nothing(self, api: Api) -> None:
        agent = await api.agent("Voice", stream_url=URL)

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"stream_url": "ftp://x.example"})

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "stream_url"
        assert (await api.get(f"/agents/{agent['agent_uuid']}")).json()["data"] == agent


class TestStreamTarget:
    async def test_unknown_agent(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        assert await stream_target(sessionmaker, str(uuid.uuid4())) is None

    async def test_repr_hides_the_token(self) -> None:
        assert repr(StreamTarget(URL, "secret-1")) == f"StreamTarget(url='{URL}', token=***)"

    async def test_ciphertext_copied_to_another_agent_does_not_decrypt(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A", stream_url=URL, stream_auth_token="a-token")
        b = await api.agent("B", stream_url=URL)
        sealed = (await get_row(sessionmaker, Agent, a["agent_uuid"])).stream_auth_token_secret
        await set_columns(sessionmaker, Agent, b["agent_uuid"], stream_auth_token_secret=sealed)

        with pytest.raises(CryptoError):
            await stream_target(sessionmaker, b["agent_uuid"])


class TestLogs:
    @pytest.mark.parametrize(
        "line",
        [
            '{"name": "Voice", "stream_auth_token": "tok-abc123"}',
            "{'stream_auth_token': 'tok-abc123'}",
            "stream_auth_token=tok-abc123",
        ],
    )
    def test_the_token_is_redacted(self, line: str) -> None:
        assert "tok-abc123" not in redact(line)
        assert "stream_auth_token" in redact(line)
