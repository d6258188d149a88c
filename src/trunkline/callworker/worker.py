"""The call worker: SIP edge + media + routing, joined to the database.

``trunkline serve`` runs one inside the API process; ``trunkline call-worker`` runs one on its
own. Several workers on one PostgreSQL keep the same limits together: live calls are counted
with one lease row per call (refreshed by this worker's heartbeat, so a killed worker's calls
stop counting once their leases expire), and a hang-up asked through the API reaches the
worker that carries the call on its next heartbeat (at once when it runs in this process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.agent.service import StreamTarget, agent_service
from trunkline.binding.routes import gateway_names
from trunkline.call.control import OutboundPlan, call_controls
from trunkline.call.leases import lease_service
from trunkline.call.service import call_service
from trunkline.callworker.inbound import InboundCall
from trunkline.callworker.outbound import OutboundCall
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.kit.crypto import SecretBox
from trunkline.kit.egress import EgressPolicy, EgressRefused, resolve_allowed
from trunkline.kit.registration_contact import parse_contact_user
from trunkline.media.ports import PortPool
from trunkline.routing.proxy import SOURCE_HEADER, CallerSource, caller_source, trusted_networks
from trunkline.routing.rules import Route
from trunkline.routing.trust import GatewayResolver
from trunkline.sip.edge import SipEdge
from trunkline.sip.incoming import IncomingCall

log = logging.getLogger(__name__)


def _hostport(value: str, default_port: int = 5060) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host:
        return value, default_port
    return host.strip("[]"), int(port)


LiveCall = InboundCall | OutboundCall


class CallWorker:
    """Implements the SIP edge's ``CallHandler``; owns the edge, the RTP ports and heartbeats."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        secret_box: SecretBox,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.secret_box = secret_box
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        listen = _hostport(settings.sip.listen)
        public = _hostport(settings.sip.public_address_resolved)
        self.edge = SipEdge(listen, public, self)
        first, last = settings.media.port_range
        self.ports = PortPool(first, last)
        self.media_host = listen[0]
        self.media_public_ip = settings.media.public_ip or public[0]
        self.resolver = GatewayResolver()
        self.trusted_proxies = trusted_networks(settings.sip.trusted_proxies)
        security = settings.security
        self.egress = EgressPolicy.from_lists(security.allow_addresses, security.deny_addresses)
        self._calls: dict[uuid.UUID, LiveCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.edge.start()
        call_controls.register(self)
        self._loops = [
            asyncio.create_task(self._heartbeat_loop(), name="call-heartbeat"),
            asyncio.create_task(self._resolver_loop(), name="call-resolver"),
        ]
        log.info("call worker %s: SIP on %s", self.worker_id, self.edge.local_address)

    @property
    def sip_address(self) -> tuple[str, int]:
        return self.edge.local_address

    @property
    def public_hostport(self) -> str:
        """The edge's public address as ``host:port`` (Contact of our registrations)."""
        host, port = self.edge.public_address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def close(self) -> None:
        call_controls.unregister(self)
        for task in self._loops:
            task.cancel()
        for call in list(self._calls.values()):
            call.hangup_requested.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        await self.edge.close()
        for task in [*self._loops, *self._tasks]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # -- the edge's handler ----------------------------------------------------------------

    async def on_invite(self, call: IncomingCall) -> None:
        await InboundCall(self, call).run()

    def caller(self, call: IncomingCall) -> CallerSource:
        """The carrier's address: the packet's source, or a trusted proxy's header."""
        found = caller_source(
            call.source, call.request.get_all(SOURCE_HEADER), self.trusted_proxies
        )
        if found.ignored:
            log.warning("INVITE %s: %s", call.call_id, found.ignored)
        return found

    def registration_source(self, request_uri_user: str | None) -> uuid.UUID | None:
        return parse_contact_user(request_uri_user)

    async def stream_target(
        self, session: AsyncSession, agent_id: uuid.UUID
    ) -> StreamTarget | None:
        return await agent_service.stream_target(session, self.secret_box, agent_id)

    def route_stream_target(self, route: Route) -> StreamTarget | None:
        """The agent's stream, as the routing read found it (its token opened in memory)."""
        assert route.agent_id is not None
        return agent_service.open_stream_target(
            self.secret_box, route.agent_id, route.agent_stream_url, route.agent_stream_token_sealed
        )

    async def refused_stream(self, url: str) -> str | None:
        """Why the egress policy refuses the agent's WebSocket after DNS, or None."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            await resolve_allowed(parts.hostname or "", port, self.egress)
        except EgressRefused as exc:
            return f"stream_url refused: {exc.reason}"
        return None

    # -- live calls --------------------------------------------------------------------------

    def dial(self, plan: OutboundPlan) -> None:
        """``CallControl``: place an outbound call the API accepted (docs/calls.md §4)."""
        self.spawn(OutboundCall(self, plan).run())

    def track(self, call_id: uuid.UUID, call: LiveCall) -> None:
        self._calls[call_id] = call

    def forget(self, call_id: uuid.UUID) -> None:
        self._calls.pop(call_id, None)

    def hangup(self, call_id: uuid.UUID) -> bool:
        """``CallControl``: the API asked to hang up a call; True if this worker carries it."""
        call = self._calls.get(call_id)
        if call is None:
            return False
        call.hangup_requested.set()
        return True

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _heartbeat_loop(self) -> None:
        """Extend this worker's leases; pick up hang-ups asked in other processes and outbound
        calls placed where no worker runs. A database outage only delays these: the loop backs
        off (doubling up to 30 s, one log line per failure) and resumes by itself, while the
        calls in flight keep their media."""
        every = self.settings.calls.heartbeat_s
        delay = every
        while True:
            await asyncio.sleep(delay)
            try:
                await self._heartbeat()
            except Exception as exc:
                delay = min(delay * 2, max(every, 30.0))
                log.warning(
                    "call worker heartbeat failed (%s); next try in %.0f s",
                    type(exc).__name__,
                    delay,
                )
            else:
                delay = every

    async def _heartbeat(self) -> None:
        async with session_scope(self.sessionmaker) as session:
            if self._calls:  # an idle worker holds no lease to renew
                await lease_service.heartbeat(
                    session, self.worker_id, self.settings.calls.lease_ttl_s
                )
            asked = (
                await call_service.hangups_requested(session, self.worker_id, list(self._calls))
                if self._calls
                else set()
            )
            # calls whose worker is gone (their leases expired a whole lifetime ago) end, so
            # the calls API never shows them live for ever; then outbound calls an API process
            # without a worker placed, still within their leases, are ours to dial
            await lease_service.end_abandoned(session, self.settings.calls.lease_ttl_s)
            queued = await call_service.claim_queued_outbound(session, self.worker_id)
        for call_id in asked:
            self.hangup(call_id)
        for plan in queued:
            self.dial(plan)

    async def _resolver_loop(self) -> None:
        """Keep gateway host names resolved, so trust checks need no DNS per INVITE."""
        while True:
            try:
                async with session_scope(self.sessionmaker) as session:
                    names = await gateway_names(session)
                await self.resolver.refresh(names)
            except Exception as exc:
                log.warning("gateway resolution failed: %s", exc)
            await asyncio.sleep(self.settings.calls.resolve_interval_s)
