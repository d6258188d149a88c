"""The monitor: checks every monitored target on schedule, and on demand for the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.config import MonitorSettings
from trunkline.db import session_scope
from trunkline.errors import ServiceUnavailable
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import CryptoError, SecretBox
from trunkline.kit.egress import EgressPolicy, check_destination
from trunkline.kit.pagination import PageParams
from trunkline.kit.sip_status import TargetKind
from trunkline.models import SipStatusEvent
from trunkline.monitor import repository as repo
from trunkline.monitor.checker import CheckOutcome, Registrations, run_check
from trunkline.monitor.status import Evaluation, evaluate
from trunkline.monitor.targets import KIND_BY_NAME, KINDS, CheckSpec, Kind, build_spec
from trunkline.outage import is_database_unavailable, outage_log
from trunkline.sip import SipClient, TraceEntry

log = logging.getLogger(__name__)

# Longest pause between sweeps while the database is away: short enough that checks resume within
# seconds of it returning, long enough not to hammer a database that is restarting.
MAX_OUTAGE_BACKOFF_S = 8.0


@dataclass(frozen=True)
class CheckReport:
    status: str
    status_detail: dict[str, Any]
    trace: list[TraceEntry]


class MonitorService:
    def __init__(
        self,
        settings: MonitorSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        contact_hostport: str | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.settings = settings
        # Checked on the resolved address before any SIP leaves (kit/egress.py).
        self.egress = egress or EgressPolicy()
        self.sessionmaker = sessionmaker
        self.box = box
        self.owner = (
            settings.instance_id
            or (f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")[:64]
        )
        self.registrations = Registrations(contact_hostport)
        self.checks_done = 0
        self._client: SipClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._inflight = 0
        self._batches: set[asyncio.Task[None]] = set()

    # -- SIP client ------------------------------------------------------------------------------

    def client(self) -> SipClient:
        if self._client is None:
            s = self.settings
            self._client = SipClient(
                t1_s=s.t1_s,
                t2_s=s.t2_s,
                timeout_s=s.timeout_s,
                address_filter=partial(check_destination, policy=self.egress),
            )
        return self._client

    async def close(self) -> None:
        await self.stop()
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- evaluation ------------------------------------------------------------------------------

    def _evaluate(
        self, spec: CheckSpec, outcome: CheckOutcome
    ) -> tuple[Evaluation, dict[str, Any]]:
        s = self.settings
        ev = evaluate(
            primary=outcome.primary,
            secondary=outcome.secondary,
            registering=spec.register,
            primary_reg=outcome.primary_reg,
            secondary_reg=outcome.secondary_reg,
            previous_status=spec.status,
            previous_misses=spec.misses,
            misses_before_unreachable=s.misses_before_unreachable,
            checked_at=outcome.checked_at,
        )
        next_at = outcome.checked_at + timedelta(
            seconds=s.interval_s + random.uniform(0, s.jitter_s)  # noqa: S311 (spread, not crypto)
        )
        if outcome.refresh_due_at is not None and outcome.refresh_due_at < next_at:
            next_at = outcome.refresh_due_at  # refresh the registration before it expires
        values = {
            "status": ev.status,
            "status_detail": ev.detail,
            "last_checked_at": outcome.checked_at,
            "check_misses": ev.misses,
            "next_check_at": next_at,
        }
        return ev, values

    @staticmethod
    def _event(spec: CheckSpec, ev: Evaluation) -> SipStatusEvent | None:
        if ev.status == spec.status:
            return None
        return SipStatusEvent(
            id=uuid.uuid4(),
            workspace_id=spec.workspace_id,
            target_kind=spec.kind,
            target_id=spec.id,
            from_status=spec.status,
            to_status=ev.status,
            detail=ev.detail,
            created_at=utcnow(),
        )

    async def _run(self, spec: CheckSpec, *, force_register: bool = False) -> CheckOutcome:
        s = self.settings
        outcome = await run_check(
            self.client(),
            spec,
            self.registrations,
            timeout_s=s.timeout_s,
            register_expires_s=s.register_expires_s,
            from_user=s.from_user,
            force_register=force_register,
        )
        self.checks_done += 1
        return outcome

    # -- on demand -------------------------------------------------------------------------------

    async def check_now(
        self, session: AsyncSession, kind_name: TargetKind, row: Any
    ) -> CheckReport:
        """Check one target now (re-registering when it registers) and store the result."""
        kind = KIND_BY_NAME[kind_name]
        try:
            spec = build_spec(kind_name, row, self.box, self.settings.tls_ca_file)
        except CryptoError as exc:
            # The stored credentials were sealed under a key this server no longer has.
            raise ServiceUnavailable(
                "The stored credentials cannot be decrypted with the configured encryption "
                "keys (TRUNKLINE_ENCRYPTION_KEYS); add the key they were sealed with."
            ) from exc
        outcome = await self._run(spec, force_register=True)
        ev, values = self._evaluate(spec, outcome)
        await repo.write_one(session, kind, spec.id, values)
        event = self._event(spec, ev)
        if event is not None:
            await repo.add_events(session, [event])
        await session.refresh(row)
        return CheckReport(ev.status, ev.detail, outcome.trace)

    async def events(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        target_id: uuid.UUID,
        params: PageParams,
    ) -> tuple[list[SipStatusEvent], int]:
        """Status changes of a target, newest first."""
        return await repo.page_events(session, workspace_id, target_id, params)

    async def forget(self, kind_name: TargetKind, target_id: uuid.UUID) -> None:
        """Un-REGISTER a target this process keeps registered (on delete or disable)."""
        for reg in self.registrations.pop_target(kind_name, target_id):
            with contextlib.suppress(Exception):
                await reg.unregister()

    # -- on schedule -----------------------------------------------------------------------------

    async def _claim(self, kind: Kind, limit: int) -> list[CheckSpec]:
        s = self.settings
        async with session_scope(self.sessionmaker) as session:
            rows = await repo.claim_due(
                session,
                kind,
                owner=self.owner,
                now=utcnow(),
                lease_s=s.lease_s,
                interval_s=s.interval_s,
                limit=limit,
            )
        specs = []
        for row in rows:
            try:
                specs.append(build_spec(kind.name, row, self.box, s.tls_ca_file))
            except Exception:  # a row we cannot decrypt must not stop the others
                log.exception("cannot build a check for %s %s", kind.name, row.id)
        return specs

    async def _process(self, kind: Kind, specs: list[CheckSpec]) -> None:
        try:
            outcomes = await asyncio.gather(
                *(self._run(spec) for spec in specs), return_exceptions=True
            )
            results: list[dict[str, Any]] = []
            events: list[SipStatusEvent] = []
            for spec, outcome in zip(specs, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    log.error(
                        "check of %s %s failed: %s", spec.kind, spec.id, type(outcome).__name__
                    )
                    continue
                ev, values = self._evaluate(spec, outcome)
                results.append(
                    {"v_id": spec.id, "v_owner": self.owner}
                    | {f"v_{k}": v for k, v in values.items()}
                )
                if (event := self._event(spec, ev)) is not None:
                    events.append(event)
            try:
                async with session_scope(self.sessionmaker) as session:
                    await repo.write_results(session, kind, results)
                    if events:
                        await repo.add_events(session, events)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                # The claims' leases lapse (lease_s) and the targets are checked again then.
                outage_log.report("monitor write", exc)
        finally:
            self._inflight -= len(specs)

    async def tick(self) -> int:
        """One sweep: claim every due target (within the concurrency budget) and check them.

        Returns how many targets it checked; waits for them (used by tests and the CLI)."""
        total = 0
        for kind in KINDS:
            while (free := self.settings.concurrency - self._inflight) > 0:
                specs = await self._claim(kind, min(free, self.settings.batch_size))
                if not specs:
                    break
                self._inflight += len(specs)
                await self._process(kind, specs)
                total += len(specs)
        return total

    async def reconcile(self) -> None:
        """Un-REGISTER targets that were deleted or disabled since we registered them."""
        by_kind: dict[TargetKind, list[uuid.UUID]] = {}
        for kind_name, target_id in self.registrations.targets():
            by_kind.setdefault(kind_name, []).append(target_id)
        for kind_name, ids in by_kind.items():
            async with self.sessionmaker() as session:
                alive = await repo.existing_ids(session, KIND_BY_NAME[kind_name], ids)
            for target_id in set(ids) - alive:
                await self.forget(kind_name, target_id)

    async def run_forever(self) -> None:
        """Claim due targets every ``tick_s`` and check them concurrently, pipelined: a slow
        batch (timeouts) never holds back the claiming of the next one."""
        s = self.settings
        loops = 0
        outages = 0  # consecutive sweeps that found the database away
        while not self._stop.is_set():
            claimed = 0
            try:
                for kind in KINDS:
                    free = s.concurrency - self._inflight
                    if free <= 0:
                        break
                    specs = await self._claim(kind, min(free, s.batch_size))
                    if specs:
                        self._inflight += len(specs)
                        task = asyncio.create_task(self._process(kind, specs))
                        self._batches.add(task)
                        task.add_done_callback(self._batches.discard)
                        claimed += len(specs)
                loops += 1
                if loops % 10 == 0:
                    await self.reconcile()
                outages = 0
            except Exception as exc:  # keep the loop alive whatever happens
                if is_database_unavailable(exc):
                    outage_log.report("monitor sweep", exc)
                    outages += 1
                else:
                    log.exception("monitor sweep failed")
            if outages or claimed == 0 or self._inflight >= s.concurrency:
                # Exponential back-off while the database is away; one tick otherwise.
                pause = min(s.tick_s * 2**outages, max(MAX_OUTAGE_BACKOFF_S, s.tick_s))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=pause)

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self.run_forever(), name="trunkline-monitor")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)


async def load_spec(
    session: AsyncSession,
    box: SecretBox,
    kind_name: TargetKind,
    target_id: uuid.UUID,
    tls_ca_file: str | None = None,
) -> CheckSpec | None:
    """A trunk row's, connection's or PBX connector's SIP targets and credentials (decrypted in
    memory only): what an outbound call is sent with, as a check would be."""
    row = await repo.get_target(session, KIND_BY_NAME[kind_name], target_id)
    return build_spec(kind_name, row, box, tls_ca_file) if row is not None else None
