"""The seam between the calls API and a call worker running in the same process.

``DELETE /calls/{uuid}`` records the request in the database (``hangup_requested_at``), which
every worker polls on its heartbeat. A worker in this process also registers here, so the API
can ask it at once and the caller hears the hang-up without waiting for the next heartbeat.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

log = logging.getLogger(__name__)


class CallControl(Protocol):
    def hangup(self, call_id: uuid.UUID) -> bool:
        """Start hanging up ``call_id`` (BYE once answered, CANCEL before, RFC 3261 §9, §15)
        without blocking; False when this worker does not carry the call."""
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
