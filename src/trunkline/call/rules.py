"""The call domain's closed vocabularies and its pure rules, each tested with a table of cases.

Status follows the life of a SIP INVITE transaction and dialog (RFC 3261 §13, §15): a call rings
on a provisional 18x, is in progress once a 2xx is answered, and ends exactly once. Every final
status is terminal: a late event (a 200 crossing our CANCEL, RFC 3261 §9.1) never revives a call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit


class CallStatus(StrEnum):
    queued = "queued"
    ringing = "ringing"
    in_progress = "in_progress"
    completed = "completed"
    busy = "busy"
    no_answer = "no_answer"
    failed = "failed"
    canceled = "canceled"
    rejected = "rejected"


class CallDirection(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class EndReason(StrEnum):
    caller_hangup = "caller_hangup"
    agent_hangup = "agent_hangup"
    api_hangup = "api_hangup"
    ring_timeout = "ring_timeout"
    media_timeout = "media_timeout"
    agent_unreachable = "agent_unreachable"
    error = "error"


class RejectedBy(StrEnum):
    """Why a call was refused: ``rejected_by`` of call records, and the code of an outbound
    refusal's API error (docs/calls.md §4). Decided by ``routing.rules``."""

    # Inbound routing checks (docs/calls.md §4), in the order they run.
    untrusted_source = "untrusted_source"
    unknown_number = "unknown_number"
    inbound_disabled = "inbound_disabled"
    no_agent = "no_agent"
    agent_unavailable = "agent_unavailable"
    channel_limit_reached = "channel_limit_reached"
    codec_unsupported = "codec_unsupported"
    agent_unreachable = "agent_unreachable"
    # Outbound checks (answered as API errors before any SIP is sent).
    agent_not_found = "agent_not_found"
    no_number = "no_number"
    outbound_disabled = "outbound_disabled"
    invalid_destination = "invalid_destination"
    destination_not_allowed = "destination_not_allowed"
    destination_blocked = "destination_blocked"
    no_trunk = "no_trunk"


class EventKind(StrEnum):
    """What a call's timeline records (``GET /calls/{uuid}/events``)."""

    invite_received = "invite_received"
    routing_check = "routing_check"
    queued = "queued"
    invite_sent = "invite_sent"
    sip_response = "sip_response"
    ringing = "ringing"
    agent_connected = "agent_connected"
    answered = "answered"
    dtmf = "dtmf"
    mark = "mark"
    audio_dropped = "audio_dropped"
    clear = "clear"
    media_timeout = "media_timeout"
    protocol_error = "protocol_error"
    hangup_requested = "hangup_requested"
    lease_expired = "lease_expired"
    rejected = "rejected"
    ended = "ended"
    error = "error"


TERMINAL: frozenset[CallStatus] = frozenset(
    {
        CallStatus.completed,
        CallStatus.busy,
        CallStatus.no_answer,
        CallStatus.failed,
        CallStatus.canceled,
        CallStatus.rejected,
    }
)

# Where each live status may go. An answer may come without any 18x first (RFC 3261 §13.2.2.4:
# a 2xx is a valid first response), so queued → in_progress is allowed. A dialog that was
# answered ends only as completed; why it ended is the end_reason, not the status.
_NEXT: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.queued: frozenset(
        {
            CallStatus.ringing,
            CallStatus.in_progress,
            CallStatus.busy,
            CallStatus.no_answer,
            CallStatus.failed,
            CallStatus.canceled,
            CallStatus.rejected,
        }
    ),
    CallStatus.ringing: frozenset(
        {
            CallStatus.in_progress,
            CallStatus.busy,
            CallStatus.no_answer,
            CallStatus.failed,
            CallStatus.canceled,
            CallStatus.rejected,
        }
    ),
    CallStatus.in_progress: frozenset({CallStatus.completed}),
}


def can_transition(current: CallStatus, new: CallStatus) -> bool:
    """Whether a call in ``current`` may move to ``new`` (staying put is not a transition)."""
    return new in _NEXT.get(current, frozenset())


def is_live(status: CallStatus) -> bool:
    """A call that has not ended yet (it may still be hung up)."""
    return status not in TERMINAL


def abandoned_end(status: CallStatus) -> CallStatus:
    """The final status of a live call whose worker is gone (its lease expired and was not
    renewed): it ends as an ``error``, and the status must be one its current one may reach.
    An answered call ends only as ``completed`` (the transition table); a call that was never
    answered — queued, or ringing when its worker died — ``failed``."""
    if status is CallStatus.in_progress:
        return CallStatus.completed
    if is_live(status):
        return CallStatus.failed
    raise ValueError(f"{status} has already ended")


def duration_s(
    answered_at: datetime | None, ended_at: datetime | None, status: CallStatus
) -> int | None:
    """Talk time in whole seconds: null while the call is live, 0 for a call never answered,
    else from the answer to the end, rounded down (as carriers bill connected time)."""
    if is_live(status) or ended_at is None:
        return None
    if answered_at is None:
        return 0
    return max(0, int((ended_at - answered_at).total_seconds()))


def within_limits(
    direction: CallDirection,
    *,
    live_inbound: int,
    live_total: int,
    inbound_limit: int | None,
    total_limit: int | None,
) -> bool:
    """Whether one more call in ``direction`` fits the number's limits (docs/calls.md §4 #5).

    ``inbound.channel_limit`` bounds inbound calls only; ``call.channel_limit`` bounds all of
    them. ``None`` or 0 means no limit (the number's settings store null for "unlimited").
    """
    if total_limit and live_total >= total_limit:
        return False
    return not (
        direction is CallDirection.inbound and inbound_limit and live_inbound >= inbound_limit
    )


STREAM_URL_MAX = 2048
STREAM_TOKEN_MAX = 4096


def stream_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an agent's stream URL, or None when it can (docs/calls.md §2).

    A WebSocket URI (RFC 6455 §3): ``ws``/``wss`` with a host, no fragment (it "MUST NOT be
    used" there). Credentials in the URL are refused: they belong in ``stream_auth_token``, which
    is encrypted at rest, whereas the URL is shown back on every read.
    """
    if len(url) > STREAM_URL_MAX:
        return f"Must be at most {STREAM_URL_MAX} characters."
    if any(c.isspace() or not c.isprintable() for c in url):
        return "Must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        return "Must be a valid ws:// or wss:// URL."
    if parts.scheme.lower() not in {"ws", "wss"}:
        return "Must be a ws:// or wss:// URL."
    if not parts.hostname:
        return "Must name a host, e.g. wss://agent.example.com/stream."
    if parts.username is not None or parts.password is not None:
        return "Must not carry credentials; send them as stream_auth_token."
    if parts.fragment or url.endswith("#"):
        return "Must not have a fragment (RFC 6455 §3)."
    if port == 0:
        return "Must not use port 0."
    return None


def stream_token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as ``Authorization: Bearer <token>``, or None.

    Visible ASCII only (RFC 9110 §5.5 field values; no space, CR or LF, so it can never split
    or extend the upgrade request's header block).
    """
    if len(token) > STREAM_TOKEN_MAX:
        return f"Must be at most {STREAM_TOKEN_MAX} characters."
    if not all("!" <= c <= "~" for c in token):
        return "Must be visible ASCII characters without spaces."
    return None
