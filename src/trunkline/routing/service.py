"""Loads the facts of a routing decision (one read) and asks the pure rules.

The call worker calls ``routing_service.inbound`` for every INVITE, the dry-run endpoint calls
the same method with the facts a tester types in; both get the same ``Decision``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent.service import agent_service
from trunkline.binding.lines import LineRow, agent_call_lines
from trunkline.binding.routes import RouteRow, call_sources
from trunkline.binding.rules import DEFAULT_CHANNEL_LIMIT, Via
from trunkline.call.leases import lease_service
from trunkline.errors import AgentNotFound
from trunkline.kit.e164 import parse_e164
from trunkline.routing.numbers import candidates, clean, national_suffix
from trunkline.routing.outbound import AniFormat, OutboundFacts, OutboundLine, decide_outbound
from trunkline.routing.rules import Decision, InboundFacts, Route, decide_inbound
from trunkline.routing.schemas import DryRunRequest
from trunkline.routing.trust import GatewayResolver, in_allowed

# Live calls per line: (inbound, all directions). The call domain answers it from its leases.
LeaseCounter = Callable[[AsyncSession, Sequence[uuid.UUID]], Any]


@dataclass(frozen=True)
class InboundRequest:
    """What an INVITE (or a dry run) says: where from, which number, which codecs."""

    source_ip: str
    request_uri_user: str | None
    to_user: str | None
    offered_codecs: Sequence[str] | None = None
    # The registration the INVITE was sent to (its Request-URI is one of our contacts).
    registration_source_id: uuid.UUID | None = None


def _limit(settings: Mapping[str, Any] | None, key: str) -> int | None:
    if not settings:
        return DEFAULT_CHANNEL_LIMIT
    value = settings.get(key, {}).get("channel_limit", DEFAULT_CHANNEL_LIMIT)
    return int(value) if value is not None else None


def inbound_enabled(row: RouteRow) -> bool:
    """PBX connectors take calls by their setup mode; every other source by the number's
    ``inbound.enabled`` (a call trunk's direction sets it). A connection whose number is not
    in the inventory has no settings of its own: it takes inbound calls."""
    if row.via is Via.pbx:
        return row.setup in ("inbound", "both")
    if row.channel_settings is None:
        return True
    return bool(row.channel_settings.get("inbound", {}).get("enabled", False))


async def _trusted(row: RouteRow, ip: str, resolver: GatewayResolver) -> bool:
    if in_allowed(ip, row.allowed_ip):
        return True
    for host in (row.gateway, row.secondary_gateway):
        if host and ip in await resolver.addresses(host):
            return True
    return False


def line_id(row: RouteRow) -> uuid.UUID:
    """Leases count per number row, or per source when the number is not in the inventory."""
    return row.phone_number_id or row.via_id


class RoutingService:
    async def inbound(
        self,
        session: AsyncSession,
        request: InboundRequest,
        *,
        resolver: GatewayResolver,
        lease_counts: LeaseCounter,
        workspace_id: uuid.UUID | None = None,
    ) -> Decision:
        """The decision for one inbound call: facts loaded in one read, then the pure rules."""
        via_registration = request.registration_source_id is not None
        user = request.to_user if via_registration else (request.request_uri_user or "")
        dialled = clean(user or "") or clean(request.to_user or "")
        numbers = candidates(dialled) if dialled else ()
        suffix = national_suffix(dialled) if dialled else None
        sources = await call_sources(
            session,
            numbers=numbers,
            names=resolver.names_for(request.source_ip),
            national_suffix=suffix,
            source_ids=[request.registration_source_id] if request.registration_source_id else [],
            workspace_id=workspace_id,
        )
        rows = sources.routes
        lines = sorted({line_id(r) for r in rows})
        counts: Mapping[uuid.UUID, tuple[int, int]] = (
            await lease_counts(session, lines) if lines else {}
        )
        routes = []
        for row in rows:
            reached = via_registration and row.via_id == request.registration_source_id
            trusted = reached or await _trusted(row, request.source_ip, resolver)
            active_in, active_all = counts.get(line_id(row), (0, 0))
            routes.append(
                Route(
                    workspace_id=row.workspace_id,
                    number=row.number,
                    country_code=row.country_code or _region(row.number),
                    phone_number_id=row.phone_number_id,
                    via=row.via,
                    via_id=row.via_id,
                    line_id=line_id(row),
                    trusted=trusted,
                    via_registration=reached,
                    inbound_enabled=inbound_enabled(row),
                    inbound_limit=_limit(row.channel_settings, "inbound"),
                    total_limit=_limit(row.channel_settings, "voice"),
                    active_inbound=active_in,
                    active_total=active_all,
                    agent_id=row.agent_id,
                    agent_name=row.agent_name,
                    agent_active=row.agent_status == "active",
                    agent_has_stream=bool(row.agent_stream_url),
                    assigned_at=row.assigned_at or _EPOCH,
                    normalizer=row.normalizer,
                    agent_stream_url=row.agent_stream_url,
                    agent_stream_token_sealed=row.agent_stream_token_sealed,
                )
            )
        trusted_anywhere = (
            sources.names_are_gateways or via_registration or any(r.trusted for r in routes)
        )
        return decide_inbound(
            InboundFacts(
                source_ip=request.source_ip,
                source_trusted=trusted_anywhere,
                request_uri_user=request.request_uri_user,
                to_user=request.to_user,
                routes=routes,
                offered_codecs=request.offered_codecs,
                via_registration=via_registration,
            )
        )

    async def outbound(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        *,
        agent_uuid: uuid.UUID,
        from_number: str | None,
        to: str,
        lease_counts: LeaseCounter,
    ) -> Decision:
        """The decision for one outbound call (``POST /calls`` and the dry run)."""
        agent = await self._agent(session, workspace_id, agent_uuid)
        rows = await agent_call_lines(session, workspace_id, agent.id) if agent else []
        ids = sorted({r.phone_number_id or r.via_id for r in rows})
        counts: Mapping[uuid.UUID, tuple[int, int]] = (
            await lease_counts(session, ids) if ids else {}
        )
        lines = [outbound_line(workspace_id, r, counts) for r in rows]
        return decide_outbound(
            OutboundFacts(
                agent_found=agent is not None,
                agent_active=agent is not None and agent.active,
                agent_name=agent.name if agent else None,
                from_number=from_number,
                to=to,
                lines=lines,
            )
        )

    async def dry_run(
        self, session: AsyncSession, workspace_id: uuid.UUID, body: DryRunRequest
    ) -> tuple[Decision, uuid.UUID | None]:
        """``POST /routing/dry-run``: the live decision, limited to this workspace's sources."""
        if body.direction == "inbound":
            assert body.source_ip is not None  # the schema requires it inbound
            request = InboundRequest(
                source_ip=body.source_ip,
                request_uri_user=body.to,
                to_user=body.to,
                offered_codecs=body.codecs,
            )
            decision = await self.inbound(
                session,
                request,
                resolver=dry_run_resolver,
                lease_counts=lease_service.lease_counts,
                workspace_id=workspace_id,
            )
            return decision, None
        assert body.agent_uuid is not None  # the schema requires it outbound
        decision = await self.outbound(
            session,
            workspace_id,
            agent_uuid=body.agent_uuid,
            from_number=body.from_,
            to=body.to,
            lease_counts=lease_service.lease_counts,
        )
        return decision, body.agent_uuid

    @staticmethod
    async def _agent(
        session: AsyncSession, workspace_id: uuid.UUID, agent_uuid: uuid.UUID
    ) -> AgentFacts | None:
        try:
            agent = await agent_service.get(session, workspace_id, agent_uuid)
        except AgentNotFound:
            return None  # the decision refuses it: agent_not_found
        return AgentFacts(agent.id, agent.name, agent.status == "active")


@dataclass(frozen=True)
class AgentFacts:
    id: uuid.UUID
    name: str
    active: bool


def _outbound_enabled(row: LineRow) -> bool:
    if row.via is Via.pbx:
        return row.setup in ("outbound", "both")
    if row.channel_settings is None:
        return True
    return bool(row.channel_settings.get("voice", {}).get("enabled", False))


def _flag(settings: Mapping[str, Any] | None, key: str) -> bool:
    return bool((settings or {}).get(key, False))


def outbound_line(
    workspace_id: uuid.UUID, row: LineRow, counts: Mapping[uuid.UUID, tuple[int, int]]
) -> OutboundLine:
    """A stored line as the outbound rules see it. Trunk ``additional_settings`` carry
    ``ani_format`` (e164 | national | digits; default e164), ``allow_premium`` and
    ``allow_emergency`` (default false)."""
    country = row.country_code or _region(row.number)
    voice = (row.channel_settings or {}).get("voice", {})
    extra = row.additional_settings or {}
    try:
        ani = AniFormat(str(extra.get("ani_format", AniFormat.e164.value)))
    except ValueError:
        ani = AniFormat.e164
    line = row.phone_number_id or row.via_id
    return OutboundLine(
        workspace_id=workspace_id,
        number=row.number,
        country_code=country,
        phone_number_id=row.phone_number_id,
        via=row.via,
        via_id=row.via_id,
        line_id=line,
        outbound_enabled=_outbound_enabled(row),
        whitelisted_destinations=tuple(voice.get("whitelisted_destinations") or (country,)),
        allow_premium=_flag(extra, "allow_premium"),
        allow_emergency=_flag(extra, "allow_emergency"),
        ani_format=ani,
        gateway=row.gateway,
        port=row.port or 5060,
        transport=row.transport or "udp",
        secondary_gateway=row.secondary_gateway,
        total_limit=_limit(row.channel_settings, "voice"),
        active_total=counts.get(line, (0, 0))[1],
        assigned_at=row.assigned_at,
    )


def _region(e164: str) -> str:
    info = parse_e164(e164)
    return info.country_code if info else "ZZ"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The dry run resolves gateway names itself (the call worker keeps its own index).
dry_run_resolver = GatewayResolver()
routing_service = RoutingService()
