"""Dialog state (RFC 3261 §12) and the requests built inside a dialog. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkline.sip.errors import SipParseError
from trunkline.sip.message import SipRequest, SipResponse, parse_name_addr, parse_params
from trunkline.sip.server_transaction import header_tag, split_hostport


@dataclass(frozen=True, slots=True)
class SipUri:
    user: str | None
    host: str  # without IPv6 brackets
    port: int | None
    params: dict[str, str]

    @property
    def transport(self) -> str:
        return self.params.get("transport", "udp").lower()


def parse_sip_uri(uri: str) -> SipUri:
    """``sip:user@host:port;params`` (RFC 3261 §19.1.1); headers after ``?`` are ignored."""
    uri = uri.strip()
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError(f"not a SIP URI: {uri[:40]!r}")
    rest = rest.partition("?")[0]
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        userinfo, hostpart = "", rest
    hostport, _, param_text = hostpart.partition(";")
    host, port = split_hostport(hostport)
    if not host:
        raise SipParseError(f"SIP URI without a usable host: {uri[:40]!r}")
    user = userinfo.partition(":")[0] or None  # drop a password, never use it
    return SipUri(user, host, port, parse_params(param_text))


def uri_of(header_value: str) -> str:
    """The URI of a name-addr header value (From, To, Contact, Route)."""
    return parse_name_addr(header_value)[0]


def user_of(header_value: str) -> str | None:
    """The user part of a name-addr's SIP URI, or None (e.g. a tel: URI has none here)."""
    try:
        return parse_sip_uri(uri_of(header_value)).user
    except SipParseError:
        return None


def display_name_of(header_value: str) -> str | None:
    """The display name of ``"Alice" <sip:...>`` or ``Alice <sip:...>`` (RFC 3261 §20.10)."""
    head = header_value.partition("<")[0].strip() if "<" in header_value else ""
    if len(head) >= 2 and head[0] == head[-1] == '"':
        head = head[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return head or None


@dataclass(slots=True)
class Dialog:
    """One INVITE dialog as seen from our side (RFC 3261 §12.1)."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_header: str  # our From/To value including our tag
    remote_header: str  # theirs, including their tag
    remote_target: str  # the far end's Contact URI
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int | None = None
    secure: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    def next_hop(self) -> SipUri:
        """Where in-dialog requests go: the first loose route, else the remote target (§12.2.1.1).

        Strict routers (a first route without ``lr``, RFC 2543) are not supported: we still send
        to that route, with the remote target as Request-URI, which loose routers accept.
        """
        first = uri_of(self.route_set[0]) if self.route_set else self.remote_target
        return parse_sip_uri(first)

    def request(
        self,
        method: str,
        *,
        cseq: int | None = None,
        contact: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        user_agent: str | None = None,
    ) -> SipRequest:
        """A request within the dialog (RFC 3261 §12.2.1.1); the sender adds the Via."""
        if cseq is None:
            self.local_cseq += 1  # RFC 3261 §12.2.1.1: one higher for each new request
            cseq = self.local_cseq
        headers = [
            ("Max-Forwards", "70"),
            ("From", self.local_header),
            ("To", self.remote_header),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        headers += [("Route", route) for route in self.route_set]
        if contact is not None:
            headers.append(("Contact", contact))
        if user_agent:
            headers.append(("User-Agent", user_agent))
        if content_type and body:
            headers.append(("Content-Type", content_type))
        return SipRequest(method=method, uri=self.remote_target, headers=headers, body=body)

    def accepts_remote_cseq(self, cseq: int) -> bool:
        """RFC 3261 §12.2.2: a lower CSeq than the last one is out of order (500)."""
        if self.remote_cseq is not None and cseq < self.remote_cseq:
            return False
        self.remote_cseq = cseq
        return True


def uas_dialog(invite: SipRequest, local_tag: str, *, to_with_tag: str) -> Dialog:
    """The dialog a 2xx to ``invite`` creates on the UAS side (RFC 3261 §12.1.1)."""
    remote_header = invite.get("from") or ""
    contacts = invite.values("contact")
    return Dialog(
        call_id=invite.call_id,
        local_tag=local_tag,
        remote_tag=header_tag(remote_header) or "",
        local_header=to_with_tag,
        remote_header=remote_header,
        remote_target=uri_of(contacts[0]) if contacts else invite.uri,
        # UAS: the Record-Route values in the order they appear (§12.1.1).
        route_set=invite.values("record-route"),
        local_cseq=0,
        remote_cseq=invite.cseq[0],
        secure=invite.uri.lower().startswith("sips:"),
    )


def uac_dialog(invite: SipRequest, response: SipResponse) -> Dialog:
    """The dialog a 2xx response creates on the UAC side (RFC 3261 §12.1.2)."""
    local_header = invite.get("from") or ""
    remote_header = response.get("to") or ""
    contacts = response.values("contact")
    return Dialog(
        call_id=invite.call_id,
        local_tag=header_tag(local_header) or "",
        remote_tag=header_tag(remote_header) or "",
        local_header=local_header,
        remote_header=remote_header,
        remote_target=uri_of(contacts[0]) if contacts else invite.uri,
        # UAC: the Record-Route values in reverse order (§12.1.2).
        route_set=list(reversed(response.values("record-route"))),
        local_cseq=invite.cseq[0],
        remote_cseq=None,
        secure=invite.uri.lower().startswith("sips:"),
    )
