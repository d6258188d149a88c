"""The key-read lane (``trunkline.lane``, ``phone_number.router.LANE``) answers exactly what the
FastAPI routes answer: status, headers and body bytes (key order included), for a table of
numbers (external with one and two trunks, purchased unbound and bound by each means, released)
and errors; and it leaves every request it cannot answer that way to the FastAPI routes.

Three apps on the test database, in this process: ``routes`` without the lane (the documented
path), ``lane`` with only the lane's routes (a request it does not take is a plain 404 there),
and the app as shipped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.api import Api, purchased_number, unique_us_number
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.lane import LaneRoute
from trunkline.workspace.service import workspace_service

Apps = dict[str, httpx.AsyncClient]


@pytest.fixture
async def apps(settings: Settings) -> AsyncIterator[Apps]:
    built = {name: create_app(settings) for name in ("routes", "lane", "shipped")}
    routes = built["routes"].router.routes
    routes[:] = [r for r in routes if not isinstance(r, LaneRoute)]
    lane = built["lane"].router.routes
    lane[:] = [r for r in lane if isinstance(r, LaneRoute)]
    clients: Apps = {}
    contexts = [app.router.lifespan_context(app) for app in built.values()]
    for context in contexts:
        await context.__aenter__()
    try:
        for name, app in built.items():
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            clients[name] = httpx.AsyncClient(transport=transport, base_url="http://test")
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)


async def cache_token(sessionmaker: async_sessionmaker[AsyncSession], token: str) -> None:
    """Put the token in the process's token cache (for its 0.5 s), as a request through the
    FastAPI route does: the lane takes only cached tokens. Emptied first: an entry already
    cached may be about to expire."""
    workspace_service.auth_cache.clear()
    async with session_scope(sessionmaker) as session:
        await workspace_service.authenticate(session, token)


def answer(r: httpx.Response) -> tuple[int, str | None, str | None, bytes]:
    return r.status_code, r.headers.get("content-type"), r.headers.get("content-length"), r.content


async def both(
    apps: Apps, sessionmaker: async_sessionmaker[AsyncSession], token: str, url: str
) -> tuple[httpx.Response, httpx.Response]:
    """The FastAPI route's answer and the lane's, the token cached before each."""
    headers = {"Authorization": f"Bearer {token}"}
    routes = await apps["routes"].get(url, headers=headers)
    await cache_token(sessionmaker, token)
    lane = await apps["lane"].get(url, headers=headers)
    return routes, lane


async def numbers_table(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Numbers of every kind the two reads show; returns their E.164 forms."""
    agents = [await api.agent(name) for name in ("Voice", "Ünïcode — Agent", "C", "D", "E", "F")]
    one_trunk = await api.trunk(agents[0]["agent_uuid"])
    two = unique_us_number()
    await api.trunk(agents[1]["agent_uuid"], two, direction="outbound")
    await api.trunk(agents[2]["agent_uuid"], two, channel="whatsapp")
    plain, provisioned, by_connection, by_pbx, released = (unique_us_number() for _ in range(5))
    ids = {n: await purchased_number(sessionmaker, api.slug, n) for n in (plain, provisioned)}
    for n in (by_connection, by_pbx, released):
        ids[n] = await purchased_number(sessionmaker, api.slug, n)
    for agent, path in ((agents[3], "call/provision"), (agents[1], "sms")):
        r = await api.post(
            f"/agents/{agent['agent_uuid']}/channels/{path}",
            {"phone_number_uuid": str(ids[provisioned])},
        )
        assert r.status_code == 200, r.text
    connection = await api.connection(phone_number=by_connection)
    await api.assign_connection(agents[4]["agent_uuid"], connection["uuid"])
    await api.pbx_connector(agents[5]["agent_uuid"], by_pbx)
    r = await api.delete(f"/phone-numbers/{ids[released]}")
    assert r.status_code == 200, r.text
    return [one_trunk["number"], two, plain, provisioned, by_connection, by_pbx, released]


