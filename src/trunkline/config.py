"""The one settings object. Nothing else in Trunkline reads ``os.environ``.

Every value comes from ``TRUNKLINE_*`` environment variables (nested groups use ``__``, e.g.
``TRUNKLINE_MONITOR__INTERVAL_S``) or a ``.env`` file. Top-level shortcuts the README documents
(``TRUNKLINE_DATABASE_URL``, ``TRUNKLINE_ENCRYPTION_KEYS``, ``TRUNKLINE_HOST``, ``TRUNKLINE_PORT``)
are accepted as well as their nested spellings.
"""

from __future__ import annotations

import ipaddress
import json
import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def project_root() -> Path | None:
    """The source checkout Trunkline runs from (an editable install, as ``make`` sets up), if any:
    the directory holding pyproject.toml above ``src/trunkline``."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "src" / "trunkline").is_dir():
        return root
    return None


def default_data_dir() -> Path:
    """``<project root>/data`` in a source checkout, else ``$XDG_DATA_HOME/trunkline``
    (``~/.local/share/trunkline``): absolute either way, so the server and the CLI find the same
    database wherever they are started from."""
    root = project_root()
    if root is not None:
        return root / "data"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "trunkline"


def _env_files() -> tuple[str, ...]:
    # The project's .env wherever the command runs, then one in the current directory (wins).
    root = project_root()
    return (str(root / ".env"), ".env") if root is not None else (".env",)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default: SQLite file data_dir/trunkline.db",
    )
    echo: bool = False
    pool_size: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Pooled connections; as many again may overflow. Default: 10 on PostgreSQL, 5 on "
            "SQLite (each SQLite connection keeps its own page cache of up to 2 MB, and one "
            "writer at a time needs no more)."
        ),
    )
    pool_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for a pooled connection."
    )
    busy_timeout_s: float = 15.0
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait to open a PostgreSQL connection."
    )


def cidr_list(value: Any) -> Any:
    """Addresses / CIDR blocks from the environment: a JSON list or comma-separated text."""
    if isinstance(value, str):  # NoDecode: the raw env text, JSON list or comma-separated
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
        value = [part for part in value if str(part).strip()]
    if isinstance(value, list):
        for item in value:
            ipaddress.ip_network(str(item).strip(), strict=False)  # ValueError names it
        return [str(item).strip() for item in value]
    return value


class SecuritySettings(BaseModel):
    # Comma-separated keyring, newest first: "kid:base64url-32-bytes" or bare base64url keys.
    encryption_keys: SecretStr | None = None
    # Egress policy (kit/egress.py): CIDRs, as a JSON list or comma-separated.
    allow_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks Trunkline may reach although denied by default (e.g. 127.0.0.0/8).",
    )
    deny_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Networks Trunkline must never reach, on top of defaults."
    )

    @field_validator("allow_addresses", "deny_addresses", mode="before")
    @classmethod
    def _cidr_list(cls, value: Any) -> Any:
        return cidr_list(value)


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    loop: Literal["asyncio", "uvloop"] = Field(
        default="asyncio",
        description="Event loop of `trunkline serve` and `trunkline call-worker`. uvloop costs "
        "less CPU per API request and per media packet (bench/README.md) but the call suites "
        "are not yet shown sound on it: choose it for API-only servers "
        "(TRUNKLINE_CALLS__ENABLED=false) or after testing your call load on it.",
    )


class SipSettings(BaseModel):
    listen: str = Field(
        default="127.0.0.1:5060",
        description="host:port of the call worker's SIP listener (UDP and TCP); port 0 = any.",
    )
    public_address: str | None = Field(
        default=None,
        description="host:port put in Via/Contact, advertised as the Contact of registrations "
        "Trunkline holds and shown as sip_connector_server; default: the listen address.",
    )

    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="SIP proxies (addresses / CIDRs) whose X-Trunkline-Source header names the "
        "carrier's real address for the trust check (a dispatcher in front of the workers).",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        return cidr_list(value)

    @property
    def public_address_resolved(self) -> str:
        return self.public_address or self.listen


class MediaSettings(BaseModel):
    """RTP (``TRUNKLINE_MEDIA__*``)."""

    rtp_ports: str = Field(
        default="20000-20999", description="UDP port range for RTP (one even port per call)."
    )
    public_ip: str | None = Field(
        default=None, description="Address announced in SDP (c=); default: the SIP host."
    )

    @property
    def port_range(self) -> tuple[int, int]:
        first, _, last = self.rtp_ports.partition("-")
        return int(first), int(last or first)

    @model_validator(mode="after")
    def _check_range(self) -> MediaSettings:
        first, last = self.port_range
        if not (1024 <= first <= last <= 65535) or last - first < 1:
            raise ValueError("rtp_ports must be FIRST-LAST within 1024-65535")
        return self


class CallSettings(BaseModel):
    """The call path (``TRUNKLINE_CALLS__*``)."""

    enabled: bool = Field(default=True, description="Run a call worker inside `trunkline serve`.")
    agent_connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Give up on an agent's WebSocket after."
    )
    ring_timeout_s: float = Field(default=30.0, gt=0, description="Outbound: CANCEL after.")
    media_timeout_s: float = Field(
        default=60.0, gt=0, description="Hang up after this long without RTP from the far end."
    )
    lease_ttl_s: float = Field(
        default=30.0, gt=0, description="A live call's lease expires after (crash safety)."
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, description="How often a worker extends its leases and polls hang-ups."
    )
    resolve_interval_s: float = Field(
        default=30.0, gt=0, description="How often gateway host names are resolved again."
    )


class MonitorSettings(BaseModel):
    """The SIP health monitor (``TRUNKLINE_MONITOR__*``)."""

    enabled: bool = Field(default=True, description="Run the monitor inside `trunkline serve`.")
    interval_s: float = Field(default=30.0, gt=0, description="Seconds between checks of a target.")
    jitter_s: float = Field(default=3.0, ge=0, description="Random spread added to each interval.")
    concurrency: int = Field(default=200, ge=1, description="Checks in flight at once.")
    batch_size: int = Field(default=500, ge=1, description="Targets claimed per database round.")
    timeout_s: float = Field(default=4.0, gt=0, description="Give up on one SIP transaction after.")
    t1_s: float = Field(default=0.5, gt=0, description="RFC 3261 T1 (RTT estimate).")
    t2_s: float = Field(default=4.0, gt=0, description="RFC 3261 T2 (max retransmit interval).")
    misses_before_unreachable: int = Field(default=2, ge=1)
    register_expires_s: int = Field(default=300, ge=1)
    lease_s: float = Field(default=60.0, gt=0, description="A claim expires after (crash safety).")
    tick_s: float = Field(default=1.0, gt=0, description="How often to look for due targets.")
    tls_ca_file: str | None = Field(default=None, description="Extra CA bundle for TLS gateways.")
    from_user: str = "trunkline"
    instance_id: str | None = Field(default=None, description="Lease owner name; default host:pid")


class LimitSettings(BaseModel):
    purchase_limit: int = 10


class ProviderSettings(BaseModel):
    name: str = "sandbox"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRUNKLINE_",
        env_nested_delimiter="__",
        env_file=_env_files(),
        extra="ignore",
    )

    env: Environment = Environment.development
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="A relative path is relative to the project root (else the current directory).",
    )
    database_url: str | None = None
    encryption_keys: SecretStr | None = None
    host: str | None = None
    port: int | None = None

    db: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    server: ServerSettings = ServerSettings()
    sip: SipSettings = SipSettings()
    media: MediaSettings = MediaSettings()
    calls: CallSettings = CallSettings()
    limits: LimitSettings = LimitSettings()
    monitor: MonitorSettings = MonitorSettings()
    provider: ProviderSettings = ProviderSettings()

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        if value.is_absolute():
            return value
        return ((project_root() or Path.cwd()) / value).resolve()

    @model_validator(mode="after")
    def _apply_shortcuts(self) -> Settings:
        if self.database_url:
            self.db.url = self.database_url
        if self.encryption_keys is not None:
            self.security.encryption_keys = self.encryption_keys
        if self.host:
            self.server.host = self.host
        if self.port:
            self.server.port = self.port
        return self

    @property
    def database_url_resolved(self) -> str:
        if self.db.url:
            return self.db.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'trunkline.db').resolve()}"

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
