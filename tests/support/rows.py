"""Rows created straight in the database, for states no endpoint of the test's scope creates
(purchased numbers come from the provider purchase flow; tests here must not depend on it)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import unique_us_number
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow
from trunkline.kit.e164 import parse_e164
from trunkline.models import PhoneNumber, Workspace
from trunkline.phone_number.rules import default_channel_settings

VOICE_AND_SMS = {
    "voice": True,
    "sms": True,
    "mms": False,
    "fax": False,
    "emergency": True,
    "local_calling": True,
}


async def workspace_id(sm: async_sessionmaker[AsyncSession], slug: str) -> uuid.UUID:
    async with sm() as session:
        found = await session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    assert found is not None, slug
    return found


async def purchased_number(
    sm: async_sessionmaker[AsyncSession],
    workspace_slug: str,
    number: str | None = None,
    *,
    capabilities: dict[str, bool] | None = None,
    status: str = "active",
) -> PhoneNumber:
    """An owned purchased number (voice + SMS capable unless ``capabilities`` says otherwise)."""
    e164 = number or unique_us_number()
    info = parse_e164(e164)
    assert info is not None, e164
    now = utcnow()
    row = PhoneNumber(
        id=uuid.uuid4(),
        workspace_id=await workspace_id(sm, workspace_slug),
        number=info.e164,
        country_code=info.country_code,
        location=None,
        type=info.type,
        source="purchased",
        status=status,
        capabilities={**VOICE_AND_SMS, **(capabilities or {})},
        channel_settings=default_channel_settings(info.country_code),
        monthly_fee=Decimal("1.00"),
        currency="USD",
        compliance={"status": "approved", "requirements": []},
        purchased_at=now,
        released_at=now if status == "released" else None,
        created_at=now,
        updated_at=now,
    )
    async with session_scope(sm) as session:
        session.add(row)
    return row


async def set_columns(
    sm: async_sessionmaker[AsyncSession], model: Any, row_id: str | uuid.UUID, **values: Any
) -> None:
    """Force a state no endpoint sets (e.g. a status the monitor would write)."""
    async with session_scope(sm) as session:
        await session.execute(
            update(model).where(model.id == uuid.UUID(str(row_id))).values(**values)
        )


async def get_row(sm: async_sessionmaker[AsyncSession], model: Any, row_id: str | uuid.UUID) -> Any:
    async with sm() as session:
        return await session.get(model, uuid.UUID(str(row_id)))
