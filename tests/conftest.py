"""Root fixtures: a real database (SQLite file or the PostgreSQL of TRUNKLINE_TEST_DATABASE_URL),
migrated with Alembic, and the real app served by uvicorn on a loopback port.

Isolation: every test gets its own workspace and token (``api``), so tests never see each other's
rows — which also exercises tenancy on every request. Peer fixtures (Kamailio, SIPp) live in
tests/support/sip_fixtures.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import pytest
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.api import Api
from tests.support.server import serving
from tests.support.upstream import check_response
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.kit.crypto import generate_key
from trunkline.migrate import upgrade
from trunkline.workspace.service import workspace_service

pytest_plugins = ["tests.support.sip_fixtures"]

TEST_KEYRING = generate_key()


if os.environ.get("TRUNKLINE_TEST_LOOP") == "uvloop":

    def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
        """``TRUNKLINE_TEST_LOOP=uvloop``: every async test, and the app it serves, on uvloop
        (what `trunkline serve` runs with ``TRUNKLINE_SERVER__LOOP=uvloop``). Without it the
        suite runs on asyncio's loop, `serve`'s default, with no hook at all (a hook, even one
        returning asyncio's loop, re-parametrizes every async fixture: tests/api/
        test_openapi_fuzz.py's module-scoped fixtures then fail to set up in the whole suite).
        tests/sip passes on uvloop; see bench/README.md for what does not yet."""
        return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    url = os.environ.get("TRUNKLINE_TEST_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{data_dir / 'trunkline.db'}"
    )
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=url,
        encryption_keys=TEST_KEYRING,
        # No background monitor in the shared server: tests drive checks explicitly, and the
        # factories' example gateways must never be resolved or probed.
        monitor={"enabled": False},
        # No call worker either: call tests serve their own app with one (tests/callworker).
        calls={"enabled": False},
        # Kamailio and SIPp run on loopback, which the egress policy refuses by default
        # (tests/api/test_egress.py tests that default with its own settings).
        security={"allow_addresses": ["127.0.0.0/8", "::1/128"]},
        _env_file=None,
    )


@pytest.fixture(scope="session")
def backend(settings: Settings) -> str:
    return "postgresql" if settings.database_url_resolved.startswith("postgresql") else "sqlite"


async def _reset_postgres(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
async def engine(settings: Settings, backend: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    if backend == "postgresql":
        await _reset_postgres(engine)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(scope="session")
async def server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    """The real app behind uvicorn on a loopback port; yields its base URL."""
    async with serving(settings) as url:
        yield url


async def conforms_upstream(response: httpx.Response) -> None:
    """Every response the suite's API flows get is checked against the upstream operation it
    answers (tests/support/upstream.py, docs/api-decisions.md §6): a difference fails the test
    that made the request, naming the field."""
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        body = None
    request = response.request
    problems = check_response(request.method, request.url.path, response.status_code, body)
    assert not problems, problems


@pytest.fixture(scope="session")
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        base_url=server,
        timeout=30,
        limits=limits,
        event_hooks={"response": [conforms_upstream]},
    ) as client:
        yield client


async def new_workspace(
    sessionmaker: async_sessionmaker[AsyncSession], scopes: list[str] | None = None
) -> tuple[str, str]:
    slug = f"ws-{uuid.uuid4().hex[:12]}"
    async with session_scope(sessionmaker) as session:
        issued = await workspace_service.create_token(session, slug, scopes=scopes)
    return slug, issued.token


@pytest.fixture
async def api(http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> Api:
    """An API client bound to a fresh workspace."""
    slug, token = await new_workspace(sessionmaker)
    return Api(http, token, slug)


@pytest.fixture
async def other_api(http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> Api:
    """A second, unrelated workspace (for tenancy tests)."""
    slug, token = await new_workspace(sessionmaker)
    return Api(http, token, slug)


@pytest.fixture
def data_dir(settings: Settings) -> Path:
    return settings.data_dir


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[Any]) -> None:
    # Keep slow concurrency tests last so a quick failure shows first.
    items.sort(key=lambda item: 1 if item.get_closest_marker("slow") else 0)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """In CI (TRUNKLINE_REQUIRE_PEERS=1) a skipped test is a failure: it hides a missing peer."""
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1" and skipped:
        terminalreporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped while TRUNKLINE_REQUIRE_PEERS=1", red=True
        )
        config._trunkline_skips = len(skipped)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
        skipped = session.config.pluginmanager.get_plugin("terminalreporter").stats.get("skipped")
        if skipped:
            session.exitstatus = 1


@pytest.fixture
def worker_trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every function aiosqlite queues for a worker thread, in order (an in-process server runs
    in the test's loop, so its trips count too): what the SQLite driver tests count."""
    trips: list[Any] = []
    real = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return trips
