"""Pagination (docs/api-decisions.md §2.3) over a large inventory, and list queries that do not grow
with the
page: a page of 200 numbers costs the same statements as a page of 1 (no N+1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.api import Api, error_body
from tests.support.rows import workspace_id
from tests.support.sql import statements
from trunkline.db import session_scope
from trunkline.kit import pagination as pagination_module
from trunkline.kit.clock import utcnow
from trunkline.models import Agent, Binding, PhoneNumber, Trunk
from trunkline.phone_number.rules import EXTERNAL_CAPABILITIES, default_channel_settings

ROWS = 1_000
EXTERNAL_EVERY = 4  # every 4th number is external, with a call trunk bound to its own agent


async def bulk_inventory(sm: async_sessionmaker[AsyncSession], api: Api) -> list[str]:
    """ROWS numbers inserted in a few statements; returns them in list order (created_at, id).

    Pairs of rows share a created_at, so the id tie-break decides their order."""
    ws = await workspace_id(sm, api.slug)
    base = utcnow().replace(microsecond=0) - timedelta(days=1)
    numbers: list[dict[str, Any]] = []
    agents: list[dict[str, Any]] = []
    trunks: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for i in range(ROWS):
        created = base + timedelta(seconds=i // 2)
        external = i % EXTERNAL_EVERY == 0
        number_id = uuid.uuid4()
        numbers.append(
            {
                "id": number_id,
                "workspace_id": ws,
                "number": f"+1415{2_000_000 + i:07d}",
                "country_code": "US",
                "location": None,
                "type": "local",
                "source": "external" if external else "purchased",
                "status": "active",
                "capabilities": {**EXTERNAL_CAPABILITIES, "voice": True},
                "channel_settings": default_channel_settings("US"),
                "monthly_fee": None if external else 1,
                "currency": None if external else "USD",
                "compliance": {"status": "not_required", "requirements": []},
                "purchased_at": None if external else created,
                "released_at": None,
                "created_at": created,
                "updated_at": created,
            }
        )
        if external:
            agent_id = uuid.uuid4()
            agents.append(
                {
                    "id": agent_id,
                    "workspace_id": ws,
                    "name": f"agent-{i}",
                    "status": "active",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            trunks.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": ws,
                    "phone_number_id": number_id,
                    "channel": "call",
                    "name": f"call_trunk_{i}",
                    "direction": "both",
                    "additional_settings": {},
                    "status": "pending",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            bindings.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": ws,
                    "phone_number_id": number_id,
                    "agent_id": agent_id,
                    "channel": "call",
                    "kind": "trunk",
                    "created_at": created,
                }
            )
    async with session_scope(sm) as session:
        for model, rows in ((PhoneNumber, numbers), (Agent, agents), (Trunk, trunks)):
            await session.execute(insert(model), rows)
        await session.execute(insert(Binding), bindings)
    ordered = sorted(numbers, key=lambda r: (r["created_at"], r["id"].int))
    return [r["number"] for r in ordered]


def pagination(page: int, per_page: int, total: int, count: int) -> dict[str, Any]:
    last_page = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    return {
        "current_page": page,
        "per_page": per_page,
        "total": total,
        "last_page": last_page,
        "from": start + 1 if count else None,
        "to": start + count if count else None,
        "has_more": page < last_page,
    }


@dataclass(frozen=True)
class Bulk:
    api: Api
    numbers: list[str]  # in list order


@pytest.fixture(scope="module")
async def bulk(http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> Bulk:
    """One workspace with the bulk inventory, shared by this module's read-only tests."""
    slug, token = await new_workspace(sessionmaker)
    api = Api(http, token, slug)
    return Bulk(api, await bulk_inventory(sessionmaker, api))


@pytest.fixture
def big(bulk: Bulk) -> Api:
    return bulk.api


@pytest.fixture
def inventory(bulk: Bulk) -> list[str]:
    return bulk.numbers


