"""Trunkline's small asyncio SIP library: OPTIONS probes, REGISTER, and the call edge.

Layers, bottom-up (each only imports the ones above it in this list):

* ``errors``      -- ``SipError`` and subclasses (``SipParseError``, ``SipTimeout``, ...).
* ``message``     -- pure SIP message model, parser and serializer (RFC 3261 §7, §20).
* ``digest``      -- pure digest authentication: challenges, responses (RFC 2617/7616/8760).
* ``trace``       -- ``TraceEntry`` and redaction of credentials in traces.
* ``resolve``     -- target -> IP address: literals, SRV (dnspython), A/AAAA (RFC 3263).
* ``transport``   -- the seam to sockets: shared UDP socket per address family, pooled TCP/TLS
  connections, and the dispatcher matching responses to transactions by Via branch.
* ``transaction`` -- the RFC 3261 §17.1.2 non-INVITE client transaction (Timers E and F).
* ``client``      -- ``SipClient`` (owns the transports) and the OPTIONS probe.
* ``register``    -- ``Registration``: REGISTER, refresh, unregister, 401/407/423 handling.
* ``sdp``         -- pure SDP parsing and RFC 3264 offer/answer for one G.711 audio stream.
* ``server_transaction`` -- RFC 3261 §17.2 server transactions and UAS response helpers.
* ``dialog``      -- pure dialog state (§12) and in-dialog request building.
* ``call``        -- what every INVITE dialog does (in-dialog requests, 2xx until ACK, BYE).
* ``incoming``    -- ``IncomingCall`` (UAS) and the ``CallHandler`` protocol.
* ``invite_transaction`` -- the INVITE client transaction (§17.1.1, RFC 6026).
* ``outgoing``    -- ``OutgoingCall`` (UAC): digest retry, ACK of 2xx, CANCEL.
* ``edge_transport`` -- the edge's UDP endpoint, TCP connections and channels.
* ``edge_dispatch`` -- the edge's receiving half: request checks, server transaction matching,
  dispatch to dialogs and the call handler.
* ``edge``        -- ``SipEdge``: the UDP+TCP listener of a call worker, which also places
  outbound calls from the same socket.

The package depends on nothing else in trunkline (no settings, database or models), so the
monitor and tests can drive it directly. Passwords live only in memory: ``Credentials``
hides them in its repr and traces are redacted before they are stored.
"""

from trunkline.sip.client import ProbeResult, SipClient, SipRequestFailed, Target
from trunkline.sip.edge import SipEdge
from trunkline.sip.errors import SipError, SipParseError, SipTimeout, SipTransportError
from trunkline.sip.incoming import CallHandler, IncomingCall
from trunkline.sip.outgoing import Final, OutgoingCall
from trunkline.sip.register import Credentials, RegisterResult, Registration
from trunkline.sip.sdp import (
    Answer,
    Negotiated,
    SdpError,
    SessionDescription,
    answer,
    build_offer,
    negotiate_answer,
    parse_sdp,
)
from trunkline.sip.trace import TraceEntry, redact_trace

__all__ = [
    "Answer",
    "CallHandler",
    "Credentials",
    "Final",
    "IncomingCall",
    "Negotiated",
    "OutgoingCall",
    "ProbeResult",
    "RegisterResult",
    "Registration",
    "SdpError",
    "SessionDescription",
    "SipClient",
    "SipEdge",
    "SipError",
    "SipParseError",
    "SipRequestFailed",
    "SipTimeout",
    "SipTransportError",
    "Target",
    "TraceEntry",
    "answer",
    "build_offer",
    "negotiate_answer",
    "parse_sdp",
    "redact_trace",
]
