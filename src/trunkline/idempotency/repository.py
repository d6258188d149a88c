"""Queries of the idempotency_key table, one statement each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.idempotency.rules import StoredKey
from trunkline.models import IdempotencyKey


@dataclass(frozen=True)
class StoredAnswer:
    key: StoredKey
    content_type: str | None
    body: str | None


async def get(session: AsyncSession, workspace_id: uuid.UUID, key: str) -> StoredAnswer | None:
    # Columns, not the entity: nothing enters the identity map, so an expired row deleted by
    # purge_expired and claimed again in the same transaction cannot clash with a stale object.
    row = (
        await session.execute(
            select(
                IdempotencyKey.request_hash,
                IdempotencyKey.status_code,
                IdempotencyKey.created_at,
                IdempotencyKey.content_type,
                IdempotencyKey.body,
            ).where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredAnswer(
        StoredKey(row.request_hash, row.status_code, row.created_at), row.content_type, row.body
    )


async def purge_expired(session: AsyncSession, workspace_id: uuid.UUID, until: datetime) -> None:
    """Delete the workspace's keys created at or before ``until`` (expired: rules.decide)."""
    await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.created_at <= until)
        .execution_options(synchronize_session=False)
    )


async def claim(
    session: AsyncSession, workspace_id: uuid.UUID, key: str, request_hash: str, now: datetime
) -> None:
    """Insert the in-progress row; the primary key makes a concurrent claim fail."""
    session.add(
        IdempotencyKey(
            workspace_id=workspace_id, key=key, request_hash=request_hash, created_at=now
        )
    )
    await session.flush()


async def complete(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    key: str,
    status_code: int,
    content_type: str | None,
    body: str,
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
        .values(status_code=status_code, content_type=content_type, body=body)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, workspace_id: uuid.UUID, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
        .execution_options(synchronize_session=False)
    )
