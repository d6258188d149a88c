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


def sandbox_number(i: int | None = None) -> str:
    """A US local number of the sandbox provider's catalogue (+1 201 555 XXXX)."""
    return f"+1201555{(next(_counter) if i is None else i) % 10_000:04d}"


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

    async def assign_connection(
        self, agent_uuid: str, connection_uuid: str, force: bool = False
    ) -> dict[str, Any]:
        r = await self.post(
            f"/agents/{agent_uuid}/channels/call/sip-trunk",
            {"connection_uuid": connection_uuid, "force": force},
        )
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    async def pbx_connector(
        self, agent_uuid: str, number: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "agent_uuid": agent_uuid,
            "phone_number": number or unique_us_number(),
            "registrar_server": "pbx.example.com",
            "username_extension": "201",
            "pbx_password": "ext-secret",
            **extra,
        }
        r = await self.post("/pbx_extension_connectors", body)
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])

    async def buy(
        self, number: str | None = None, country_code: str = "US", type: str = "local", **extra: Any
    ) -> dict[str, Any]:
        """Buy a number from the sandbox provider (default: a US local one)."""
        body = {
            "number": number or sandbox_number(),
            "country_code": country_code,
            "type": type,
            **extra,
        }
        r = await self.post("/phone-numbers", body)
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])


def error_body(
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: str | None = None,
    fields: list[dict[str, Any]] | None = None,
    **data: Any,
) -> dict[str, Any]:
    """The whole error envelope of docs/api-decisions.md §2.1 and §6.1, for ``assert r.json() ==
    error_body(...)``: ``code`` is the snake_case code, shown UPPER_SNAKE in ``error.code`` and as
    is in ``data.error``; ``details`` defaults to the ``fields`` as one line, else the message;
    ``field`` to the first of ``fields`` (or "")."""
    problems = fields or []
    summary = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems)
    return {
        "success": False,
        "message": message,
        "error": {
            "code": code.upper(),
            "details": details if details is not None else (summary or message),
            "field": field if field is not None else (problems[0]["field"] if problems else ""),
            "fields": problems,
        },
        "data": {"error": code, **data},
    }


async def purchased_number(sessionmaker: Any, slug: str, number: str) -> uuid.UUID:
    """Insert an active purchased number into workspace ``slug`` directly (no provider needed)."""
    from sqlalchemy import select

    from trunkline.db import session_scope
    from trunkline.kit.e164 import parse_e164
    from trunkline.models import PhoneNumber, Workspace
    from trunkline.phone_number.rules import default_channel_settings

    info = parse_e164(number)
    assert info is not None, number
    async with session_scope(sessionmaker) as session:
        workspace_id = await session.scalar(select(Workspace.id).where(Workspace.slug == slug))
        assert workspace_id is not None
        row = PhoneNumber(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            number=info.e164,
            country_code=info.country_code,
            location=None,
            type=info.type,
            source="purchased",
            status="active",
            capabilities={
                "voice": True,
                "sms": True,
                "mms": False,
                "fax": False,
                "emergency": True,
                "local_calling": True,
            },
            channel_settings=default_channel_settings(info.country_code),
            monthly_fee=None,
            currency="USD",
            compliance={"status": "not_required", "requirements": []},
        )
        session.add(row)
    return row.id


NO_SETTINGS = {"voice": {}, "text": {}, "memorize": {}, "evaluation": {}}


def agent_object(
    name: str,
    *,
    status: str = "active",
    stream_url: str | None = None,
    has_stream_auth_token: bool = False,
    channels: dict[str, Any] | None = None,
    agent_uuid: Any = None,
    **profile: Any,
) -> dict[str, Any]:
    """The whole agent (docs/api-decisions.md §6.3) with the defaults of a new one."""
    from unittest.mock import ANY

    return {
        "agent_uuid": ANY if agent_uuid is None else agent_uuid,
        "name": name,
        "description": profile.pop("description", ""),
        "language": profile.pop("language", "en"),
        "timezone": profile.pop("timezone", "UTC"),
        "status": status,
        "settings": {**NO_SETTINGS, **profile.pop("settings", {})},
        "stream_url": stream_url,
        "has_stream_auth_token": has_stream_auth_token,
        "channels": {"call": [], "sms": [], "whatsapp": [], **(channels or {})},
        "created_at": ANY,
        "updated_at": ANY,
        **profile,
    }
