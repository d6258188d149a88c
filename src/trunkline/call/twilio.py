"""Twilio's REST call resource, as far as agents use it: hanging up a call the Twilio way.

Agents built for Twilio Media Streams end a call with ``POST /2010-04-01/Accounts/{AccountSid}
/Calls/{CallSid}.json`` and ``Status=completed`` (Pipecat's ``TwilioFrameSerializer`` with
``auto_hang_up`` and a ``base_url`` does), authenticated with HTTP Basic ``AccountSid:token``.
Trunkline's stream gives ``AccountSid`` = ``AC`` + the workspace id and ``CallSid`` = ``CA`` +
the call's uuid; the password is an API token of that workspace. Pure mapping here; the
endpoint is call/twilio_router.py.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from trunkline.call.rules import CallStatus
from trunkline.models import Call

# Twilio's call statuses (https://www.twilio.com/docs/voice/api/call-resource#call-status-values)
TWILIO_STATUS = {
    CallStatus.queued: "queued",
    CallStatus.ringing: "ringing",
    CallStatus.in_progress: "in-progress",
    CallStatus.completed: "completed",
    CallStatus.busy: "busy",
    CallStatus.no_answer: "no-answer",
    CallStatus.failed: "failed",
    CallStatus.canceled: "canceled",
    CallStatus.rejected: "failed",
}


def sid_uuid(sid: str, prefix: str) -> uuid.UUID | None:
    """``AC…``/``CA…`` + 32 hex → the uuid it carries; None for anything else."""
    if len(sid) != 34 or not sid.startswith(prefix):
        return None
    try:
        return uuid.UUID(hex=sid[2:])
    except ValueError:
        return None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)`` → (user, password) (RFC 7617)."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def call_resource(call: Call, account_sid: str) -> dict[str, Any]:
    """The call as Twilio's REST API shows it (the fields clients read)."""
    return {
        "sid": f"CA{call.id.hex}",
        "account_sid": account_sid,
        "status": TWILIO_STATUS[CallStatus(call.status)],
        "direction": "inbound" if call.direction == "inbound" else "outbound-api",
        "from": call.from_number,
        "to": call.to_number,
        "start_time": call.answered_at.isoformat() if call.answered_at else None,
        "end_time": call.ended_at.isoformat() if call.ended_at else None,
    }


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's error body (``code`` 20003 authenticate, 20404 not found)."""
    return {"code": code, "message": message, "status": status}
