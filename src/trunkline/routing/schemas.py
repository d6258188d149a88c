"""``POST /api/v1/routing/dry-run``: what a call would get, decided by the live path's rules."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from trunkline.kit.schema import RequestModel, ResponseModel
from trunkline.routing.rules import Decision


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value.strip()))


class InboundDryRun(RequestModel):
    """An INVITE as the SIP edge would see it. ``to`` is the dialled number in any form a
    carrier sends (``+12025550123``, ``12025550123``, ``0012025550123``, national digits);
    ``codecs`` the offered codecs (default: PCMU, so the codec check passes)."""

    direction: Literal["inbound"]
    to: str = Field(min_length=1, max_length=64, examples=["12025550123"])
    from_: str = Field(default="", max_length=64, alias="from", examples=["+13125550111"])
    source_ip: Annotated[str, AfterValidator(_ip)] = Field(examples=["192.0.2.10"])
    codecs: list[str] | None = Field(default=None, max_length=16, examples=[["PCMA"]])


class OutboundDryRun(RequestModel):
    """A ``POST /calls`` request: the agent calling ``to`` from ``from`` (default: its call
    number)."""

    direction: Literal["outbound"]
    agent_uuid: uuid.UUID
    to: str = Field(min_length=1, max_length=64, examples=["+13125550111"])
    from_: str | None = Field(default=None, max_length=64, alias="from")


DryRunRequest = Annotated[InboundDryRun | OutboundDryRun, Field(discriminator="direction")]


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
