"""Server transactions (RFC 3261 §17.2) and the pure helpers a UAS needs to answer requests.

A :class:`ServerTransaction` remembers the last response it sent so retransmitted requests
are absorbed by re-sending it, retransmits a non-2xx final response to an INVITE on Timer G
until the ACK arrives (§17.2.1), and lingers for Timer J / Timer H so late retransmissions are
still recognised. 2xx responses to INVITE are retransmitted by the dialog layer (§13.3.1.4).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from trunkline.sip.errors import SipParseError
from trunkline.sip.message import (
    SipRequest,
    SipResponse,
    parse_name_addr,
    parse_params,
    split_list,
)

SendFn = Callable[[bytes], None]
T4_S = 5.0  # RFC 3261 §17.1.2.2: maximum time a message may stay in the network


@dataclass(frozen=True, slots=True)
class TopVia:
    transport: str  # "UDP", "TCP", ...
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def sent_by(self) -> str:
        return f"{self.host}:{self.port}" if self.port is not None else self.host


def parse_top_via(value: str) -> TopVia | None:
    """The first via-parm of a Via header value, or None when it is not ``SIP/2.0/X host``."""
    parts = split_list(value)
    if not parts:
        return None
    head, _, params = parts[0].partition(";")
    protocol, _, sent_by = head.strip().partition(" ")
    proto_parts = protocol.split("/")
    sent_by = sent_by.strip()
    if len(proto_parts) != 3 or proto_parts[0].upper() != "SIP" or not sent_by:
        return None
    host, port = split_hostport(sent_by)
    if not host:
        return None
    return TopVia(proto_parts[2].upper(), host, port, parse_params(params))


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host[:port]`` with IPv6 in brackets -> (host without brackets, port or None)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return "", None
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return "", None
        port = int(port_text)
    return host, port


def stamp_via(request: SipRequest, source: tuple[str, int]) -> None:
    """Add ``received`` (RFC 3261 §18.2.1) and fill ``rport`` (RFC 3581 §4) in the top Via."""
    for index, (name, value) in enumerate(request.headers):
        if name.strip().lower() not in ("via", "v"):
            continue
        parts = split_list(value)
        first = parts[0]
        base, _, param_text = first.partition(";")
        kept = [p for p in param_text.split(";") if p and p.split("=")[0].strip().lower() not in
                ("received", "rport")]  # fmt: skip
        params = parse_params(param_text)
        extra = [f"received={source[0]}"]
        if "rport" in params:
            extra.append(f"rport={source[1]}")
        parts[0] = ";".join([base.strip(), *kept, *extra])
        request.headers[index] = (name, ", ".join(parts))
        return


def header_tag(value: str) -> str | None:
    """The ``tag`` parameter of a From/To value (RFC 3261 §19.3), or None."""
    try:
        return parse_name_addr(value)[1].get("tag") or None
    except SipParseError:
        return None


def response_address(via: TopVia, source: tuple[str, int]) -> tuple[str, int]:
    """Where a UDP response goes (RFC 3261 §18.2.2 with RFC 3581 §4 symmetric response)."""
    if "rport" in via.params:
        return source
    # Without rport: the source IP (the "received" address) and the port in sent-by.
    return source[0], via.port or 5060


def build_response(
    request: SipRequest,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> SipResponse:
    """A response copying Via, From, To, Call-ID and CSeq from ``request`` (RFC 3261 §8.2.6.2).

    ``to_tag`` is added to To unless the request already carries one (in-dialog requests).
    """
    copied: list[tuple[str, str]] = []
    for name, value in request.headers:
        low = name.strip().lower()
        if low in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            copied.append((name, value))
        elif low in ("to", "t"):
            if to_tag and header_tag(value) is None:
                value = f"{value};tag={to_tag}"
            copied.append((name, value))
    return SipResponse(status=status, reason=reason, headers=copied + (headers or []), body=body)


class ServerTransaction:
    """One INVITE or non-INVITE server transaction (RFC 3261 Figures 7 and 8)."""

    def __init__(
        self,
        request: SipRequest,
        send: SendFn,
        *,
        reliable: bool,
        t1_s: float,
        t2_s: float,
        on_terminated: Callable[[ServerTransaction], None],
    ) -> None:
        self.request = request
        self.method = request.method.upper()
        self.send = send
        self.reliable = reliable
        self.t1_s, self.t2_s = t1_s, t2_s
        self.last_response: SipResponse | None = None
        self._last_bytes: bytes | None = None
        self.acked = False
        self._on_terminated = on_terminated
        self._timer_g: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._interval = t1_s
        self.terminated = False

    @property
    def final_sent(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def respond(self, response: SipResponse) -> None:
        """Send a response; a final one moves the transaction to Completed (or Accepted)."""
        if self.terminated or self.final_sent:
            return  # RFC 3261 §17.2.1: the TU may send only one final response
        self.last_response = response
        self._last_bytes = response.to_bytes()
        self.send(self._last_bytes)
        if response.status < 200:
            return
        loop = asyncio.get_running_loop()
        linger = 64 * self.t1_s
        if self.method == "INVITE" and response.status >= 300:
            if not self.reliable:
                # RFC 3261 §17.2.1: Timer G retransmits the final response, T1 doubling to T2.
                self._timer_g = loop.call_later(self._interval, self._on_timer_g)
        elif self.method != "INVITE" and self.reliable:
            linger = 0.0  # RFC 3261 §17.2.2: Timer J is zero on reliable transports
        # Timer H (non-2xx INVITE), Timer J (non-INVITE) or the RFC 6026 Accepted state (2xx):
        # keep absorbing retransmitted requests for 64*T1, then forget the transaction.
        self._linger = loop.call_later(linger, self.terminate)

    def retransmitted(self) -> None:
        """The same request again: re-send the last response, if any (§17.2.1, §17.2.2)."""
        if self._last_bytes is not None and not self.terminated:
            self.send(self._last_bytes)

    def ack(self) -> None:
        """The ACK for a non-2xx final: Confirmed; Timer I (T4 over UDP) absorbs further ACKs."""
        if self.acked or self.terminated:
            return
        self.acked = True
        if self._timer_g is not None:
            self._timer_g.cancel()
        if self._linger is not None:
            self._linger.cancel()
        delay = 0.0 if self.reliable else min(T4_S, 64 * self.t1_s)
        self._linger = asyncio.get_running_loop().call_later(delay, self.terminate)

    def _on_timer_g(self) -> None:
        if self.acked or self.terminated or self._last_bytes is None:
            return
        self.send(self._last_bytes)
        self._interval = min(2 * self._interval, self.t2_s)
        self._timer_g = asyncio.get_running_loop().call_later(self._interval, self._on_timer_g)

    def terminate(self) -> None:
        if self.terminated:
            return
        self.terminated = True
        for timer in (self._timer_g, self._linger):
            if timer is not None:
                timer.cancel()
        self._on_terminated(self)
