"""HTTP Digest authentication as used by SIP (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760).

Pure functions only: parse a WWW-Authenticate / Proxy-Authenticate challenge, compute the
request-digest, and build the Authorization header value.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from trunkline.sip.errors import SipParseError
from trunkline.sip.message import parse_params

# RFC 7616 §3.3 / RFC 8760 §2: algorithm token -> hashlib name. "-sess" variants share the hash.
_HASHES: dict[str, str] = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
# RFC 8760 §2.4: prefer the strongest algorithm the server offers.
_PREFERENCE = ("SHA-512-256", "SHA-256", "MD5")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One Digest challenge from a 401/407 response."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @property
    def supported(self) -> bool:
        return self.algorithm.upper().removesuffix("-SESS") in _HASHES


def parse_challenge(value: str) -> Challenge:
    """Parse ``Digest realm="x", nonce="y", qop="auth", algorithm=SHA-256`` (RFC 2617 §3.2.1)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError(f"unsupported auth scheme {scheme[:20]!r}")
    params = parse_params(rest, sep=",")
    if "realm" not in params or "nonce" not in params:
        raise SipParseError("Digest challenge without realm or nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5") or "MD5",  # RFC 2617: absent means MD5
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def select_challenge(values: list[str]) -> Challenge | None:
    """Pick the strongest supported Digest challenge among several header values."""
    usable: list[Challenge] = []
    for value in values:
        try:
            challenge = parse_challenge(value)
        except SipParseError:
            continue  # e.g. a Basic challenge next to a Digest one
        if challenge.supported:
            usable.append(challenge)

    def rank(ch: Challenge) -> int:
        return _PREFERENCE.index(ch.algorithm.upper().removesuffix("-SESS"))

    return min(usable, key=rank) if usable else None


def _h(algorithm: str, data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    name = _HASHES[algorithm.upper().removesuffix("-SESS")]
    return hashlib.new(name, raw).hexdigest()


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The request-digest (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1)."""
    if algorithm.upper().removesuffix("-SESS") not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        # RFC 7616 §3.4.2: session variants mix the nonces into HA1.
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce or ''}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 = f"{a2}:{_h(algorithm, body)}"  # RFC 7616 §3.4.3
    ha2 = _h(algorithm, a2)
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    # RFC 2069 compatibility: no qop, no cnonce/nonce-count.
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_authorization(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """Authorization / Proxy-Authorization header value answering ``challenge``."""
    qop: str | None = None
    if "auth" in challenge.qop:
        qop = "auth"
    elif "auth-int" in challenge.qop:
        qop = "auth-int"
    cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"  # RFC 2617 §3.2.2: 8 hex digits, counts uses of this nonce
    response = compute_response(
        algorithm=challenge.algorithm,
        username=username,
        realm=challenge.realm,
        password=password,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
        body=body,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={challenge.algorithm}",
    ]
    if qop:
        parts += [f"cnonce={_quote(cnonce)}", f"qop={qop}", f"nc={nc_text}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)
