"""Trunkline's small asyncio SIP client: OPTIONS probes and REGISTER with digest auth.

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

The package depends on nothing else in trunkline (no settings, database or models), so the
monitor and tests can drive it directly. Passwords live only in memory: ``Credentials``
hides them in its repr and traces are redacted before they are stored.
"""

from trunkline.sip.client import ProbeResult, SipClient, SipRequestFailed, Target
from trunkline.sip.errors import SipError, SipParseError, SipTimeout, SipTransportError
from trunkline.sip.register import Credentials, RegisterResult, Registration
from trunkline.sip.trace import TraceEntry, redact_trace

__all__ = [
    "Credentials",
    "ProbeResult",
    "RegisterResult",
    "Registration",
    "SipClient",
    "SipError",
    "SipParseError",
    "SipRequestFailed",
    "SipTimeout",
    "SipTransportError",
    "Target",
    "TraceEntry",
    "redact_trace",
]