async def page_of(api: Api, path: str = "/phone-numbers", **params: Any) -> dict[str, Any]:
    r = await api.get(path, params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


class TestPagination:
    async def test_empty_list(self, api: Api) -> None:
        r = await api.get("/phone-numbers")

        assert r.json() == {
            "success": True,
            "message": "Phone numbers retrieved.",
            "data": {"items": [], "pagination": pagination(1, 50, 0, 0)},
        }

    async def test_default_page_is_the_first_50(self, big: Api, inventory: list[str]) -> None:
        data = await page_of(big)

        assert [i["number"] for i in data["items"]] == inventory[:50]
        assert data["pagination"] == pagination(1, 50, ROWS, 50)

    async def test_walking_every_page_of_200_sees_each_number_once_in_order(
        self, big: Api, inventory: list[str]
    ) -> None:
        seen: list[str] = []
        for page in range(1, 6):
            data = await page_of(big, page=page, per_page=200)
            assert data["pagination"] == pagination(page, 200, ROWS, 200)
            seen += [i["number"] for i in data["items"]]

        assert seen == inventory
        assert data["pagination"]["has_more"] is False

    async def test_last_partial_page(self, big: Api, inventory: list[str]) -> None:
        data = await page_of(big, page=143, per_page=7)  # 142 * 7 = 994

        assert [i["number"] for i in data["items"]] == inventory[994:]
        assert data["pagination"] == pagination(143, 7, ROWS, 6)
        assert (data["pagination"]["from"], data["pagination"]["to"]) == (995, 1000)

    async def test_per_page_1(self, big: Api, inventory: list[str]) -> None:
        first = await page_of(big, page=1, per_page=1)
        last = await page_of(big, page=ROWS, per_page=1)

        assert [i["number"] for i in first["items"]] == inventory[:1]
        assert first["pagination"] == pagination(1, 1, ROWS, 1)
        assert [i["number"] for i in last["items"]] == inventory[-1:]
        assert last["pagination"] == pagination(ROWS, 1, ROWS, 1)
        assert last["pagination"]["has_more"] is False

    async def test_a_page_beyond_the_end_is_empty(self, big: Api, inventory: list[str]) -> None:
        data = await page_of(big, page=6, per_page=200)

        assert data == {
            "items": [],
            "pagination": {
                "current_page": 6,
                "per_page": 200,
                "total": ROWS,
                "last_page": 5,
                "from": None,
                "to": None,
                "has_more": False,
            },
        }

    async def test_filtered_pages_count_only_matches(self, big: Api, inventory: list[str]) -> None:
        externals = inventory_externals(inventory)

        data = await page_of(big, "/phone-numbers/trunks", page=2, per_page=100)
        by_source = await page_of(big, source="external", page=3, per_page=100)

        assert [i["number"] for i in data["items"]] == externals[100:200]
        assert data["pagination"] == pagination(2, 100, ROWS // EXTERNAL_EVERY, 100)
        assert [i["number"] for i in by_source["items"]] == externals[200:]
        assert by_source["pagination"] == pagination(3, 100, ROWS // EXTERNAL_EVERY, 50)
        assert all(i["trunks"][0]["channel"] == "call" for i in data["items"])
        assert all(i["bindings"]["call"]["bound"] for i in data["items"])

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"per_page": "0"}, "per_page", "Input should be greater than or equal to 1"),
            ({"per_page": "201"}, "per_page", "Input should be less than or equal to 200"),
            ({"page": "0"}, "page", "Input should be greater than or equal to 1"),
            (
                {"page": "x"},
                "page",
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ],
    )
    @pytest.mark.parametrize("path", ["/phone-numbers", "/phone-numbers/trunks"])
    async def test_out_of_range_parameters_are_422(
        self, api: Api, path: str, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get(path, params=params)

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message}.",
            field=field,
            fields=[{"field": field, "message": message}],
        )


def inventory_externals(inventory: list[str]) -> list[str]:
    return [n for n in inventory if (int(n[5:]) - 2_000_000) % EXTERNAL_EVERY == 0]


class TestListCost:
    @pytest.mark.parametrize("path", ["/phone-numbers", "/phone-numbers/trunks"])
    async def test_a_page_of_200_costs_the_statements_of_a_page_of_2(
        self, big: Api, inventory: list[str], path: str
    ) -> None:
        await page_of(big, path)  # warm-up: the token lookup may be cached afterwards
        with statements() as few:
            small = await page_of(big, path, per_page=2)  # holds an external number
        with statements() as many:
            large = await page_of(big, path, per_page=200)

        assert any(i["is_external"] for i in small["items"])
        assert len(large["items"]) == 200
        assert len(many) == len(few), many
        # count, page, holdings of the page (one UNION), trunks of the page (+ a token lookup)
        assert len(many) <= 5, many