class TestSameAnswers:
    async def test_every_kind_of_number_by_number_and_by_id(
        self, api: Api, apps: Apps, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        numbers = await numbers_table(api, sessionmaker)
        for number in numbers:
            for form in (number.replace("+", "%2B"), number[1:], f"%20{number[1:]}"):
                routes, lane = await both(
                    apps, sessionmaker, api.token, f"/api/v1/phone-numbers/channels?number={form}"
                )
                assert routes.status_code == 200, routes.text
                assert answer(lane) == answer(routes), (form, lane.text)
            snap = routes.json()["data"]
            for shape in (str, lambda s: str(s).upper()):
                url = f"/api/v1/phone-numbers/{shape(snap['phone_number_uuid'])}"
                routes, lane = await both(apps, sessionmaker, api.token, url)
                assert routes.status_code == 200, routes.text
                assert answer(lane) == answer(routes), url

    async def test_the_table_covers_every_kind(
        self, api: Api, apps: Apps, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        """The cases above are what they claim: each holding kind and state shows."""
        numbers = await numbers_table(api, sessionmaker)
        seen = []
        for number in numbers:
            _, lane = await both(
                apps, sessionmaker, api.token, f"/api/v1/phone-numbers/channels?number={number[1:]}"
            )
            data = lane.json()["data"]
            item = (
                await apps["lane"].get(
                    f"/api/v1/phone-numbers/{data['phone_number_uuid']}", headers=api.headers
                )
            ).json()["data"]
            channels = data["channels"]
            seen.append(
                (
                    data["source"],
                    item["status"],
                    len(item["trunks"] or []),
                    tuple(ch for ch in ("call", "sms", "whatsapp") if channels[ch]["bound"]),
                )
            )
        assert seen == [
            ("external", "active", 1, ("call",)),
            ("external", "active", 2, ("call", "whatsapp")),
            ("purchased", "active", 0, ()),
            ("purchased", "active", 0, ("call", "sms")),
            ("purchased", "active", 0, ("call",)),
            ("purchased", "active", 0, ("call",)),
            ("purchased", "released", 0, ()),
        ]

    async def test_not_found_is_the_same_envelope(
        self, api: Api, apps: Apps, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        for url in (
            f"/api/v1/phone-numbers/{uuid.uuid4()}",
            "/api/v1/phone-numbers/channels?number=%2B14155550100",
            "/api/v1/phone-numbers/channels?number=not-a-number",
        ):
            routes, lane = await both(apps, sessionmaker, api.token, url)
            assert routes.status_code == 404
            assert answer(lane) == answer(routes), url

    async def test_another_workspaces_number_is_not_found(
        self,
        api: Api,
        other_api: Api,
        apps: Apps,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        agent = await api.agent()
        created = await api.trunk(agent["agent_uuid"])
        for url in (
            f"/api/v1/phone-numbers/{created['phone_number_uuid']}",
            f"/api/v1/phone-numbers/channels?number={created['number'][1:]}",
        ):
            routes, lane = await both(apps, sessionmaker, other_api.token, url)
            assert routes.status_code == 404
            assert answer(lane) == answer(routes), url


class TestLeftToTheRoutes:
    """What the lane does not take: the shipped app answers it through the FastAPI route."""

    CASES = [
        ("no token", "/api/v1/phone-numbers/{id}", None),
        ("not a bearer", "/api/v1/phone-numbers/{id}", "Basic {token}"),
        ("unknown token", "/api/v1/phone-numbers/{id}", "Bearer tl_unknown"),
        ("uuid without dashes", "/api/v1/phone-numbers/{hex}", "Bearer {token}"),
        ("uuid in braces", "/api/v1/phone-numbers/%7B{id}%7D", "Bearer {token}"),
        ("not a uuid", "/api/v1/phone-numbers/nope", "Bearer {token}"),
        ("trailing slash", "/api/v1/phone-numbers/{id}/", "Bearer {token}"),
        ("no number", "/api/v1/phone-numbers/channels", "Bearer {token}"),
        ("empty number", "/api/v1/phone-numbers/channels?number=", "Bearer {token}"),
        ("number too long", "/api/v1/phone-numbers/channels?number=" + "1" * 33, "Bearer {token}"),
    ]

    @pytest.mark.parametrize(("case", "path", "authorization"), CASES, ids=[c[0] for c in CASES])
    async def test_answered_by_the_route(
        self,
        case: str,
        path: str,
        authorization: str | None,
        api: Api,
        apps: Apps,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        agent = await api.agent()
        created = await api.trunk(agent["agent_uuid"])
        pid = uuid.UUID(created["phone_number_uuid"])
        url = path.format(id=pid, hex=pid.hex)
        headers = {"Authorization": authorization.format(token=api.token)} if authorization else {}
        routes = await apps["routes"].get(url, headers=headers)
        await cache_token(sessionmaker, api.token)
        lane = await apps["lane"].get(url, headers=headers)
        await cache_token(sessionmaker, api.token)
        shipped = await apps["shipped"].get(url, headers=headers)

        assert lane.status_code == 404 and lane.json()["data"] == {"error": "not_found"}
        assert answer(shipped) == answer(routes)

    async def test_a_token_without_the_admin_scope(
        self, apps: Apps, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, token = await new_workspace(sessionmaker, scopes=["media"])
        url = f"/api/v1/phone-numbers/{uuid.uuid4()}"
        headers = {"Authorization": f"Bearer {token}"}
        await cache_token(sessionmaker, token)
        lane = await apps["lane"].get(url, headers=headers)
        shipped = await apps["shipped"].get(url, headers=headers)

        assert lane.status_code == 404 and lane.json()["data"] == {"error": "not_found"}
        assert shipped.status_code == 403
        assert shipped.json()["data"] == {"error": "insufficient_scope"}

    async def test_a_revoked_token_is_refused_at_once(
        self, api: Api, apps: Apps, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        url = f"/api/v1/phone-numbers/{uuid.uuid4()}"
        await cache_token(sessionmaker, api.token)
        assert (await apps["shipped"].get(url, headers=api.headers)).status_code == 404
        async with session_scope(sessionmaker) as session:
            await workspace_service.revoke_token(session, api.token)

        r = await apps["shipped"].get(url, headers=api.headers)

        assert r.status_code == 401
        assert r.json()["data"] == {"error": "invalid_auth_token"}


def test_the_lane_is_first_and_the_routes_stay_documented(settings: Settings) -> None:
    """The lane's routes come before every FastAPI route; the FastAPI routes of the two GETs are
    still what the OpenAPI document shows."""
    app = create_app(settings)
    kinds = [isinstance(r, LaneRoute) for r in app.router.routes]
    assert kinds[:2] == [True, True] and not any(kinds[2:])
    paths = app.openapi()["paths"]
    by_number = paths["/api/v1/phone-numbers/channels"]["get"]
    by_id = paths["/api/v1/phone-numbers/{phone_number_uuid}"]["get"]
    assert by_number["operationId"].startswith("get_channels_by_number")
    assert by_id["operationId"].startswith("get_number")
