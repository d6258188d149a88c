"""Request models for external trunks (docs/api-decisions.md §4.1)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from trunkline.errors import SmsNotSupported
from trunkline.kit.schema import E164, Gateway, RequestModel, ResponseModel, json_size

MAX_ADDITIONAL_SETTINGS_BYTES = 16 * 1024


def _reject_sms(value: Any) -> Any:
    if value == "sms":
        raise PydanticCustomError(SmsNotSupported.code, SmsNotSupported.default_message)
    return value


TrunkChannel = Annotated[Literal["call", "whatsapp"], BeforeValidator(_reject_sms)]
DirectionField = Literal["inbound", "outbound", "both"]
Transport = Literal["udp", "tcp", "tls"]


class TrunkSipIn(RequestModel):
    """SIP settings of a call trunk, encrypted at rest (credentials are never returned)."""

    gateway: Gateway = Field(max_length=255, examples=["sip.acme.com"])
    port: int = Field(default=5060, ge=1, le=65535)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255)
    secondary_gateway: Gateway | None = Field(default=None, max_length=255)
    transport: Transport = "udp"

    @field_validator("secondary_gateway", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def _settings_size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and json_size(value) > MAX_ADDITIONAL_SETTINGS_BYTES:
        raise PydanticCustomError(
            "too_large", "additional_settings must serialize to at most 16 KiB of JSON."
        )
    return value


class TrunkCreate(RequestModel):
    phone_number: E164 = Field(examples=["+12025550123"])
    agent_uuid: uuid.UUID
    channel: TrunkChannel = Field(description="call or whatsapp (sms: use the agent SMS endpoint)")
    name: str | None = Field(default=None, min_length=1, max_length=255)
    direction: DirectionField = "both"
    sip: TrunkSipIn | None = None
    additional_settings: dict[str, Any] | None = None

    @field_validator("additional_settings")
    @classmethod
    def _check_settings(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _settings_size(value)


class TrunkSipPatch(RequestModel):
    """Partial SIP settings: only keys sent change; ``""`` (or null) clears a credential."""

    gateway: Gateway | None = Field(
        default=None, max_length=255, description="Required when the trunk has no SIP settings yet"
    )
    port: int | None = Field(default=None, ge=1, le=65535, description="null resets to 5060")
    username: str | None = Field(default=None, max_length=255, description='"" clears')
    password: str | None = Field(default=None, max_length=255, description='"" clears')
    secondary_gateway: Gateway | None = Field(default=None, max_length=255)
    transport: Transport | None = Field(default=None, description="null resets to udp")

    @field_validator("gateway", mode="before")
    @classmethod
    def _gateway_not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "The gateway may not be null.")
        return value

    @field_validator("secondary_gateway", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class TrunkRef(RequestModel):
    """Identifies a trunk row: (phone_number, channel)."""

    phone_number: E164 = Field(examples=["+12025550123"])
    channel: TrunkChannel


class TrunkUpdate(TrunkRef):
    """Only the fields sent change. ``sip: null`` removes all SIP settings; ``additional_settings``
    replaces the whole object (``{}`` or null clears it); ``name: null`` restores the default."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    direction: DirectionField | None = None
    sip: TrunkSipPatch | None = None
    additional_settings: dict[str, Any] | None = None

    @field_validator("additional_settings")
    @classmethod
    def _check_settings(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _settings_size(value)


class TrunkAssign(TrunkRef):
    agent_uuid: uuid.UUID


class TrunkDeleted(ResponseModel):
    phone_number: str = Field(examples=["+12025550123"])
    channel: str = Field(examples=["call"])
    number_removed: bool = Field(description="True when the number had no trunk rows left")
