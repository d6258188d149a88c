"""``db.insert_new``: one Core INSERT instead of the ORM's add + flush, for the creates that
answer with the row they built (agents, SIP connections). The row written, the instance the
request answers with, and what add + flush would have written must all agree."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_KEYRING, new_workspace
from trunkline.db import insert_new, session_scope
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import Agent, SipConnection, Workspace


def _columns(row: Any) -> dict[str, Any]:
    return {prop.key: getattr(row, prop.key) for prop in sa_inspect(type(row)).column_attrs}


async def _workspace_id(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    slug, _ = await new_workspace(sessionmaker)
    async with session_scope(sessionmaker) as session:
        found = (await session.execute(select(Workspace.id).where(Workspace.slug == slug))).scalar()
    assert found is not None
    return found


def _agent(workspace_id: uuid.UUID) -> Agent:
    return Agent(id=uuid.uuid4(), workspace_id=workspace_id, name="Inserted")


def _connection(workspace_id: uuid.UUID) -> SipConnection:
    # Sealed for real: other tests (keys rotate) read every secret of the shared database.
    box, connection_id = SecretBox.from_spec(TEST_KEYRING), uuid.uuid4()
    return SipConnection(
        id=connection_id,
        workspace_id=workspace_id,
        name="Inserted",
        phone_number="+14155550100",
        gateway="sip.example.com",
        username_secret=box.encrypt(
            "user", aad_for("sip_connection", "username_secret", connection_id)
        ),
        password_secret=box.encrypt(
            "pass", aad_for("sip_connection", "password_secret", connection_id)
        ),
    )


@pytest.mark.parametrize("build", [_agent, _connection], ids=["agent", "sip_connection"])
async def test_the_row_written_is_the_row_answered_and_what_a_flush_writes(
    sessionmaker: async_sessionmaker[AsyncSession], build: Any
) -> None:
    workspace_id = await _workspace_id(sessionmaker)
    inserted, flushed = build(workspace_id), build(workspace_id)
    async with session_scope(sessionmaker) as session:
        await insert_new(session, inserted)
    async with session_scope(sessionmaker) as session:
        session.add(flushed)
        await session.flush()

    answered = _columns(inserted)
    assert answered["created_at"] is not None and answered["updated_at"] is not None
    async with session_scope(sessionmaker) as session:
        stored = await session.get(type(inserted), inserted.id)
        assert stored is not None
        assert _columns(stored) == answered  # the answer is what was written
        again = await session.get(type(flushed), flushed.id)
        assert again is not None
        via_flush = _columns(again)
    # Ids, timestamps taken at write time (created_at, next_check_at…) and sealed secrets (a
    # fresh nonce, the row id in the AAD) differ between two rows by nature; both must be set.
    volatile = {"id"} | {
        k for k, v in via_flush.items() if isinstance(v, datetime) or k.endswith("_secret")
    }
    assert all(answered[k] is not None for k in volatile if via_flush[k] is not None)
    assert {k: v for k, v in answered.items() if k not in volatile} == {
        k: v for k, v in via_flush.items() if k not in volatile
    }


async def test_a_failed_request_leaves_no_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    workspace_id = await _workspace_id(sessionmaker)
    agent = _agent(workspace_id)
    with pytest.raises(RuntimeError):
        async with session_scope(sessionmaker) as session:
            await insert_new(session, agent)
            raise RuntimeError("the request fails after the insert")
    async with session_scope(sessionmaker) as session:
        assert await session.get(Agent, agent.id) is None
