"""One round of checks for one target: OPTIONS to each gateway, REGISTER when configured."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from trunkline.kit.clock import utcnow
from trunkline.kit.registration_contact import contact_user
from trunkline.kit.sip_status import TargetKind
from trunkline.monitor.status import GatewayOutcome, RegisterOutcome
from trunkline.monitor.targets import CheckSpec
from trunkline.sip import ProbeResult, RegisterResult, Registration, SipClient, Target, TraceEntry


@dataclass
class CheckOutcome:
    primary: GatewayOutcome
    secondary: GatewayOutcome | None
    primary_reg: RegisterOutcome | None
    secondary_reg: RegisterOutcome | None
    refresh_due_at: datetime | None
    checked_at: datetime
    trace: list[TraceEntry] = field(default_factory=list)


def _gateway(target: Target, probe: ProbeResult) -> GatewayOutcome:
    return GatewayOutcome(
        gateway=target.host,
        transport=target.transport,
        reachable=probe.reachable,
        sip_code=probe.sip_code,
        # An egress refusal's detail names the address and why; other errors keep their kind.
        reason=probe.error_detail if probe.error == "not_allowed" else probe.reason,
        rtt_ms=probe.rtt_ms,
        error=probe.error,
        tls_cert_expires_at=probe.tls_cert_expires_at,
    )


def _register_outcome(target: Target, res: RegisterResult) -> RegisterOutcome:
    return RegisterOutcome(
        gateway=target.host,
        registered=res.registered,
        auth_failed=res.auth_failed,
        sip_code=res.sip_code,
        reason=res.reason,
        rtt_ms=res.rtt_ms,
        error=res.error,
        registered_until=res.registered_until,
    )


class Registrations:
    """Registrations this process keeps alive; each keeps its Call-ID and CSeq across refreshes."""

    def __init__(self, contact_hostport: str | None = None) -> None:
        # (kind, id, gateway) → (fingerprint of target + credentials, registration)
        self._by_key: dict[tuple[TargetKind, uuid.UUID, str], tuple[str, Registration]] = {}
        # The call worker's SIP edge: registrations advertise it so calls reach the edge.
        self.contact_hostport = contact_hostport

    def get(
        self, client: SipClient, spec: CheckSpec, target: Target, expires_s: int, timeout_s: float
    ) -> Registration:
        assert spec.credentials is not None
        key = (spec.kind, spec.id, target.host)
        known = self._by_key.get(key)
        if known is not None and known[0] == spec.fingerprint:
            return known[1]
        reg = Registration(
            client,
            target,
            spec.credentials,
            aor_user=spec.aor_user,
            expires_s=expires_s,
            timeout_s=timeout_s,
            contact_user=contact_user(spec.id) if self.contact_hostport else None,
            contact_hostport=self.contact_hostport,
        )
        self._by_key[key] = (spec.fingerprint, reg)
        return reg

    def pop_target(self, kind: TargetKind, target_id: uuid.UUID) -> list[Registration]:
        keys = [k for k in self._by_key if k[0] == kind and k[1] == target_id]
        return [self._by_key.pop(k)[1] for k in keys]

    def targets(self) -> set[tuple[TargetKind, uuid.UUID]]:
        return {(k[0], k[1]) for k in self._by_key}

    def all(self) -> list[Registration]:
        return [reg for _, reg in self._by_key.values()]


async def run_check(
    client: SipClient,
    spec: CheckSpec,
    registrations: Registrations,
    *,
    timeout_s: float,
    register_expires_s: int,
    from_user: str,
    force_register: bool = False,
) -> CheckOutcome:
    """OPTIONS to primary and secondary in parallel; then REGISTER on the first usable gateway
    when the target registers and its registration is missing or due for refresh."""
    targets = [spec.primary] + ([spec.secondary] if spec.secondary else [])
    probes = await asyncio.gather(
        *(client.options(t, from_user=from_user, timeout_s=timeout_s) for t in targets)
    )
    trace = [entry for p in probes for entry in p.trace]
    outcomes = [_gateway(t, p) for t, p in zip(targets, probes, strict=True)]
    regs: list[RegisterOutcome | None] = [None] * len(targets)
    refresh_due: datetime | None = None
    if spec.register:
        now = utcnow()
        for i, (target, probe) in enumerate(zip(targets, probes, strict=True)):
            if not probe.reachable:
                continue
            reg = registrations.get(client, spec, target, register_expires_s, timeout_s)
            due = reg.refresh_due_at is None or reg.refresh_due_at <= now or force_register
            if due:
                result = await reg.register()
                trace += result.trace
                regs[i] = _register_outcome(target, result)
            else:
                regs[i] = RegisterOutcome(
                    gateway=target.host, registered=True, auth_failed=False, sip_code=200,
                    reason="OK (registration still valid)", rtt_ms=None, error=None,
                    registered_until=reg.registered_until,
                )  # fmt: skip
            outcome = regs[i]
            if outcome is not None and (outcome.registered or outcome.auth_failed):
                refresh_due = reg.refresh_due_at if outcome.registered else None
                break
    trace.sort(key=lambda e: e.at)
    return CheckOutcome(
        primary=outcomes[0],
        secondary=outcomes[1] if len(outcomes) > 1 else None,
        primary_reg=regs[0],
        secondary_reg=regs[1] if len(regs) > 1 else None,
        refresh_due_at=refresh_due,
        checked_at=utcnow(),
        trace=trace,
    )
