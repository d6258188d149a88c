"""The workspace currency (docs/api-decisions.md §6.8): EUR by default, set by the operator with
``trunkline workspace currency``, read by every price through ``workspace_service.currency``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.cli import Result, cli_runner
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.errors import NotFound, Unprocessable
from trunkline.kit.currency import DEFAULT_CURRENCY, ISO_4217, parse_currency
from trunkline.workspace import repository as repo
from trunkline.workspace.service import workspace_service


async def currency_of(sm: async_sessionmaker[AsyncSession], slug: str) -> str:
    async with sm() as session:
        workspace = await repo.get_workspace_by_slug(session, slug)
        assert workspace is not None
        return await workspace_service.currency(session, workspace.id)


class TestService:
    async def test_a_new_workspace_bills_in_euros(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        slug, _ = await new_workspace(sessionmaker)

        assert await currency_of(sessionmaker, slug) == DEFAULT_CURRENCY == "EUR"

    @pytest.mark.parametrize(("given", "stored"), [("USD", "USD"), (" gbp ", "GBP")])
    async def test_set_currency(
        self, sessionmaker: async_sessionmaker[AsyncSession], given: str, stored: str
    ) -> None:
        slug, _ = await new_workspace(sessionmaker)
        other, _ = await new_workspace(sessionmaker)

        async with session_scope(sessionmaker) as session:
            code = await workspace_service.set_currency(session, slug, given)

        assert code == stored
        assert await currency_of(sessionmaker, slug) == stored
        assert await currency_of(sessionmaker, other) == "EUR"

    @pytest.mark.parametrize("given", ["EURO", "XXX", "", "usd1"])
    async def test_an_unknown_code_is_refused(
        self, sessionmaker: async_sessionmaker[AsyncSession], given: str
    ) -> None:
        slug, _ = await new_workspace(sessionmaker)

        async with session_scope(sessionmaker) as session:
            with pytest.raises(Unprocessable) as raised:
                await workspace_service.set_currency(session, slug, given)

        assert raised.value.field == "currency"
        assert await currency_of(sessionmaker, slug) == "EUR"

    async def test_an_unknown_workspace_is_not_found(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with session_scope(sessionmaker) as session:
            with pytest.raises(NotFound):
                await workspace_service.set_currency(session, "no-such-workspace", "USD")

    async def test_an_unknown_workspace_id_reads_the_default(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as session:
            assert await workspace_service.currency(session, uuid.uuid4()) == "EUR"


@pytest.mark.parametrize(
    ("given", "code"),
    [("EUR", "EUR"), ("usd", "USD"), (" chf", "CHF"), ("XAU", None), ("EU", None), ("", None)],
)
def test_parse_currency(given: str, code: str | None) -> None:
    assert parse_currency(given) == code


def test_the_code_list_is_three_letter_codes() -> None:
    assert all(len(c) == 3 and c.isalpha() and c.isupper() for c in ISO_4217)
    assert {"EUR", "USD", "GBP", "JPY", "CHF"} <= ISO_4217


@pytest.mark.slow  # each command is a fresh interpreter
class TestCli:
    @pytest.fixture
    def cli(self, settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
        return cli_runner(settings, tmp_path)

    async def test_prints_then_sets_the_currency(
        self, cli, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:  # type: ignore[no-untyped-def]
        slug, _ = await new_workspace(sessionmaker)

        before = await cli("workspace", "currency", slug)
        changed = await cli("workspace", "currency", slug, "usd")
        after = await cli("workspace", "currency", slug)

        assert before == Result(0, "EUR\n", "")
        assert changed == Result(0, "USD\n", "")
        assert after == Result(0, "USD\n", "")
        assert await currency_of(sessionmaker, slug) == "USD"

    async def test_an_unknown_code_fails_with_one_line(
        self, cli, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:  # type: ignore[no-untyped-def]
        slug, _ = await new_workspace(sessionmaker)

        result = await cli("workspace", "currency", slug, "EURO")

        assert result == Result(
            2,
            "",
            "trunkline: Unknown currency 'EURO': use an ISO 4217 code such as EUR or USD.\n",
        )
        assert await currency_of(sessionmaker, slug) == "EUR"

    @pytest.mark.parametrize("args", [(), ("USD",)])
    async def test_an_unknown_workspace_fails_with_one_line(
        self, cli, args: tuple[str, ...]
    ) -> None:  # type: ignore[no-untyped-def]
        result = await cli("workspace", "currency", "no-such-workspace", *args)

        assert result == Result(2, "", "trunkline: No workspace 'no-such-workspace'.\n")


class TestWithACachedToken:
    async def test_a_new_currency_shows_on_the_next_request_of_a_warm_token(
        self, api: Any, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        # The token read carries the currency and is cached (AuthCache): setting the currency
        # must forget that cache, or prices stay in the old currency for the cache's lifetime.
        before = await api.get("/phone-numbers/rates", params={"per_page": 1})
        assert before.json()["data"]["items"][0]["price"]["currency"] == "EUR"

        async with session_scope(sessionmaker) as session:
            await workspace_service.set_currency(session, api.slug, "USD")
        after = await api.get("/phone-numbers/rates", params={"per_page": 1})

        assert after.status_code == 200
        assert after.json()["data"]["items"][0]["price"]["currency"] == "USD"
