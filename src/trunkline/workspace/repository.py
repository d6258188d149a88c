"""Queries for workspaces and API tokens."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db import insert_ignoring_conflicts, key_read
from trunkline.kit.clock import utcnow
from trunkline.models import ApiToken, Workspace


async def get_workspace_by_slug(session: AsyncSession, slug: str) -> Workspace | None:
    result = await session.execute(select(Workspace).where(Workspace.slug == slug))
    return result.scalar_one_or_none()


async def ensure_workspace(session: AsyncSession, slug: str) -> Workspace:
    """Create the workspace unless it exists (safe against a concurrent create)."""
    await session.execute(
        insert_ignoring_conflicts(session, Workspace),
        {"id": uuid.uuid4(), "slug": slug, "created_at": utcnow()},
    )
    workspace = await get_workspace_by_slug(session, slug)
    assert workspace is not None
    return workspace


async def add_token(session: AsyncSession, token: ApiToken) -> None:
    session.add(token)
    await session.flush()


# The token with its workspace's currency: every request reads the token, and a list of numbers
# needs the currency (billing of external numbers), so one statement answers both.
_ACTIVE_TOKEN = key_read(
    select(ApiToken, Workspace.currency)
    .join(Workspace, Workspace.id == ApiToken.workspace_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


async def get_active_token(session: AsyncSession, token_hash: str) -> tuple[ApiToken, str] | None:
    """The live token with this hash and its workspace's currency."""
    row = (await session.execute(_ACTIVE_TOKEN, {"token_hash": token_hash})).one_or_none()
    return None if row is None else (row[0], row[1])


async def revoke_tokens(
    session: AsyncSession, *, token_hash: str | None, prefix: str | None
) -> int:
    stmt = update(ApiToken).where(ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    if token_hash is not None:
        stmt = stmt.where(ApiToken.token_hash == token_hash)
    elif prefix is not None:
        stmt = stmt.where(ApiToken.prefix == prefix)
    else:
        return 0
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def list_tokens(session: AsyncSession, workspace_id: uuid.UUID) -> list[ApiToken]:
    result = await session.execute(
        select(ApiToken).where(ApiToken.workspace_id == workspace_id).order_by(ApiToken.created_at)
    )
    return list(result.scalars())


async def list_workspaces(session: AsyncSession) -> list[Workspace]:
    result = await session.execute(select(Workspace).order_by(Workspace.slug))
    return list(result.scalars())


_CURRENCY = key_read(select(Workspace.currency).where(Workspace.id == bindparam("workspace_id")))


async def get_currency(session: AsyncSession, workspace_id: uuid.UUID) -> str | None:
    result = await session.execute(_CURRENCY, {"workspace_id": workspace_id})
    return result.scalar_one_or_none()


async def set_currency(session: AsyncSession, slug: str, currency: str) -> int:
    result = await session.execute(
        update(Workspace).where(Workspace.slug == slug).values(currency=currency)
    )
    return int(getattr(result, "rowcount", 0) or 0)
