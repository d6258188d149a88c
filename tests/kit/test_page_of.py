"""kit.pagination.page_of, the one page-plus-count of every list: the page's keys are picked by
the filter and the order alone (a deferred join), the filter is not repeated around them, and
the total is asked only when the page cannot tell it. Checked through real lists."""

from __future__ import annotations

import re

from tests.support.api import Api
from tests.support.sql import statements


def page_statement(seen: list[str], table: str) -> str:
    """The statement that read the page's rows of ``table`` (the one with the deferred join)."""
    found = [s for s in seen if re.search(rf"FROM {table}\b", s) and " IN (SELECT " in s]
    assert len(found) == 1, seen
    return " ".join(found[0].split())


class TestDeferredJoin:
    async def test_the_filter_is_inside_the_key_pick_only(self, api: Api) -> None:
        for i in range(3):
            await api.agent(f"a{i}")
        with statements() as seen:
            r = await api.get("/agents", params={"per_page": 2, "page": 2})
        assert r.status_code == 200
        sql = page_statement(seen, "agent")
        outer, _, inner = sql.partition(" IN (SELECT ")
        # The outer statement reads rows by key; the workspace filter, ORDER BY, LIMIT and
        # OFFSET pick the keys inside. (The outer statement's own WHERE is its last one: the
        # total from the tally may ride on it as a scalar subquery with a WHERE of its own.)
        assert outer.rsplit(" WHERE ", 1)[1] == "agent.id"
        assert "workspace_id" in inner and "LIMIT" in inner and "OFFSET" in inner

    async def test_pages_walk_the_list_in_order_without_gaps(self, api: Api) -> None:
        made = [(await api.agent(f"a{i}"))["agent_uuid"] for i in range(7)]
        seen: list[str] = []
        for page in range(1, 5):
            r = await api.get("/agents", params={"per_page": 2, "page": page})
            body = r.json()["data"]
            seen += [a["agent_uuid"] for a in body["items"]]
            assert body["pagination"]["total"] == 7
        assert seen == made


class TestTotal:
    async def test_a_partial_page_tells_the_total_without_a_count(self, api: Api) -> None:
        for _ in range(3):
            await api.connection()
        with statements() as seen:
            r = await api.get("/channels/sip-trunk/connections", params={"per_page": 50})
        assert r.json()["data"]["pagination"]["total"] == 3
        assert not [s for s in seen if "count(" in s.lower()], seen

    async def test_a_full_first_page_carries_the_tally_total(self, api: Api) -> None:
        """A list with a tally (kit.pagination.Pager's ``total``) reads a full first page and
        its total in one statement: no second round trip for the tally."""
        for i in range(3):
            await api.agent(f"a{i}")
        with statements() as seen:
            r = await api.get("/agents", params={"per_page": 2})
        assert r.json()["data"]["pagination"]["total"] == 3
        assert len(r.json()["data"]["items"]) == 2
        tallies = [" ".join(s.split()) for s in seen if "agent_tally" in s]
        assert tallies == [page_statement(seen, "agent")], seen

    async def test_a_full_page_counts_the_same_filter(self, api: Api) -> None:
        for _ in range(3):
            await api.connection()
        with statements() as seen:
            r = await api.get("/channels/sip-trunk/connections", params={"per_page": 2})
        assert r.json()["data"]["pagination"]["total"] == 3
        counts = [s for s in seen if "count(" in s.lower()]
        assert len(counts) == 1 and "sip_connection.workspace_id" in counts[0], seen