class TestDeepPages:
    """From ``DEEP_OFFSET`` on, a page in the second half of the list is picked walking from the
    end (kit.pagination.page_of): the same rows, in list order, as the walk from the start.
    The threshold is lowered here so the module's 1,000 numbers have deep pages."""

    @pytest.fixture(autouse=True)
    def shallow_threshold(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pagination_module, "DEEP_OFFSET", 100)

    @pytest.mark.parametrize(
        ("path", "params", "keep"),
        [
            # the total from phone_number_tally
            ("/phone-numbers", {}, lambda i: True),
            ("/phone-numbers", {"source": "external"}, lambda i: i % EXTERNAL_EVERY == 0),
            # the total counted: a filter the tally does not know
            ("/phone-numbers", {"number": "14152000"}, lambda i: i < 1_000),
            ("/phone-numbers", {"number": "141520001"}, lambda i: 100 <= i < 200),
            ("/phone-numbers/trunks", {}, lambda i: i % EXTERNAL_EVERY == 0),
        ],
    )
    async def test_every_page_of_13_sees_each_number_once_in_order(
        self,
        big: Api,
        inventory: list[str],
        path: str,
        params: dict[str, Any],
        keep: Any,
    ) -> None:
        # keep(i) of the i-th number made (+1415 2000000+i), whatever its place in list order
        expected = [n for n in inventory if keep(int(n[-7:]) - 2_000_000)]
        last_page = -(-len(expected) // 13)
        seen: list[str] = []
        for page in range(1, last_page + 2):  # one page past the end
            data = await page_of(big, path, page=page, per_page=13, **params)
            items = expected[(page - 1) * 13 : page * 13]
            assert data["pagination"] == pagination(page, 13, len(expected), len(items))
            seen += [i["number"] for i in data["items"]]
        assert seen == expected

    async def test_only_pages_nearer_the_end_walk_from_it(self, big: Api) -> None:
        def pick(seen: list[str]) -> str:
            found = [s for s in seen if "FROM phone_number" in s and " IN (SELECT " in s]
            assert len(found) == 1, seen
            return " ".join(found[0].split()).partition(" IN (SELECT ")[2]

        walks = {}
        for page in (2, 40, 76, 77):  # offsets 13, 507 (past the middle), 975, 988
            with statements() as seen:
                data = await page_of(big, page=page, per_page=13)
            assert data["pagination"]["total"] == ROWS
            walks[page] = pick(seen)
        assert "DESC" not in walks[2]  # below DEEP_OFFSET: the plain walk
        # past DEEP_OFFSET and nearer the end: the order reversed, the offset from the end
        assert "DESC" in walks[40] and "DESC" in walks[76] and "DESC" in walks[77]

    async def test_a_deep_page_in_the_first_half_walks_from_the_start(self, big: Api) -> None:
        with statements() as seen:
            data = await page_of(big, page=20, per_page=13)  # offset 247 of 1,000
        assert len(data["items"]) == 13
        picks = [s for s in seen if "FROM phone_number" in s and " IN (SELECT " in s]
        assert len(picks) == 1 and "DESC" not in picks[0], seen

    async def test_a_deep_page_past_the_end_reads_no_rows(self, big: Api) -> None:
        with statements() as seen:
            data = await page_of(big, page=1_000, per_page=13)
        assert data["items"] == [] and data["pagination"]["total"] == ROWS
        assert not [s for s in seen if " IN (SELECT " in s], seen


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (PhoneNumber.created_at, "phone_number.created_at DESC"),
        (PhoneNumber.created_at.asc(), "phone_number.created_at DESC"),
        (PhoneNumber.created_at.desc(), "phone_number.created_at ASC"),
    ],
)
def test_reversing_an_order_column(column: Any, expected: str) -> None:
    assert str(pagination_module._reverse(column)) == expected
