"""``POST /api/v1/routing/dry-run``: what a call would get, decided by the live path's rules."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from trunkline.kit.schema import RequestModel, ResponseModel
from trunkline.routing.rules import Decision


class DryRunRequest(RequestModel):
    """A call to decide without placing it.

    - ``direction: "inbound"``: an INVITE as the SIP edge would see it — ``to`` is the dialled
      number in any form a carrier sends (``+12025550123``, ``12025550123``,
      ``0012025550123``, national digits), ``source_ip`` the carrier's address, ``codecs`` the
      offered codecs (default: none given, the codec check is skipped). Only this workspace's
      trunks, connections and PBX connectors are considered.
    - ``direction: "outbound"``: a ``POST /calls`` — ``agent_uuid`` calling ``to`` from
      ``from`` (default: the agent's call number).
    """

    direction: Literal["inbound", "outbound"]
    to: str = Field(min_length=1, max_length=64, examples=["12025550123"])
    from_: str | None = Field(default=None, max_length=64, alias="from")
    source_ip: str | None = Field(
        default=None, max_length=64, validate_default=True, examples=["192.0.2.10"]
    )
    codecs: list[str] | None = Field(default=None, max_length=16, examples=[["PCMA"]])
    agent_uuid: uuid.UUID | None = Field(default=None, validate_default=True)

    @field_validator("source_ip")
    @classmethod
    def _ip(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            _required_for(info, "inbound")
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise PydanticCustomError("invalid_ip", "Must be an IPv4 or IPv6 address.") from None

    @field_validator("agent_uuid")
    @classmethod
    def _agent(cls, value: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        if value is None:
            _required_for(info, "outbound")
        return value


def _required_for(info: ValidationInfo, direction: str) -> None:
    """A field only one direction needs: refused (naming it) when that direction lacks it."""
    if info.data.get("direction") == direction:
        raise PydanticCustomError("required_for_direction", f"Required for a {direction} dry run.")
    return None


class CheckRead(ResponseModel):
    check: str
    passed: bool
    detail: str


class ViaRead(ResponseModel):
    kind: str
    uuid: uuid.UUID


class InviteRead(ResponseModel):
    request_uri: str
    from_: str = Field(serialization_alias="from")
    to: str
    p_asserted_identity: str


class DryRunRead(ResponseModel):
    direction: str
    decision: Literal["accept", "reject"]
    sip_code: int | None = Field(description="Inbound: the SIP answer of a refusal.")
    rejected_by: str | None
    agent_uuid: uuid.UUID | None
    phone_number_uuid: uuid.UUID | None
    via: ViaRead | None
    checks: list[CheckRead] = Field(description="Each check that ran, in order; the last failed.")
    invite: InviteRead | None = Field(
        description="Outbound: the INVITE an accepted call would send."
    )

    @classmethod
    def of(cls, decision: Decision, agent_uuid: uuid.UUID | None = None) -> DryRunRead:
        route, line = decision.route, decision.line
        held = route or line
        agent = route.agent_id if route else agent_uuid
        invite = decision.invite
        return cls(
            direction=decision.direction.value,
            decision=decision.verdict.value,
            sip_code=decision.sip_code,
            rejected_by=decision.rejected_by.value if decision.rejected_by else None,
            agent_uuid=agent,
            phone_number_uuid=held.phone_number_id if held else None,
            via=ViaRead(kind=held.via.value, uuid=held.via_id) if held else None,
            checks=[
                CheckRead(check=c.check.value, passed=c.passed, detail=c.detail)
                for c in decision.checks
            ],
            invite=InviteRead(
                request_uri=invite.request_uri,
                from_=invite.from_uri,
                to=invite.to_uri,
                p_asserted_identity=invite.p_asserted_identity,
            )
            if invite
            else None,
        )


class CallCreate(RequestModel):
    """An outbound call: ``agent_uuid`` calls ``to`` from ``from`` (default: the agent's most
    recently assigned call number) through that number's trunk. ``custom_parameters`` reach
    the agent in the stream's ``start.customParameters``; ``ring_timeout_s`` (default
    ``TRUNKLINE_CALLS__RING_TIMEOUT_S``) is how long it may ring before CANCEL
    (``no_answer``)."""

    agent_uuid: uuid.UUID
    to: str = Field(min_length=1, max_length=32, examples=["+13125550111"])
    from_: str | None = Field(default=None, max_length=32, alias="from", examples=["+12025550123"])
    custom_parameters: dict[str, str] | None = Field(default=None, max_length=32)
    ring_timeout_s: float | None = Field(default=None, gt=0, le=300)
