"""Bearer tokens (docs/api-decisions.md §1, §2.1): missing, unknown, revoked, and scopes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.api import Api, error_body
from trunkline.db import session_scope
from trunkline.models import ApiToken
from trunkline.workspace.service import hash_token, workspace_service

MISSING = error_body(
    "missing_auth_token", "Authentication required: send 'Authorization: Bearer <token>'."
)
INVALID = error_body("invalid_auth_token", "The API token is invalid or has been revoked.")


class TestMissingToken:
    async def test_no_authorization_header(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/api/v1/agents")

        assert r.status_code == 401
        assert r.json() == MISSING

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/agents/00000000-0000-0000-0000-000000000000",
            "/api/v1/phone-numbers/channels?number=%2B14155550100",
            "/api/v1/channels/sip-trunk/connections",
        ],
    )
    async def test_every_api_route_needs_a_token(self, http: httpx.AsyncClient, path: str) -> None:
        r = await http.get(path)

        assert r.status_code == 401
        assert r.json() == MISSING

    async def test_post_without_token(self, http: httpx.AsyncClient) -> None:
        r = await http.post("/api/v1/phone-numbers/trunks", json={})

        assert r.status_code == 401
        assert r.json() == MISSING


class TestInvalidToken:
    @pytest.mark.parametrize(
        "header",
        ["Bearer nope", "Bearer tl_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer", "tl_abc"],
    )
    async def test_unknown_or_malformed_credentials(
        self, http: httpx.AsyncClient, header: str
    ) -> None:
        r = await http.get("/api/v1/agents", headers={"Authorization": header})

        assert r.status_code == 401
        assert r.json() == INVALID

    async def test_scheme_is_case_insensitive(self, api: Api, http: httpx.AsyncClient) -> None:
        r = await http.get("/api/v1/agents", headers={"Authorization": f"bearer {api.token}"})

        assert r.status_code == 200

    async def test_revoked_token(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        assert (await api.get("/agents")).status_code == 200
        async with session_scope(sessionmaker) as session:
            assert await workspace_service.revoke_token(session, api.token) == 1

        r = await api.get("/agents")

        assert r.status_code == 401
        assert r.json() == INVALID

    async def test_revoked_by_display_prefix(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with session_scope(sessionmaker) as session:
            prefix = await session.scalar(
                select(ApiToken.prefix).where(ApiToken.token_hash == hash_token(api.token))
            )
            assert prefix is not None
            assert await workspace_service.revoke_token(session, prefix) == 1

        r = await api.post("/agents", {"name": "x"})

        assert r.status_code == 401
        assert r.json() == INVALID

    async def test_revoking_one_token_leaves_the_others(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with session_scope(sessionmaker) as session:
            second = await workspace_service.create_token(session, api.slug)
            await workspace_service.revoke_token(session, api.token)

        r = await api.get("/agents", headers={"Authorization": f"Bearer {second.token}"})

        assert r.status_code == 200


class TestTokenStorage:
    async def test_token_is_stored_only_as_a_hash(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as session:
            row = await session.scalar(
                select(ApiToken).where(ApiToken.token_hash == hash_token(api.token))
            )
        assert row is not None
        assert api.token not in repr(vars(row))
        assert row.scopes == ["admin"]
        # ≥ 32 bytes of entropy: 43 url-safe base64 characters after the prefix.
        assert api.token.startswith("tl_") and len(api.token) >= 3 + 43


class TestScopes:
    async def test_media_only_token_cannot_use_the_admin_api(
        self, http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, token = await new_workspace(sessionmaker, scopes=["media"])

        r = await http.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})

        assert r.status_code == 403
        assert r.json() == error_body(
            "insufficient_scope", "The API token lacks the scope this operation needs."
        )

    async def test_media_only_token_cannot_write(
        self, http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, token = await new_workspace(sessionmaker, scopes=["media"])

        r = await http.post(
            "/api/v1/agents", json={"name": "x"}, headers={"Authorization": f"Bearer {token}"}
        )

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "INSUFFICIENT_SCOPE"

    async def test_admin_and_media_token_may_use_the_admin_api(
        self, http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, token = await new_workspace(sessionmaker, scopes=["media", "admin"])

        r = await http.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})

        assert r.status_code == 200
