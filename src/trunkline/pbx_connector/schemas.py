"""PBX extension connectors (docs/api-decisions.md §4.6): Trunkline registered as an agent's PBX
extension."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from trunkline.kit.schema import E164, Gateway, RequestModel, ResponseModel, UtcDatetime
from trunkline.kit.sip_status import SipStatus
from trunkline.models import PbxConnector

SetupMode = Literal["inbound", "outbound", "both"]
ConnectionType = Literal["udp", "tcp", "tls"]

DEFAULT_PORT = 5060
DEFAULT_TLS_PORT = 5061


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


def _allowed_ip(value: str) -> str:
    """An IPv4/IPv6 address or CIDR network, stored in its canonical (compressed) form."""
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=True))
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise PydanticCustomError(
            "invalid_ip",
            "Must be an IPv4/IPv6 address or a CIDR network without host bits "
            "(for example 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32).",
        ) from exc


AllowedIp = Annotated[str, AfterValidator(_allowed_ip)]
_DIGITS = r"^[0-9]*$"
_PREFIX = r"^\+?[0-9]*$"


class Normalizer(RequestModel):
    """How numbers from the PBX are rewritten: when a number has ``condition_length`` digits
    and starts with ``condition_prefix``, ``default_prefix`` is prepended."""

    default_prefix: str | None = Field(default=None, max_length=16, pattern=_PREFIX)
    condition_length: str | None = Field(default=None, max_length=4, pattern=_DIGITS)
    condition_prefix: str | None = Field(default=None, max_length=16, pattern=_PREFIX)


_NORMALIZER_KEYS = ("default_prefix", "condition_length", "condition_prefix")
EMPTY_NORMALIZER: dict[str, str | None] = dict.fromkeys(_NORMALIZER_KEYS)


class PbxConnectorCreate(RequestModel):
    agent_uuid: uuid.UUID
    phone_number: E164 = Field(examples=["+12025550123"])
    registrar_server: Gateway = Field(max_length=255, examples=["pbx.example.com"])
    username_extension: str = Field(min_length=1, max_length=255, examples=["201"])
    pbx_password: str = Field(min_length=1, max_length=255, description="Write-only.")
    allowed_ip: AllowedIp | None = Field(
        default=None, max_length=64, description="Only accept inbound SIP from this IP/CIDR."
    )
    setup_mode: SetupMode = "both"
    connection_type: ConnectionType = "udp"
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Default 5060, or 5061 for tls."
    )
    auth_username: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Separate digest username (with auth_password); shown back, not a secret.",
    )
    auth_password: str | None = Field(
        default=None, min_length=1, max_length=255, description="Write-only."
    )
    normalizer: Normalizer | None = None
    name: str | None = Field(
        default=None, min_length=1, max_length=255, description="Default pbx_extension_{digits}."
    )

    @field_validator("allowed_ip", mode="before")
    @classmethod
    def _blank_ip(cls, value: Any) -> Any:
        return _blank_is_none(value)


_NOT_NULLABLE = (
    "agent_uuid",
    "phone_number",
    "registrar_server",
    "username_extension",
    "pbx_password",
    "setup_mode",
    "connection_type",
    "port",
    "name",
)


class PbxConnectorUpdate(RequestModel):
    """Partial update: only the keys sent change, under the create rules.

    ``pbx_password``/``auth_password`` may be replaced, never read. ``allowed_ip``,
    ``auth_username``/``auth_password`` (together) may be cleared with null. ``normalizer``
    merges key by key (null clears it). ``port`` never changes implicitly (switching to tls
    keeps the stored port). Moving the connector to another ``agent_uuid`` or ``phone_number``
    re-applies the binding rule (409 ``number_already_bound``). A change to what registration
    uses (registrar, port, transport, setup mode, extension, credentials) resets ``status`` to
    ``pending``.
    """

    agent_uuid: uuid.UUID | None = None
    phone_number: E164 | None = None
    registrar_server: Gateway | None = Field(default=None, max_length=255)
    username_extension: str | None = Field(default=None, min_length=1, max_length=255)
    pbx_password: str | None = Field(default=None, min_length=1, max_length=255)
    allowed_ip: AllowedIp | None = Field(default=None, max_length=64)
    setup_mode: SetupMode | None = None
    connection_type: ConnectionType | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    auth_username: str | None = Field(default=None, min_length=1, max_length=255)
    auth_password: str | None = Field(default=None, min_length=1, max_length=255)
    normalizer: Normalizer | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator(*_NOT_NULLABLE, mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "This field cannot be null.")
        return value

    @field_validator("allowed_ip", mode="before")
    @classmethod
    def _blank_ip(cls, value: Any) -> Any:
        return _blank_is_none(value)


class PbxSettingsRead(ResponseModel):
    registrar_server: str
    port: int
    username_extension: str


# The upstream API types these as strings: an unset one is "" rather than null (§6.2).
class InboundRead(ResponseModel):
    allowed_ip: str = Field(description='IP or CIDR calls may come from; "" = any')


class AuthRead(ResponseModel):
    has_separate_credentials: bool
    username: str = Field(description='The separate digest username; "" when none')


class NormalizerRead(ResponseModel):
    default_prefix: str = Field(description='"" when unset')
    condition_length: str = Field(description='"" when unset')
    condition_prefix: str = Field(description='"" when unset')


class PbxConnectorRead(ResponseModel):
    pbx_extension_connector_uuid: uuid.UUID
    name: str
    status: SipStatus
    status_detail: dict[str, Any] | None
    phone_number: str
    agent_uuid: uuid.UUID
    agent_name: str
    sip_connector_server: str = Field(description="This deployment's public SIP address")
    connection_type: ConnectionType
    setup_mode: SetupMode
    pbx: PbxSettingsRead
    inbound: InboundRead
    auth: AuthRead
    normalizer: NormalizerRead
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, c: PbxConnector, agent_name: str, sip_connector_server: str) -> PbxConnectorRead:
        return cls(
            pbx_extension_connector_uuid=c.id,
            name=c.name,
            status=c.status,
            status_detail=c.status_detail,
            phone_number=c.phone_number,
            agent_uuid=c.agent_id,
            agent_name=agent_name,
            sip_connector_server=sip_connector_server,
            connection_type=c.connection_type,
            setup_mode=c.setup_mode,
            pbx=PbxSettingsRead(
                registrar_server=c.registrar_server,
                port=c.port,
                username_extension=c.username_extension,
            ),
            inbound=InboundRead(allowed_ip=c.allowed_ip or ""),
            auth=AuthRead(
                has_separate_credentials=c.auth_password_secret is not None,
                username=c.auth_username or "",
            ),
            normalizer=NormalizerRead(**{k: c.normalizer.get(k) or "" for k in _NORMALIZER_KEYS}),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
