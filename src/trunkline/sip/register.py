"""Registration with a registrar (RFC 3261 §10) including digest authentication (§22)."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from trunkline.sip.client import ErrorKind, SipClient, SipRequestFailed, Target, new_token
from trunkline.sip.digest import Challenge, build_authorization, select_challenge
from trunkline.sip.errors import SipParseError
from trunkline.sip.message import SipRequest, SipResponse, parse_name_addr
from trunkline.sip.resolve import TransportName
from trunkline.sip.trace import TraceEntry
from trunkline.sip.transport import Channel


@dataclass(frozen=True, slots=True)
class Credentials:
    """Digest credentials. The password lives only in memory and never in a repr."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(slots=True)
class RegisterResult:
    registered: bool
    sip_code: int | None = None
    reason: str | None = None
    auth_failed: bool = False
    expires_s: int | None = None
    registered_until: datetime | None = None
    rtt_ms: float | None = None
    error: ErrorKind | None = None
    error_detail: str | None = None
    remote: str | None = None
    transport: TransportName = "udp"
    trace: list[TraceEntry] = field(default_factory=list)


def _uri_key(uri: str) -> str:
    """Compare Contact URIs by user@host:port only (registrars add/reorder parameters)."""
    return uri.split(":", 1)[-1].split(";", 1)[0].split(">", 1)[0].lower()


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


class Registration:
    """One binding of ``contact_user`` at the registrar, kept alive by calling register().

    Every REGISTER of a Registration shares Call-ID and From tag and increments CSeq
    (RFC 3261 §10.2.4), so the registrar sees refreshes of the same binding.
    """

    def __init__(
        self,
        client: SipClient,
        target: Target,
        credentials: Credentials,
        *,
        aor_user: str | None = None,
        domain: str | None = None,
        expires_s: int = 300,
        contact_user: str | None = None,
        contact_hostport: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.client = client
        self.target = target
        self.credentials = credentials
        self.aor_user = aor_user or credentials.username
        domain = (domain or target.host).strip("[]")
        self.domain = f"[{domain}]" if ":" in domain else domain  # IPv6 literal in a URI
        self.expires_s = expires_s
        self.contact_user = contact_user or self.aor_user
        # Where calls for this binding should go: by default the socket the REGISTER leaves
        # from; a call worker's SIP edge when it is given (RFC 3261 §10.2.1: the Contact may
        # name any address that reaches the UA).
        self.contact_hostport = contact_hostport
        self.timeout_s = timeout_s
        self.call_id = new_token(12)
        self.cseq = 0
        self.registered_until: datetime | None = None
        self.refresh_due_at: datetime | None = None
        self._from_tag = new_token(4)
        self._challenge: tuple[str, Challenge] | None = None  # (header name, challenge)
        self._nc = 0
        self._contact = ""
        self._lock = asyncio.Lock()

    @property
    def request_uri(self) -> str:
        # RFC 3261 §10.2: the Request-URI names the registrar's domain, no user part.
        if self.domain.strip("[]") == self.target.host.strip("[]") and self.target.port:
            return f"sip:{self.domain}:{self.target.port}"
        return f"sip:{self.domain}"

    async def register(self) -> RegisterResult:
        """Register or refresh the binding."""
        return await self._run(self.expires_s)

    async def unregister(self) -> RegisterResult:
        """Remove our binding: same Contact with Expires: 0 (RFC 3261 §10.2.2)."""
        return await self._run(0)

    def _build(self, channel: Channel, expires: int) -> SipRequest:
        self.cseq += 1
        aor = f"sip:{self.aor_user}@{self.domain}"
        transport = "" if self.target.transport == "udp" else f";transport={self.target.transport}"
        hostport = self.contact_hostport or channel.local
        self._contact = f"sip:{self.contact_user}@{hostport}{transport}"
        headers = [
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={self._from_tag}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Contact", f"<{self._contact}>"),
            ("Expires", str(expires)),
            ("User-Agent", self.client.user_agent),
        ]
        if self._challenge is not None:
            header, challenge = self._challenge
            self._nc += 1  # RFC 7616 §3.4: nonce-count increases with each use of a nonce
            authorization = build_authorization(
                challenge,
                username=self.credentials.username,
                password=self.credentials.password,
                method="REGISTER",
                uri=self.request_uri,
                nc=self._nc,
            )
            headers.append((header, authorization))
        return SipRequest(method="REGISTER", uri=self.request_uri, headers=headers)

    async def _run(self, expires: int) -> RegisterResult:
        async with self._lock:
            trace: list[TraceEntry] = []
            result = RegisterResult(registered=False, transport=self.target.transport, trace=trace)
            # A cached challenge lets refreshes authenticate pre-emptively (RFC 3261 §22.3).
            fresh_challenge = False
            stale_retried = min_expires_retried = False
            sent_at = datetime.now(UTC)
            for _ in range(6):
                sent_at = datetime.now(UTC)
                try:
                    ex = await self.client.request(
                        self.target,
                        functools.partial(self._build, expires=expires),
                        timeout_s=self.timeout_s,
                        trace=trace,
                    )
                except SipRequestFailed as exc:
                    result.error, result.error_detail, result.remote = (
                        exc.kind,
                        exc.detail,
                        exc.remote,
                    )
                    return result
                response = ex.response
                result.sip_code, result.reason = response.status, response.reason
                result.rtt_ms, result.remote = ex.rtt_ms, ex.channel.remote.hostport
                if response.status in (401, 407):
                    header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
                    challenge = select_challenge(response.get_all(header))
                    if challenge is None:
                        return result  # no Digest challenge we can answer
                    if fresh_challenge and not (challenge.stale and not stale_retried):
                        # Our answer to a fresh challenge was rejected: wrong credentials.
                        result.auth_failed = True
                        return result
                    stale_retried = stale_retried or (fresh_challenge and challenge.stale)
                    auth_header = (
                        "Authorization" if response.status == 401 else "Proxy-Authorization"
                    )
                    self._challenge, self._nc, fresh_challenge = (auth_header, challenge), 0, True
                    continue
                if response.status == 423 and not min_expires_retried:
                    # RFC 3261 §10.2.8: retry once with the registrar's Min-Expires.
                    minimum = _int_or_none(response.get("Min-Expires"))
                    if minimum is None or minimum <= expires:
                        return result
                    expires = self.expires_s = minimum
                    min_expires_retried = True
                    continue
                break
            else:
                return result
            if response.status == 403:
                result.auth_failed = True
            elif 200 <= response.status < 300:
                self._apply_success(result, response, expires, sent_at)
            return result

    def _apply_success(
        self, result: RegisterResult, response: SipResponse, requested: int, sent_at: datetime
    ) -> None:
        granted: int | None = None
        for value in response.values("contact"):
            try:
                uri, params = parse_name_addr(value)
            except SipParseError:
                continue
            if _uri_key(uri) == _uri_key(self._contact):
                granted = _int_or_none(params.get("expires"))
                if granted is not None:
                    break
        if granted is None and requested > 0:
            # RFC 3261 §10.2.4: otherwise the Expires header, else what we asked for.
            granted = _int_or_none(response.get("Expires"))
            granted = requested if granted is None else granted
        if not granted:
            result.expires_s = 0
            self.registered_until = self.refresh_due_at = None
            return
        result.registered = True
        result.expires_s = granted
        # Measure from when the request left: the registrar's clock started no earlier.
        self.registered_until = result.registered_until = sent_at + timedelta(seconds=granted)
        lead = min(granted - 30, granted / 2)
        self.refresh_due_at = sent_at + timedelta(seconds=lead if lead > 0 else granted / 2)
