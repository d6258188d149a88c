"""A thin API client for tests: the bearer token, and factories that create real rows."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

# Numbers are unique per test session (each test also has its own workspace, so a repeat across
# runs on a reused PostgreSQL database cannot collide either).
_counter = itertools.count(uuid.uuid4().int % 1_000_000)


def unique_us_number() -> str:
    """A valid, unique US E.164 number (San Francisco area code, exchanges 200-999)."""
    return f"+1415{2_000_000 + next(_counter) % 7_999_999:07d}"


class Api:
    def __init__(self, http: httpx.AsyncClient, token: str, slug: str) -> None:
        self.http = http
        self.token = token
        self.slug = slug
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("POST", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("PATCH", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("PUT", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kw)

    # factories -------------------------------------------------------------------------------

    async def agent(self, name: str = "Agent", **extra: Any) -> dict[str, Any]:
        r = await self.post("/agents", {"name": name, **extra})
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])

    async def trunk(
        self, agent_uuid: str, number: str | None = None, channel: str = "call", **extra: Any
    ) -> dict[str, Any]:
        body = {
            "phone_number": number or unique_us_number(),
            "agent_uuid": agent_uuid,
            "channel": channel,
            **extra,
        }
        r = await self.post("/phone-numbers/trunks", body)
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])

    async def connection(self, **extra: Any) -> dict[str, Any]:
        body = {
            "name": "Main trunk",
            "phone_number": unique_us_number(),
            "gateway": "sip.example.com",
            "username": "user-1",
            "password": "pw-1",
            **extra,
        }
        r = await self.post("/channels/sip-trunk/connections", body)
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])
