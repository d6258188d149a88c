"""SIP trunk connections (contract §4.4, seed 002)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, field_validator

from trunkline.kit.schema import Gateway, RequestModel, ResponseModel, UtcDatetime
from trunkline.models import SipConnection

Transport = Literal["udp", "tcp", "tls"]
ConnectionStatus = Literal["pending", "active", "degraded", "auth_failed", "unreachable", "disabled"]


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
    status: ConnectionStatus
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
            transport=c.transport,  # type: ignore[arg-type]
            register_=c.register,
            status=c.status,  # type: ignore[arg-type]
            status_detail=c.status_detail,
            last_checked_at=c.last_checked_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
