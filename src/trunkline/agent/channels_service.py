"""An agent's channels (docs/api-decisions.md §4.5): bind owned numbers, unbind channels, list every
holding."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent.schemas import AgentChannelMap, AgentRead, ChannelBindingRead
from trunkline.agent.service import agent_service
from trunkline.agent.views import Bound, agent_json
from trunkline.binding.rules import (
    Action,
    Channel,
    Holding,
    NumberStatus,
    Source,
    Via,
    current_holder,
    decide_channel_bind,
)
from trunkline.binding.service import binding_service
from trunkline.errors import PhoneNumberNotFound
from trunkline.models import Agent, PhoneNumber
from trunkline.pbx_connector.service import pbx_connector_service
from trunkline.phone_number.service import phone_number_service
from trunkline.sip_connection.service import sip_connection_service


def _capable(number: PhoneNumber, channel: Channel) -> bool:
    """Purchased numbers carry what the provider sold: voice → call, sms → sms. WhatsApp has no
    provider capability flag, so any owned number may be bound on it."""
    caps = number.capabilities
    if channel is Channel.call:
        return bool(caps.get("voice"))
    if channel is Channel.sms:
        return bool(caps.get("sms"))
    return True


class AgentChannelsService:
    async def bind(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        agent_id: uuid.UUID,
        channel: Channel,
        phone_number_id: uuid.UUID,
    ) -> AgentRead:
        """Bind an owned active number to the agent on ``channel`` (see ``decide_channel_bind``)."""
        agent = await agent_service.get(session, workspace_id, agent_id)
        number = await phone_number_service.find(session, workspace_id, phone_number_id)
        if number is None or number.status != NumberStatus.active:
            raise PhoneNumberNotFound(field="phone_number_uuid")
        await binding_service.lock(
            session, workspace_id, numbers=[number.number], agents=[agent.id]
        )
        decision = decide_channel_bind(
            agent_id=agent.id,
            number=number.number,
            channel=channel,
            source=Source(number.source),
            capable=_capable(number, channel),
            number_holdings=await binding_service.holdings_for_number(
                session, workspace_id, number.number, channel
            ),
            agent_holdings=await binding_service.holdings_for_agent(
                session, workspace_id, agent.id, channel
            ),
        )
        if decision.error is not None:
            raise decision.error
        if decision.action is Action.swap:
            assert decision.replaces is not None and decision.replaces.ref_id is not None
            await binding_service.unbind(session, decision.replaces.ref_id, channel)
        if decision.action is not Action.keep:
            await binding_service.bind(
                session,
                workspace_id=workspace_id,
                phone_number_id=number.id,
                agent_id=agent.id,
                channel=channel,
                via=Via.provision,
            )
        return await self.view(session, workspace_id, agent)

    async def unbind(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, channel: Channel
    ) -> AgentRead:
        """Stop the agent answering anything on ``channel``.

        Binding rows go (an external trunk row stays, unbound, ready for PUT
        /phone-numbers/trunks/assign). On ``call`` the agent's connection assignments go too (the
        connections stay) and so do its PBX connectors, which exist only as the agent's extension.
        """
        agent = await agent_service.get(session, workspace_id, agent_id)
        await binding_service.unbind_agent(session, agent.id, channel)
        if channel is Channel.call:
            await sip_connection_service.detach_agent(session, agent.id)
            await pbx_connector_service.delete_for_agent(session, agent.id)
        return await self.view(session, workspace_id, agent)

    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
    ) -> AgentRead:
        """The agent with every holding per channel."""
        agent = await agent_service.get(session, workspace_id, agent_id)
        return await self.view(session, workspace_id, agent)

    def new(self, agent: Agent) -> AgentRead:
        """A just-created agent: it answers nothing yet, so there is nothing to read."""
        return AgentRead.of(agent, AgentChannelMap(call=[], sms=[], whatsapp=[]))

    async def view(self, session: AsyncSession, workspace_id: uuid.UUID, agent: Agent) -> AgentRead:
        """The whole agent with every way it answers traffic, per channel, oldest first."""
        return (await self.views(session, workspace_id, [agent]))[0]

    async def views(
        self, session: AsyncSession, workspace_id: uuid.UUID, agents: Sequence[Agent | Row[Any]]
    ) -> list[AgentRead]:
        """Whole agents (docs/api-decisions.md §6.3) with their channels (``channels``)."""
        return [
            AgentRead.of(
                agent,
                AgentChannelMap(
                    **{
                        ch.value: [ChannelBindingRead(**b._asdict()) for b in bound[ch]]
                        for ch in Channel
                    }
                ),
            )
            for agent, bound in zip(
                agents, await self.channels(session, workspace_id, agents), strict=True
            )
        ]

    async def views_json(
        self, session: AsyncSession, workspace_id: uuid.UUID, agents: Sequence[Row[Any]]
    ) -> list[dict[str, Any]]:
        """The agents of ``views``, JSON-ready (``agent.views.agent_json``), for a list page."""
        channels = await self.channels(session, workspace_id, agents)
        return [agent_json(agent, bound) for agent, bound in zip(agents, channels, strict=True)]

    async def channels(
        self, session: AsyncSession, workspace_id: uuid.UUID, agents: Sequence[Agent | Row[Any]]
    ) -> list[dict[Channel, list[Bound]]]:
        """Every way each agent answers, per channel, oldest first, in three reads however
        many agents there are: their holdings, the inventory ids of the connection and PBX
        numbers among them, and who receives inbound calls on their call numbers."""
        ids = [a.id for a in agents]
        holdings = await binding_service.holdings_for_agents(session, workspace_id, ids)
        every = [h for hs in holdings.values() for h in hs]
        outside = sorted({h.number for h in every if h.via in (Via.connection, Via.pbx)})
        inventory = await phone_number_service.active_ids_by_number(session, workspace_id, outside)
        call_holdings = await binding_service.holdings_for_numbers(
            session,
            workspace_id,
            {h.number for h in every if h.channel is Channel.call},
            Channel.call,
        )
        inbound: dict[str, uuid.UUID | None] = {}
        for number, on_number in call_holdings.items():
            holder = current_holder(on_number)
            inbound[number] = holder.agent_id if holder else None

        def read(h: Holding) -> Bound:
            is_row = h.via in (Via.trunk, Via.provision)
            return Bound(
                number=h.number,
                phone_number_uuid=h.ref_id if is_row else inventory.get(h.number),
                bound_via=h.via,
                connection_uuid=h.ref_id if h.via is Via.connection else None,
                pbx_extension_connector_uuid=h.ref_id if h.via is Via.pbx else None,
                # One agent per (number, channel) on sms/whatsapp: the holder is this agent.
                receives_inbound=h.channel is not Channel.call or inbound[h.number] == h.agent_id,
                bound_at=h.assigned_at,
            )

        def per_channel(hs: list[Holding]) -> dict[Channel, list[Bound]]:
            # Sorted once, then split by channel (a stable sort: each channel's order is the
            # one sorting it alone gives).
            out: dict[Channel, list[Bound]] = {ch: [] for ch in Channel}
            for h in sorted(hs, key=lambda h: (h.assigned_at, h.number)):
                out[h.channel].append(read(h))
            return out

        return [per_channel(holdings[agent_id]) for agent_id in ids]


agent_channels_service = AgentChannelsService()
