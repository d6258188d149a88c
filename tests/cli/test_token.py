"""The ``trunkline token`` commands, run as the installed console script against the test DB."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import error_body
from tests.support.cli import cli_runner
from trunkline.config import Settings
from trunkline.models import Workspace
from trunkline.workspace import service as workspace_module

pytestmark = pytest.mark.slow  # each command is a fresh interpreter (~1-2 s)

AUTH_CACHE_TTL_S: float = getattr(workspace_module, "AUTH_CACHE_TTL_S", 0.0)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    return cli_runner(settings, tmp_path)


def slug() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def until_refused(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """The first refused answer for ``token``, waiting at most the server's auth-cache TTL
    (a server may accept a token revoked by another process for that long) plus a margin."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AUTH_CACHE_TTL_S + 1.0
    while True:
        r = await http.get("/api/v1/agents", headers=bearer(token))
        if r.status_code != 200 or loop.time() > deadline:
            return r
        await asyncio.sleep(0.1)


class TestTokenCreate:
    async def test_prints_only_the_token_and_creates_the_workspace(
        self, cli, http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        name = slug()

        result = await cli("token", "create", "--workspace", name)

        assert result.code == 0, result.stderr
        token = result.stdout.removesuffix("\n")
        assert result.stdout == token + "\n" and "\n" not in token and " " not in token
        assert token.startswith("tl_") and len(token) >= 3 + 43
        async with sessionmaker() as session:
            found = await session.scalar(select(Workspace.slug).where(Workspace.slug == name))
        assert found == name
        r = await http.get("/api/v1/agents", headers=bearer(token))
        assert r.status_code == 200
        assert r.json()["data"]["items"] == []

    async def test_second_token_joins_the_existing_workspace(
        self, cli, http: httpx.AsyncClient
    ) -> None:
        name = slug()
        first = (await cli("token", "create", "--workspace", name)).stdout.strip()
        second = (await cli("token", "create", "--workspace", name)).stdout.strip()
        assert first != second
        created = await http.post("/api/v1/agents", json={"name": "Shared"}, headers=bearer(first))
        assert created.status_code == 201, created.text

        r = await http.get(
            f"/api/v1/agents/{created.json()['data']['agent_uuid']}", headers=bearer(second)
        )

        assert r.status_code == 200

    async def test_media_scope(self, cli, http: httpx.AsyncClient) -> None:
        result = await cli("token", "create", "--workspace", slug(), "--scope", "media")
        assert result.code == 0, result.stderr

        r = await http.get("/api/v1/agents", headers=bearer(result.stdout.strip()))

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "INSUFFICIENT_SCOPE"

    async def test_bad_slug_is_refused(self, cli) -> None:
        result = await cli("token", "create", "--workspace", "Not A Slug")

        assert result.code == 2
        assert result.stdout == ""
        assert "slug" in result.stderr


class TestTokenRevoke:
    async def test_revoked_token_gets_401(self, cli, http: httpx.AsyncClient) -> None:
        token = (await cli("token", "create", "--workspace", slug())).stdout.strip()
        assert (await http.get("/api/v1/agents", headers=bearer(token))).status_code == 200

        result = await cli("token", "revoke", token)

        assert result.code == 0, result.stderr
        assert result.stdout == ""
        assert "revoked 1 token(s)" in result.stderr
        r = await until_refused(http, token)
        assert r.status_code == 401
        assert r.json() == error_body(
            "invalid_auth_token", "The API token is invalid or has been revoked."
        )

    async def test_revoked_by_another_process_is_refused_within_1_s(
        self, cli, http: httpx.AsyncClient
    ) -> None:
        # The server caches accepted tokens (workspace.service.AuthCache); a revocation by
        # another process (this CLI) must still take effect within 1 s although the cache is
        # warm: the server keeps using the token while the CLI revokes it.
        token = (await cli("token", "create", "--workspace", slug())).stdout.strip()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        async def keep_using() -> None:
            while not stop.is_set():
                await http.get("/api/v1/agents", headers=bearer(token))
                await asyncio.sleep(0.02)

        user = asyncio.create_task(keep_using())
        await asyncio.sleep(0.2)
        result = await cli("token", "revoke", token)
        revoked_at = loop.time()
        while True:
            if (await http.get("/api/v1/agents", headers=bearer(token))).status_code != 200:
                break
            await asyncio.sleep(0.01)
        refused_after_s = loop.time() - revoked_at
        stop.set()
        await user

        assert result.code == 0, result.stderr
        assert refused_after_s <= 1.0
        assert AUTH_CACHE_TTL_S <= 1.0

    async def test_revoke_by_display_prefix(self, cli, http: httpx.AsyncClient) -> None:
        token = (await cli("token", "create", "--workspace", slug())).stdout.strip()

        result = await cli("token", "revoke", token[: len("tl_") + 8])

        assert result.code == 0, result.stderr
        assert (await until_refused(http, token)).status_code == 401

    async def test_unknown_token(self, cli) -> None:
        result = await cli("token", "revoke", "tl_" + "z" * 43)

        assert result.code == 2
        assert result.stderr == "trunkline: No live token matches.\n"

    async def test_token_is_not_printed_by_list(self, cli) -> None:
        name = slug()
        token = (await cli("token", "create", "--workspace", name)).stdout.strip()

        result = await cli("token", "list", "--workspace", name)

        assert result.code == 0, result.stderr
        assert token not in result.stdout
        assert result.stdout.startswith(token[: len("tl_") + 8])
