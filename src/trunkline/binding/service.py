"""The one service every domain uses to bind and unbind (number, channel) → agent."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding import repository as repo
from trunkline.binding.repository import NumberAndAgent
from trunkline.binding.rules import Channel, Holding, Via
from trunkline.db import lock_keys, lock_workspace
from trunkline.errors import AgentChannelBusy, AgentNotFound, NumberAlreadyBound
from trunkline.kit.clock import utcnow
from trunkline.models import Binding, Trunk


class BindingService:
    async def holdings_for_number(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        e164: str,
        channel: Channel | None = None,
    ) -> list[Holding]:
        """Every agent answering ``e164`` (on ``channel``, or on all), by any means."""
        return await repo.holdings_for_number(session, workspace_id, e164, channel)

    async def holdings_for_numbers(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        numbers: Collection[str],
        channel: Channel | None = None,
    ) -> dict[str, list[Holding]]:
        """Every agent answering each of ``numbers`` (on ``channel``, or on all), keyed by
        number, in a batch read."""
        return await repo.holdings_for_numbers(session, workspace_id, numbers, channel)

    async def holdings_for_agent(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, channel: Channel
    ) -> list[Holding]:
        """Every number ``agent_id`` answers on ``channel``, by any means."""
        return await repo.holdings_for_agent(session, workspace_id, agent_id, channel)

    async def holdings_for_agents(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Holding]]:
        """Every number each of ``agent_ids`` answers, on every channel and by any means, keyed
        by agent, in one read."""
        return await repo.holdings_for_agents(session, workspace_id, agent_ids)

    async def count_for_agent(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
    ) -> int:
        """How many holdings ``agent_id`` has, on every channel and by any means."""
        return await repo.count_for_agent(session, workspace_id, agent_id)

    async def trunks_for_number(
        self, session: AsyncSession, phone_number_id: uuid.UUID
    ) -> list[Trunk]:
        """The external trunk rows of one number (call before whatsapp), in a key read."""
        return await repo.trunks_for_number(session, phone_number_id)

    async def trunks_for_numbers(
        self, session: AsyncSession, phone_number_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Row[Any]]]:
        """The external trunk rows of each number (Core rows with the model's column names; call
        before whatsapp), in one read."""
        return await repo.trunks_for_numbers(session, phone_number_ids)

    async def number_and_agent(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        e164: str,
        agent_id: uuid.UUID,
        channel: Channel,
    ) -> NumberAndAgent:
        """In one query, what a check-then-bind of (``e164``, ``channel``) → agent reads: the id of
        the workspace's row for ``e164`` (None if none), every holding of ``e164`` on every
        channel, and the agent's name and holdings on ``channel``; ``AgentNotFound`` when the
        workspace has no such agent."""
        found = await repo.number_and_agent(session, workspace_id, e164, agent_id, channel)
        if found is None:
            raise AgentNotFound(field="agent_uuid")
        return found

    async def agent_name(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
    ) -> str:
        """The name of the workspace's agent ``agent_id`` (the holder every holding names), or
        ``AgentNotFound``: what domains that attach things to agents check first."""
        name = await repo.agent_name(session, agent_id, workspace_id)
        if name is None:
            raise AgentNotFound(field="agent_uuid")
        return name

    async def bind(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        phone_number_id: uuid.UUID,
        agent_id: uuid.UUID,
        channel: Channel,
        via: Via,
    ) -> Binding:
        """Insert the binding row; the unique constraints decide races and name the loser's 409."""
        binding = Binding(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            phone_number_id=phone_number_id,
            agent_id=agent_id,
            channel=channel.value,
            kind=via.value,
            created_at=utcnow(),
        )
        if await repo.try_insert_binding(session, binding):
            return binding
        holder = await repo.get_binding(session, phone_number_id, channel)
        if holder is not None:
            # Name the holder as fully as the pre-checks do (agent, name, how it is bound).
            raise NumberAlreadyBound(
                field="phone_number",
                data={
                    "agent_uuid": str(holder.agent_id),
                    "agent_name": await repo.agent_name(session, holder.agent_id),
                    "bound_via": holder.kind,
                },
            )
        raise AgentChannelBusy(field="agent_uuid")

    async def unbind(
        self, session: AsyncSession, phone_number_id: uuid.UUID, channel: Channel
    ) -> None:
        """Remove the binding row of (number, channel), if any."""
        await repo.delete_binding(session, phone_number_id, channel)

    async def unbind_agent(
        self, session: AsyncSession, agent_id: uuid.UUID, channel: Channel | None = None
    ) -> int:
        """Remove the agent's binding rows on ``channel`` (or all); returns how many."""
        return await repo.delete_agent_bindings(session, agent_id, channel)

    async def lock(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        *,
        numbers: Iterable[str] = (),
        agents: Iterable[uuid.UUID] = (),
    ) -> None:
        """Queue this transaction behind others that check-then-write the same numbers or agents.

        Call it before reading holdings for a check that spans tables: a holding can be a
        binding row, a connection assignment or a PBX connector, so no one unique constraint
        decides every race. ``numbers`` are compared keys (E.164, or a connection's verbatim
        number); ``agents`` cover every channel. PostgreSQL takes transaction-scoped advisory
        locks on exactly these keys, so unrelated registrations of one workspace run in
        parallel; SQLite serializes writers anyway and only needs its write transaction to
        start before the reads. Without keys, the whole workspace is locked.
        """
        keys = [f"{workspace_id}:number:{n}" for n in numbers]
        keys += [f"{workspace_id}:agent:{a}" for a in agents]
        if not keys:
            await lock_workspace(session, workspace_id)
        else:
            await lock_keys(session, keys)


binding_service = BindingService()
