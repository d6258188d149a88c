"""Fast seeding through SQLAlchemy Core bulk inserts (executemany), in the harness process.

Trunkline rows look like what the API writes: each seeded number is an external number with a
``call`` trunk row (SIP credentials sealed with the server's key), a binding, and its own agent
(an agent serves one number per channel). Spare agents feed ``POST /phone-numbers/trunks``.
The baseline gets its own token row and as many items as Trunkline has numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import baseline_app
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.e164 import parse_e164
from trunkline.models import Agent, Binding, PhoneNumber, Trunk, Workspace
from trunkline.phone_number.rules import (
    EXTERNAL_CAPABILITIES,
    apply_call_direction,
    default_channel_settings,
)

CHUNK = 5_000
SEEDED_BASE = 2_000_000  # seeded numbers: +1415 2000000 + i
POST_BASE = 5_000_000  # numbers for POST /phone-numbers/trunks: +1415 5000000 + i


def seeded_number(i: int) -> str:
    return f"+1415{SEEDED_BASE + i:07d}"


def post_number(i: int) -> str:
    return f"+1415{POST_BASE + i:07d}"


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def workspace_id(engine: AsyncEngine, slug: str) -> uuid.UUID:
    async with engine.connect() as conn:
        value = (await conn.execute(select(Workspace.id).where(Workspace.slug == slug))).scalar()
    assert value is not None, f"workspace {slug} missing"
    return value


async def seed_trunkline(
    engine: AsyncEngine, ws: uuid.UUID, box: SecretBox, numbers: int, spare_agents: int
) -> tuple[list[str], list[str]]:
    """Seed ``numbers`` external numbers with call trunks; returns the spare agents' uuids and
    the seeded numbers' uuids."""
    info = parse_e164(seeded_number(0))
    assert info is not None
    settings = apply_call_direction(default_channel_settings(info.country_code), "both")
    base = datetime.now(UTC) - timedelta(days=1)
    agent_ids = [uuid.uuid4() for _ in range(numbers)]
    number_ids = [uuid.uuid4() for _ in range(numbers)]
    spare = [uuid.uuid4() for _ in range(spare_agents)]

    def agents() -> Iterator[dict[str, Any]]:
        for i, agent_id in enumerate(agent_ids + spare):
            at = base + timedelta(milliseconds=i)
            name = f"bench agent {i}"
            yield {"id": agent_id, "workspace_id": ws, "name": name, "status": "active",
                   "created_at": at, "updated_at": at}  # fmt: skip

    def phone_numbers() -> Iterator[dict[str, Any]]:
        for i, number_id in enumerate(number_ids):
            at = base + timedelta(milliseconds=i)
            yield {
                "id": number_id, "workspace_id": ws, "number": seeded_number(i),
                "country_code": info.country_code, "location": None, "type": info.type,
                "source": "external", "status": "active",
                "capabilities": {**EXTERNAL_CAPABILITIES, "voice": True},
                "channel_settings": settings, "monthly_fee": None, "currency": None,
                "compliance": {"status": "not_required", "requirements": []},
                "purchased_at": None, "released_at": None, "created_at": at, "updated_at": at,
            }  # fmt: skip

    def trunks() -> Iterator[dict[str, Any]]:
        for i, number_id in enumerate(number_ids):
            trunk_id = uuid.uuid4()
            at = base + timedelta(milliseconds=i)
            user = box.encrypt("bench-user", aad_for("trunk", "sip_username_secret", trunk_id))
            password = box.encrypt(
                f"bench-pass-{i}", aad_for("trunk", "sip_password_secret", trunk_id)
            )
            yield {
                "id": trunk_id, "workspace_id": ws, "phone_number_id": number_id,
                "channel": "call", "name": f"call_trunk_{seeded_number(i)[1:]}",
                "direction": "both", "sip_gateway": "127.0.0.1", "sip_port": 5060,
                "sip_secondary_gateway": None, "sip_transport": "udp",
                "sip_username_secret": user, "sip_password_secret": password,
                "additional_settings": {}, "status": "pending", "created_at": at,
                "updated_at": at,
            }  # fmt: skip

    def bindings() -> Iterator[dict[str, Any]]:
        for i, (number_id, agent_id) in enumerate(zip(number_ids, agent_ids, strict=True)):
            yield {"id": uuid.uuid4(), "workspace_id": ws, "phone_number_id": number_id,
                   "agent_id": agent_id, "channel": "call", "kind": "trunk",
                   "created_at": base + timedelta(milliseconds=i)}  # fmt: skip

    async with engine.begin() as conn:
        for model, rows in (
            (Agent, agents()),
            (PhoneNumber, phone_numbers()),
            (Trunk, trunks()),
            (Binding, bindings()),
        ):
            for batch in _chunks(rows):
                await conn.execute(insert(model), batch)
    return [str(a) for a in spare], [str(n) for n in number_ids]


async def seed_baseline(engine: AsyncEngine, ws: uuid.UUID, token: str, items: int) -> list[str]:
    """The baseline's tables, its token row and ``items`` rows; returns the keys."""
    keys = [f"seed-{i}" for i in range(items)]
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.run_sync(baseline_app.metadata.drop_all)
        await conn.run_sync(baseline_app.metadata.create_all)
        await conn.execute(
            insert(baseline_app.bench_token).values(
                id=uuid.uuid4(), workspace_id=ws, token_hash=baseline_app.hash_token(token)
            )
        )
        rows = (
            {"id": uuid.uuid4(), "workspace_id": ws, "key": k, "value": "seed", "created_at": now}
            for k in keys
        )
        for batch in _chunks(rows):
            await conn.execute(insert(baseline_app.bench_item), batch)
    return keys
