from __future__ import annotations

import uuid
import zoneinfo
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import Row

from trunkline.binding.rules import Via
from trunkline.call.rules import stream_token_problem, stream_url_problem
from trunkline.kit.egress import check_host, current_policy
from trunkline.kit.schema import RequestModel, ResponseModel, UtcDatetime, json_size
from trunkline.models import Agent

AgentStatus = Literal["active", "paused"]


def _stream_url(value: str) -> str:
    # An empty string means "none" (it clears the URL on PATCH), as for the token.
    problem = stream_url_problem(value) if value else None
    if problem:
        raise PydanticCustomError("stream_url", problem)
    # Where Trunkline will open a WebSocket: the egress policy refuses loopback, link-local...
    # on write (kit/egress.py); the call worker checks the resolved address again.
    host = urlsplit(value).hostname if value else None
    if host and (reason := check_host(host, current_policy())) is not None:
        raise PydanticCustomError(
            "address_not_allowed", "Address not allowed: {reason}.", {"reason": reason}
        )
    return value


def _stream_token(value: str) -> str:
    problem = stream_token_problem(value)
    if problem:
        raise PydanticCustomError("stream_auth_token", problem)
    return value


StreamUrl = Annotated[
    str,
    AfterValidator(_stream_url),
    Field(
        description="The agent's WebSocket (ws:// or wss://, ≤ 2048 characters): Trunkline "
        "connects to it for every answered call and speaks Twilio Media Streams; null or an "
        "empty string means none (and clears it on PATCH)",
        examples=["wss://agent.example.com/twilio"],
    ),
]
StreamToken = Annotated[
    str,
    AfterValidator(_stream_token),
    Field(
        description="Write-only: sent as `Authorization: Bearer <token>` when connecting to "
        "stream_url; encrypted at rest, never shown (responses say has_stream_auth_token). Null "
        "or an empty string means none (and clears it on PATCH)",
    ),
]


MAX_SETTINGS_BYTES = 16 * 1024
# The sections the upstream API's agent settings always have; each is an object.
SETTINGS_SECTIONS = ("voice", "text", "memorize", "evaluation")


def _settings(value: dict[str, Any]) -> dict[str, Any]:
    if json_size(value) > MAX_SETTINGS_BYTES:
        raise PydanticCustomError("too_large", "settings must serialize to at most 16 KiB of JSON.")
    for section in SETTINGS_SECTIONS:
        if section in value and not isinstance(value[section], dict):
            raise PydanticCustomError(
                "settings_section", "settings.{section} must be an object.", {"section": section}
            )
    return value


def _timezone(value: str) -> str:
    try:
        known = value == "UTC" or zoneinfo.ZoneInfo(value) is not None
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        known = False
    if not known:
        raise PydanticCustomError(
            "invalid_timezone", "Must be an IANA time zone name, e.g. Europe/Rome or UTC."
        )
    return value


AgentSettings = Annotated[
    dict[str, Any],
    AfterValidator(_settings),
    Field(
        description="Free-form agent settings kept for the agent's own use (at most 16 KiB of "
        "JSON); the sections voice, text, memorize and evaluation are objects, and are always "
        "shown (empty when never set)",
        examples=[{"voice": {}, "text": {}, "memorize": {}, "evaluation": {}}],
    ),
]
Description = Annotated[str, Field(max_length=2000, description="Free text about the agent")]
Language = Annotated[
    str,
    Field(
        min_length=1,
        max_length=35,
        pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
        description="BCP 47 language tag",
        examples=["en", "it-IT"],
    ),
]
Timezone = Annotated[
    str,
    AfterValidator(_timezone),
    Field(max_length=64, description="IANA time zone name", examples=["Europe/Rome"]),
]


class AgentCreate(RequestModel):
    name: str = Field(min_length=1, max_length=255, examples=["Front desk"])
    status: AgentStatus = "active"
    description: Description = ""
    language: Language = "en"
    timezone: Timezone = "UTC"
    settings: AgentSettings | None = None
    stream_url: StreamUrl | None = None
    stream_auth_token: StreamToken | None = None


class AgentUpdate(RequestModel):
    """Only the fields sent change (null leaves a field as it is, except the stream fields,
    where null clears); ``settings`` replaces the whole object."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    status: AgentStatus | None = None
    description: Description | None = None
    language: Language | None = None
    timezone: Timezone | None = None
    settings: AgentSettings | None = None
    stream_url: StreamUrl | None = None
    stream_auth_token: StreamToken | None = None


class NumberBind(RequestModel):
    phone_number_uuid: uuid.UUID = Field(
        description="An active number of the workspace's inventory"
    )


class ChannelBindingRead(ResponseModel):
    """One way the agent answers a number on a channel."""

    number: str = Field(
        description="E.164; a connection's number that does not parse is shown verbatim",
        examples=["+12025550123"],
    )
    phone_number_uuid: uuid.UUID | None = Field(
        description="The number in the inventory; null when it is not there (a connection's or "
        "PBX connector's number need not be)"
    )
    bound_via: Via = Field(
        description="trunk: external trunk row; provision: an owned number bound through the "
        "agent channel endpoints; connection: a SIP trunk connection assignment; pbx: a PBX "
        "extension connector"
    )
    connection_uuid: uuid.UUID | None = Field(description="Set when bound_via is connection")
    pbx_extension_connector_uuid: uuid.UUID | None = Field(description="Set when bound_via is pbx")
    receives_inbound: bool = Field(
        description="This agent is the number's current holder on the channel (the most recently "
        "assigned, shown in snapshots); false for an earlier forced agent, which keeps outbound use"
    )
    bound_at: UtcDatetime


class AgentChannelMap(ResponseModel):
    call: list[ChannelBindingRead]
    sms: list[ChannelBindingRead]
    whatsapp: list[ChannelBindingRead]


class AgentRead(ResponseModel):
    """The whole agent (docs/api-decisions.md §6.3), as every endpoint that returns one shows it."""

    agent_uuid: uuid.UUID
    name: str
    description: str
    language: str = Field(examples=["en"])
    timezone: str = Field(examples=["UTC"])
    status: AgentStatus
    settings: dict[str, Any] = Field(
        description="The agent's settings; voice, text, memorize and evaluation always present"
    )
    stream_url: str | None = Field(description="Where Trunkline connects for each call")
    has_stream_auth_token: bool = Field(description="A stream_auth_token is stored")
    channels: AgentChannelMap = Field(description="Every way the agent answers, per channel")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, agent: Agent | Row[Any], channels: AgentChannelMap) -> AgentRead:
        """From the model, or a list page's Core row (the same column names)."""
        return cls(
            agent_uuid=agent.id,
            name=agent.name,
            description=agent.description,
            language=agent.language,
            timezone=agent.timezone,
            status=agent.status,
            settings={**{s: {} for s in SETTINGS_SECTIONS}, **agent.settings},
            stream_url=agent.stream_url,
            has_stream_auth_token=agent.stream_auth_token_secret is not None,
            channels=channels,
            created_at=agent.created_at,
            updated_at=agent.updated_at,
        )


class AgentChannelsRead(ResponseModel):
    agent: AgentRead
