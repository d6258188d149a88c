"""The seam between the calls API and a call worker running in the same process.

An outbound call placed where no call worker runs (``TRUNKLINE_CALLS__ENABLED=false``) stays
``queued`` with its ``OutboundPlan`` on the row; the next heartbeat of any call worker on the
database claims it and dials.

``DELETE /calls/{uuid}`` records the request in the database (``hangup_requested_at``), which
every worker polls on its heartbeat. A worker in this process also registers here, so the API
can ask it at once and the caller hears the hang-up without waiting for the next heartbeat.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundPlan:
    """An outbound call the API accepted (its record and lease are committed): what the call
    worker sends. Secrets are not in it: the worker decrypts the line's credentials itself."""

    call_id: uuid.UUID
    workspace_id: uuid.UUID
    agent_id: uuid.UUID
    via_kind: str  # trunk | connection | pbx
    via_id: uuid.UUID
    phone_number_id: uuid.UUID | None
    from_number: str  # E.164
    to: str  # as dialled: E.164, or an emergency short code
    request_uri: str
    from_uri: str
    to_uri: str
    p_asserted_identity: str
    ring_timeout_s: float
    custom_parameters: dict[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, object]:
        """What the call row keeps (``call.dial_plan``) for a worker in another process."""
        return {
            "agent_id": str(self.agent_id),
            "via_kind": self.via_kind,
            "via_id": str(self.via_id),
            "phone_number_id": str(self.phone_number_id) if self.phone_number_id else None,
            "from_number": self.from_number,
            "to": self.to,
            "request_uri": self.request_uri,
            "from_uri": self.from_uri,
            "to_uri": self.to_uri,
            "p_asserted_identity": self.p_asserted_identity,
            "ring_timeout_s": self.ring_timeout_s,
            "custom_parameters": dict(self.custom_parameters),
        }

    @classmethod
    def from_record(
        cls, call_id: uuid.UUID, workspace_id: uuid.UUID, record: dict[str, Any]
    ) -> OutboundPlan:
        number = record.get("phone_number_id")
        return cls(
            call_id=call_id,
            workspace_id=workspace_id,
            agent_id=uuid.UUID(record["agent_id"]),
            via_kind=record["via_kind"],
            via_id=uuid.UUID(record["via_id"]),
            phone_number_id=uuid.UUID(number) if number else None,
            from_number=record["from_number"],
            to=record["to"],
            request_uri=record["request_uri"],
            from_uri=record["from_uri"],
            to_uri=record["to_uri"],
            p_asserted_identity=record["p_asserted_identity"],
            ring_timeout_s=float(record["ring_timeout_s"]),
            custom_parameters=dict(record.get("custom_parameters") or {}),
        )


class CallControl(Protocol):
    worker_id: str

    def hangup(self, call_id: uuid.UUID) -> bool:
        """Start hanging up ``call_id`` (BYE once answered, CANCEL before, RFC 3261 §9, §15)
        without blocking; False when this worker does not carry the call."""
        ...

    def dial(self, plan: OutboundPlan) -> None:
        """Start placing an outbound call (returns at once; the call proceeds on its own)."""
        ...


class CallControls:
    """The call workers of this process (usually one; none in a standalone API)."""

    def __init__(self) -> None:
        self._controls: list[CallControl] = []

    def register(self, control: CallControl) -> None:
        """Add a worker (idempotent)."""
        if control not in self._controls:
            self._controls.append(control)

    def unregister(self, control: CallControl) -> None:
        """Remove a worker that is stopping (idempotent)."""
        if control in self._controls:
            self._controls.remove(control)

    @property
    def can_dial(self) -> bool:
        return bool(self._controls)

    @property
    def worker_id(self) -> str:
        """The worker that will carry calls placed here (it renews their leases)."""
        return self._controls[0].worker_id

    async def dial(self, plan: OutboundPlan) -> None:
        """Hand an outbound call to this process's call worker (a coroutine, so it runs on the
        event loop as a background task after the response, never in a thread)."""
        self._controls[0].dial(plan)

    def hangup(self, call_id: uuid.UUID) -> bool:
        """Ask each worker in turn until one carries the call; a failing worker must not fail
        the API request (the heartbeat poll still reaches it), so its error is only logged."""
        for control in list(self._controls):
            try:
                if control.hangup(call_id):
                    return True
            except Exception:
                log.exception("call worker failed to start the hang-up of call %s", call_id)
        return False


call_controls = CallControls()
