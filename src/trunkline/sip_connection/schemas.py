"""SIP trunk connections (docs/api-decisions.md §4.4)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from trunkline.kit.schema import Gateway, RequestModel, ResponseModel, UtcDatetime
from trunkline.kit.sip_status import SipStatus
from trunkline.models import SipConnection

Transport = Literal["udp", "tcp", "tls"]


class ConnectionCreate(RequestModel):
    name: str = Field(min_length=1, max_length=255, examples=["Telnyx main"])
    phone_number: str = Field(
        min_length=1,
        max_length=32,
        description="The number the trunk routes calls to; stored exactly as provided.",
        examples=["+12025550123"],
    )
    gateway: Gateway = Field(max_length=255, examples=["sip.telnyx.com"])
    username: str = Field(min_length=1, max_length=255, description="Write-only.")
    password: str = Field(min_length=1, max_length=255, description="Write-only.")
    secondary_gateway: Gateway | None = Field(default=None, max_length=255)
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Transport = "udp"
    # "register" would shadow BaseModel's ABC method, so the attribute gets a trailing underscore.
    register_: bool = Field(
        default=True, alias="register", description="Keep a SIP registration with the gateway."
    )
    enabled: bool = Field(
        default=True,
        description="false: status `disabled`, never checked nor registered until re-enabled.",
    )

    @field_validator("secondary_gateway", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value


# Fields a PATCH may leave out but never set to null (only secondary_gateway may be cleared).
_NOT_NULLABLE = ("name", "phone_number", "gateway", "username", "password", "port", "transport")


class ConnectionUpdate(RequestModel):
    """Partial update: only the keys sent change, each under the same rules as on create.

    ``username``/``password`` may be replaced, never read. ``secondary_gateway`` null or ""
    removes it. Changing what the live check uses (gateway, secondary gateway, port, transport,
    register, username, password) resets ``status`` to ``pending`` until it is checked again.
    Changing ``phone_number`` of an assigned connection re-applies the assignment rule: 409
    ``phone_in_use`` if another agent (not assigned to this connection) holds the new number on
    call.
    """

    name: str | None = Field(default=None, min_length=1, max_length=255)
    phone_number: str | None = Field(default=None, min_length=1, max_length=32)
    gateway: Gateway | None = Field(default=None, max_length=255)
    username: str | None = Field(default=None, min_length=1, max_length=255)
    password: str | None = Field(default=None, min_length=1, max_length=255)
    secondary_gateway: Gateway | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    transport: Transport | None = None
    register_: bool | None = Field(default=None, alias="register")
    enabled: bool | None = Field(
        default=None,
        description="false disables the connection (status `disabled`, un-REGISTERed); "
        "true re-enables it (status `pending`, checked at once).",
    )

    @field_validator(*_NOT_NULLABLE, "register_", "enabled", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "This field cannot be null.")
        return value

    @field_validator("secondary_gateway", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value


class ConnectionRead(ResponseModel):
    uuid: uuid.UUID
    name: str
    phone_number: str
    gateway: str
    secondary_gateway: str | None
    port: int
    transport: Transport
    register_: bool = Field(alias="register")
    enabled: bool
    status: SipStatus
    status_detail: dict[str, Any] | None
    last_checked_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, c: SipConnection) -> ConnectionRead:
        return cls(
            uuid=c.id,
            name=c.name,
            phone_number=c.phone_number,
            gateway=c.gateway,
            secondary_gateway=c.secondary_gateway,
            port=c.port,
            transport=c.transport,
            register_=c.register,
            enabled=c.status != SipStatus.disabled,
            status=SipStatus(c.status),
            status_detail=c.status_detail,
            last_checked_at=c.last_checked_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class ConnectionAssign(RequestModel):
    connection_uuid: uuid.UUID
    force: bool = Field(
        default=False,
        description=(
            "Attach even when another agent holds the number on call. The newest assignment "
            "receives inbound calls; earlier agents keep outbound use."
        ),
    )


class ConnectionUnassign(RequestModel):
    connection_uuid: uuid.UUID | None = Field(
        default=None, description="The connection to detach; omit to detach all of them."
    )


class AssignmentRead(ResponseModel):
    agent_uuid: uuid.UUID
    connection_uuid: uuid.UUID
    phone_number: str = Field(description="The connection's number, verbatim.")


class UnassignmentRead(ResponseModel):
    agent_uuid: uuid.UUID
    unassigned_connection_uuids: list[uuid.UUID] = Field(
        description="Connections that were detached by this request (empty when none were)."
    )
