"""The one error tree. Services raise these; only the envelope layer turns them into HTTP.

::

    TrunklineError (500 internal_error)
    ├── MalformedRequest (400 malformed_request)
    ├── AuthError (401)
    │   ├── MissingAuthToken (missing_auth_token)
    │   └── InvalidAuthToken (invalid_auth_token)
    ├── Forbidden (403)
    │   ├── InsufficientScope (insufficient_scope)
    │   ├── PurchaseLimitReached (purchase_limit_reached)
    │   └── SmsDestinationNotAllowed (sms_destination_not_allowed)
    ├── NotFound (404 not_found)
    │   ├── AgentNotFound · PhoneNumberNotFound · TrunkNotFound
    │   ├── ConnectionNotFound · ConnectorNotFound
    │   └── CallNotFound
    ├── Conflict (409)
    │   ├── NumberInInventory · NumberAlreadyBound · AgentChannelBusy · NumberIsExternal
    │   ├── ConnectionInUse · ConnectionDisabled · PhoneInUse · AgentInUse
    │   ├── IdempotencyKeyInProgress
    │   └── SmsDisabled
    ├── Unprocessable (422 validation_failed)
    │   ├── SmsNotSupported · SipNotSupported · InvalidGateway
    │   ├── NumberNotAvailable · ChannelNotCapable
    │   ├── AddressNotAllowed · IdempotencyKeyReused
    │   └── SmsChannelNotConfigured
    ├── RateLimited (429 rate_limited)
    ├── ServiceUnavailable (503 service_unavailable)
    └── CallRefused (an outbound call refused before any SIP; code = rejected_by)
        ├── DestinationInvalid (422) · OutboundDisabled · DestinationNotAllowed
        ├── DestinationBlocked (403) · AgentUnavailable · NoNumber · NoTrunk
        └── ChannelLimitReached (409)

Each class carries its HTTP ``status`` and stable snake_case ``code`` (the envelope shows it
UPPER_SNAKE in ``error.code`` and as is in ``data.error``: docs/api-decisions.md §6.1). An
instance may carry a ``field`` (the request field at fault), ``fields`` (every ``{field,
message}`` at fault), a human ``details`` string and extra machine-readable ``data`` that the
envelope copies into ``data`` beside ``error``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TrunklineError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal server error."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        details: str | None = None,
        fields: list[dict[str, str]] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.details = details
        self.fields = fields or []
        self.data = data or {}
        super().__init__(self.message)


class MalformedRequest(TrunklineError):
    status = 400
    code = "malformed_request"
    default_message = "The request body must be a JSON object."


class AuthError(TrunklineError):
    status = 401


class MissingAuthToken(AuthError):
    code = "missing_auth_token"
    default_message = "Authentication required: send 'Authorization: Bearer <token>'."


class InvalidAuthToken(AuthError):
    code = "invalid_auth_token"
    default_message = "The API token is invalid or has been revoked."


class Forbidden(TrunklineError):
    status = 403
    code = "forbidden"
    default_message = "Forbidden."


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    default_message = "The API token lacks the scope this operation needs."


class PurchaseLimitReached(Forbidden):
    code = "purchase_limit_reached"
    default_message = "The workspace has reached its phone number purchase limit."


class SmsDestinationNotAllowed(Forbidden):
    code = "sms_destination_not_allowed"
    default_message = (
        "The recipient's country is not in the SMS number's sms.whitelisted_destinations."
    )


class NotFound(TrunklineError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class AgentNotFound(NotFound):
    code = "agent_not_found"
    default_message = "Agent not found."


class PhoneNumberNotFound(NotFound):
    code = "phone_number_not_found"
    default_message = "Phone number not found."


class TrunkNotFound(NotFound):
    code = "trunk_not_found"
    default_message = "No trunk is registered for this phone number and channel."


class ConnectionNotFound(NotFound):
    code = "connection_not_found"
    default_message = "SIP trunk connection not found."


class ConnectorNotFound(NotFound):
    code = "connector_not_found"
    default_message = "PBX extension connector not found."


class CallNotFound(NotFound):
    code = "call_not_found"
    default_message = "Call not found."


class Conflict(TrunklineError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class NumberInInventory(Conflict):
    code = "number_in_inventory"
    default_message = "This number is already in the workspace's purchased inventory."


class NumberAlreadyBound(Conflict):
    code = "number_already_bound"
    default_message = "This number is already bound on this channel."


class AgentChannelBusy(Conflict):
    code = "agent_channel_busy"
    default_message = "This agent already serves another number on this channel."


class NumberIsExternal(Conflict):
    code = "number_is_external"
    default_message = "This number is registered as an external trunk."


class ConnectionInUse(Conflict):
    code = "connection_in_use"
    default_message = "The connection is assigned to an agent; unassign it or pass force=true."


class ConnectionDisabled(Conflict):
    code = "connection_disabled"
    default_message = "The connection is disabled; enable it (PATCH enabled=true) to check it."


class PhoneInUse(Conflict):
    code = "phone_in_use"
    default_message = "The connection's phone number is already bound on call to another agent."


class AgentInUse(Conflict):
    code = "agent_in_use"
    default_message = "The agent still has channel bindings; unbind them or pass force=true."


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    default_message = (
        "A request with this Idempotency-Key is still being processed; retry shortly to get its "
        "answer."
    )


class SmsDisabled(Conflict):
    code = "sms_disabled"
    default_message = "SMS is disabled on the agent's SMS number (channel_settings.sms.enabled)."


class Unprocessable(TrunklineError):
    status = 422
    code = "validation_failed"
    default_message = "The request is invalid."


class SmsNotSupported(Unprocessable):
    code = "sms_not_supported"
    default_message = (
        "SMS is not supported on trunk endpoints; use POST /api/v1/agents/{uuid}/channels/sms."
    )


class SipNotSupported(Unprocessable):
    code = "sip_not_supported"
    default_message = "SIP settings are only meaningful on the call channel."


class InvalidGateway(Unprocessable):
    code = "invalid_gateway"
    default_message = "The gateway must be a host name or IP address, without scheme or port."


class NumberNotAvailable(Unprocessable):
    code = "number_not_available"
    default_message = "The number provider cannot sell this number."


class ChannelNotCapable(Unprocessable):
    code = "channel_not_capable"
    default_message = "This number cannot carry this channel."


class AddressNotAllowed(Unprocessable):
    code = "address_not_allowed"
    default_message = "This address is not allowed by the server's egress policy."


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was used with a different request; use a new key for a new request."
    )


class SmsChannelNotConfigured(Unprocessable):
    code = "sms_channel_not_configured"
    default_message = (
        "The agent has no SMS number; bind one with POST /api/v1/agents/{uuid}/channels/sms."
    )


class RateLimited(TrunklineError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests."


class ServiceUnavailable(TrunklineError):
    status = 503
    code = "service_unavailable"
    default_message = "A dependency is unavailable; try again shortly."


# Validation error types raised inside Pydantic validators (PydanticCustomError) that the envelope
# reports under their own code instead of the generic ``validation_failed``.
SPECIFIC_VALIDATION_CODES: frozenset[str] = frozenset(
    cls.code for cls in Unprocessable.__subclasses__()
)


# Outbound calls refused before any SIP is sent (docs/calls.md §4): the code is the check's
# ``rejected_by``.
class CallRefused(TrunklineError):
    """Base of the outbound refusals; ``data.rejected_by`` repeats the code."""


class DestinationInvalid(CallRefused):
    status = 422
    code = "invalid_destination"
    default_message = "The destination is not a valid phone number."


class OutboundDisabled(CallRefused):
    status = 403
    code = "outbound_disabled"
    default_message = "This number does not place outbound calls (its direction is inbound)."


class DestinationNotAllowed(CallRefused):
    status = 403
    code = "destination_not_allowed"
    default_message = "The destination's country is not in the number's whitelisted_destinations."


class DestinationBlocked(CallRefused):
    status = 403
    code = "destination_blocked"
    default_message = "Emergency and premium-rate destinations are refused for this number."


class AgentUnavailable(CallRefused):
    status = 409
    code = "agent_unavailable"
    default_message = "The agent is paused."


class NoNumber(CallRefused):
    status = 409
    code = "no_number"
    default_message = "The agent holds no such number on its call channel."


class NoTrunk(CallRefused):
    status = 409
    code = "no_trunk"
    default_message = "The number has no SIP gateway to send the call through."


class ChannelLimitReached(CallRefused):
    status = 409
    code = "channel_limit_reached"
    default_message = "The number's call.channel_limit is reached."
