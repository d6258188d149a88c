"""Models for numbers: ChannelsSnapshot (§3.1), PhoneNumber (§3.2), requests (§4.2, §4.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from trunkline.binding.rules import Channel, NumberStatus, Source
from trunkline.kit.e164 import COUNTRY_CODES
from trunkline.kit.schema import E164, RequestModel, ResponseModel, UtcDatetime
from trunkline.kit.sip_status import SipStatus
from trunkline.phone_number.compliance import ComplianceRead, PurchaseAddress, PurchaseRequirement
from trunkline.phone_number.provider.base import NumberType

_LIMIT = "Max concurrent calls (or messages in flight); 0 = no limit"
_AGENT_UUID = 'The bound agent\'s uuid; "" when unbound'
_AGENT_NAME = 'The bound agent\'s name; "" when unbound'


class CapableChannelState(ResponseModel):
    capable: bool
    enabled: bool
    channel_limit: int = Field(description=_LIMIT, examples=[10])
    whitelisted_destinations: list[str] = Field(examples=[["US"]])
    bound: bool
    agent_uuid: str = Field(description=_AGENT_UUID)
    agent_name: str = Field(description=_AGENT_NAME)


class BindingState(ResponseModel):
    bound: bool
    agent_uuid: str = Field(description=_AGENT_UUID)
    agent_name: str = Field(description=_AGENT_NAME)


class InboundState(ResponseModel):
    enabled: bool
    channel_limit: int = Field(description=_LIMIT, examples=[10])


class SnapshotChannels(ResponseModel):
    call: CapableChannelState
    sms: CapableChannelState
    whatsapp: BindingState
    inbound: InboundState


class ChannelsSnapshot(ResponseModel):
    """Capability (what the number can carry), state (what is enabled) and binding per channel."""

    phone_number_uuid: uuid.UUID
    number: str = Field(examples=["+12025550123"])
    is_external: bool
    source: Source = Field(examples=["external"])
    channels: SnapshotChannels


# --- PhoneNumber (inventory item, docs/api-decisions.md §3.2) ---


class CapabilitiesRead(ResponseModel):
    voice: bool
    sms: bool
    mms: bool
    fax: bool
    emergency: bool
    local_calling: bool


class ChannelSettingRead(ResponseModel):
    enabled: bool
    channel_limit: int = Field(description=_LIMIT, examples=[10])
    whitelisted_destinations: list[str] = Field(examples=[["US"]])


class ChannelSettingsRead(ResponseModel):
    voice: ChannelSettingRead
    sms: ChannelSettingRead
    inbound: InboundState


class BillingRead(ResponseModel):
    monthly_fee: float = Field(examples=[1.15], description="0 for external numbers")
    currency: str = Field(
        examples=["EUR"], description="External numbers: the workspace's currency"
    )


class BindingsRead(ResponseModel):
    call: BindingState
    sms: BindingState
    whatsapp: BindingState


class TrunkSipRead(ResponseModel):
    """A trunk's SIP settings; credentials are write-only (only ``has_*`` flags are shown)."""

    gateway: str
    port: int
    secondary_gateway: str | None
    transport: str
    has_username: bool
    has_password: bool
    status: SipStatus = Field(
        examples=["active"],
        description="Live SIP health from the monitor (same values as connections).",
    )
    status_detail: dict[str, Any] | None
    last_checked_at: UtcDatetime | None


class TrunkRead(ResponseModel):
    channel: str = Field(examples=["call"])
    name: str
    direction: str = Field(examples=["both"])
    sip: TrunkSipRead | None
    additional_settings: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PhoneNumberRead(ResponseModel):
    """A number of the inventory: purchased through the provider, or external (BYO)."""

    phone_number_uuid: uuid.UUID
    number: str = Field(examples=["+12025550123"])
    country_code: str = Field(examples=["US"])
    location: str = Field(description='Where the number is; "" when unknown')
    type: str = Field(examples=["local"], description="local|toll_free|mobile|national|unknown")
    is_external: bool
    source: Source = Field(examples=["purchased"], description="purchased|external")
    status: NumberStatus = Field(examples=["active"], description="active|released")
    capabilities: CapabilitiesRead
    channel_settings: ChannelSettingsRead
    billing: BillingRead = Field(
        description="External numbers are never billed: monthly_fee 0 in the workspace's currency"
    )
    bindings: BindingsRead
    compliance: ComplianceRead
    address: dict[str, str] = Field(
        description="The address sent when buying, as sent ({} when none, and for external numbers)"
    )
    requirements: list[dict[str, str]] = Field(
        description="The requirement entries sent when buying, as sent ([] when none)"
    )
    trunks: list[TrunkRead] | None = Field(
        description="External numbers: their trunk rows (one per channel); null when purchased"
    )
    purchased_at: UtcDatetime = Field(description="External numbers: when first registered")
    released_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class AvailableNumber(ResponseModel):
    """A number the provider offers (docs/api-decisions.md §4.3 search)."""

    number: str = Field(examples=["+12015550123"])
    country_code: str = Field(examples=["US"])
    type: str = Field(examples=["local"])
    location: str = Field(examples=["New Jersey"], description='"" when unknown')
    monthly_fee: float = Field(examples=[1.15])
    currency: str = Field(examples=["USD"])
    capabilities: CapabilitiesRead


# --- requests -------------------------------------------------------------------------------


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRY_CODES:
        raise PydanticCustomError(
            "invalid_country_code", "Must be an ISO-3166 alpha-2 country code, e.g. US."
        )
    return code


CountryCode = Annotated[str, AfterValidator(_country)]


def _digits(value: str) -> str:
    """A number or number prefix given with or without ``+`` (a ``+`` may arrive as a space)."""
    digits = value.strip().removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
        raise PydanticCustomError("invalid_digits", "Must be up to 15 digits, optionally after +.")
    return digits


Digits = Annotated[str, AfterValidator(_digits)]


_LIMIT_IN = "Max concurrent calls (or messages in flight); 0 or null = no limit"


class _SettingPatch(RequestModel):
    @field_validator("enabled", "whitelisted_destinations", mode="before", check_fields=False)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "May not be null.")
        return value


class ChannelSettingPatch(_SettingPatch):
    enabled: bool | None = None
    channel_limit: int | None = Field(default=None, ge=0, description=_LIMIT_IN)
    whitelisted_destinations: list[CountryCode] | None = Field(
        default=None, max_length=300, description="ISO-3166 alpha-2 codes", examples=[["US"]]
    )

    @field_validator("whitelisted_destinations")
    @classmethod
    def _dedupe(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class InboundPatch(_SettingPatch):
    enabled: bool | None = None
    channel_limit: int | None = Field(default=None, ge=0, description=_LIMIT_IN)


_SUB_OBJECT = "null or {} leaves this sub-object unchanged"


class ChannelSettingsPatch(RequestModel):
    voice: ChannelSettingPatch | None = Field(default=None, description=_SUB_OBJECT)
    sms: ChannelSettingPatch | None = Field(default=None, description=_SUB_OBJECT)
    inbound: InboundPatch | None = Field(default=None, description=_SUB_OBJECT)


class PhoneNumberUpdate(RequestModel):
    """Only the keys sent change; a sub-object sent as null (or {}) stays as it is;
    ``channel_limit`` 0 (or null) means no limit."""

    channel_settings: ChannelSettingsPatch | None = Field(description="null or {} changes nothing")

    def settings_patch(self) -> dict[str, dict[str, Any]]:
        """The sent keys of each sent sub-object; unsent keys and null sub-objects are absent,
        so they do not change. "No limit" (0 or null) is stored as null."""
        if self.channel_settings is None:
            return {}
        patch: dict[str, dict[str, Any]] = {}
        for key in self.channel_settings.model_fields_set:
            sub = getattr(self.channel_settings, key)
            if sub is None:
                continue
            values = sub.model_dump(exclude_unset=True)
            if "channel_limit" in values:
                values["channel_limit"] = values["channel_limit"] or None
            patch[key] = values
        return patch


class PhoneNumberPurchase(RequestModel):
    """Buy a number offered by the provider (see ``GET /phone-numbers/search``)."""

    number: E164 = Field(examples=["+12015550123"])
    country_code: CountryCode = Field(examples=["US"])
    type: NumberType = Field(examples=["local"])
    monthly_fee: Decimal | None = Field(
        default=None, ge=0, description="Informational: the provider's quote is what is billed."
    )
    capabilities: dict[str, bool] | None = Field(
        default=None, description="Informational: the provider's capabilities are recorded."
    )
    location: str | None = Field(
        default=None, max_length=255, description="Used when the provider knows no location."
    )
    # Regulated numbers (docs/api-decisions.md §6.7): stored, returned, and checked against
    # what the provider demands for the country and type (``compliance``).
    address: PurchaseAddress | None = Field(
        default=None,
        description="Needed when the number's compliance requires an address; country_code "
        "defaults to the purchase's.",
    )
    requirements: list[PurchaseRequirement] | None = Field(
        default=None,
        max_length=50,
        description="Requirement entries, each naming a requirement by key (see compliance).",
    )


@dataclass(frozen=True)
class NumberFilters:
    """List filters; ``None`` means "any". ``channel`` and ``agent_id`` match holdings (every
    way an agent answers a number); ``trunk_channel`` matches external trunk rows."""

    source: Source | None = None
    status: NumberStatus | None = None
    channel: Channel | None = None
    agent_id: uuid.UUID | None = None
    number_digits: str | None = None  # prefix of the E.164 digits
    trunk_channel: Channel | None = None
