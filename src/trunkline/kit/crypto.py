"""Secret box: AES-256-GCM with a keyring, so keys rotate without downtime.

Ciphertext format (ASCII, fits a text column): ``v1:<kid>:<nonce b64url>:<ciphertext+tag b64url>``.
A fresh 96-bit random nonce per value (NIST SP 800-38D §8.2.2). The associated data binds each
value to its place (``table.column:row_id``), so a ciphertext copied into another row or column
fails to decrypt instead of silently moving a secret.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class CryptoError(Exception):
    """A secret could not be decrypted or a key is malformed (message never carries secrets)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short stable id for a key (not secret: a hash prefix)."""
    return hashlib.sha256(b"trunkline-kid:" + key).hexdigest()[:8]


def generate_key() -> str:
    """A new keyring entry as ``kid:base64url``."""
    raw = secrets.token_bytes(KEY_BYTES)
    return f"{key_id(raw)}:{_b64e(raw)}"


@dataclass(frozen=True)
class SecretBox:
    """Encrypts under the newest key; decrypts under any key of the ring."""

    keys: tuple[tuple[str, bytes], ...]  # (kid, key), newest first
    _by_kid: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise CryptoError("the keyring is empty")
        object.__setattr__(self, "_by_kid", {kid: AESGCM(k) for kid, k in self.keys})

    def __repr__(self) -> str:
        return f"SecretBox(kids={[kid for kid, _ in self.keys]})"

    @classmethod
    def from_spec(cls, spec: str) -> SecretBox:
        """Parse ``TRUNKLINE_ENCRYPTION_KEYS``: comma-separated ``kid:key`` or bare keys."""
        keys: list[tuple[str, bytes]] = []
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            kid, _, encoded = entry.rpartition(":")
            try:
                raw = _b64d(encoded)
            except ValueError as exc:
                raise CryptoError("an encryption key is not valid base64url") from exc
            if len(raw) != KEY_BYTES:
                raise CryptoError(f"encryption keys must be {KEY_BYTES} bytes")
            keys.append((kid or key_id(raw), raw))
        return cls(tuple(keys))

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    def encrypt(self, plaintext: str, aad: str) -> str:
        kid = self.current_kid
        nonce = os.urandom(NONCE_BYTES)
        ct = self._by_kid[kid].encrypt(nonce, plaintext.encode("utf-8"), aad.encode("utf-8"))
        return f"{VERSION}:{kid}:{_b64e(nonce)}:{_b64e(ct)}"

    def decrypt(self, token: str, aad: str) -> str:
        kid, nonce, ct = _parse(token)
        aead = self._by_kid.get(kid)
        if aead is None:
            raise CryptoError(f"no key with id {kid!r} in the keyring")
        try:
            return aead.decrypt(nonce, ct, aad.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise CryptoError("ciphertext failed authentication") from exc

    def needs_rotation(self, token: str) -> bool:
        return _parse(token)[0] != self.current_kid


def _parse(token: str) -> tuple[str, bytes, bytes]:
    """``(kid, nonce, ciphertext)`` of a stored value; anything malformed is a CryptoError
    (never a ValueError/IndexError from deep inside, which callers would not expect)."""
    parts = token.split(":")
    if len(parts) != 4:
        raise CryptoError("malformed ciphertext")
    version, kid, nonce_b64, ct_b64 = parts
    if version != VERSION:
        raise CryptoError(f"unknown ciphertext version {version!r}")
    try:
        nonce, ct = _b64d(nonce_b64), _b64d(ct_b64)
    except ValueError as exc:
        raise CryptoError("malformed ciphertext") from exc
    if len(nonce) != NONCE_BYTES or len(ct) < TAG_BYTES:
        raise CryptoError("malformed ciphertext")
    return kid, nonce, ct


def load_or_create_dev_key(data_dir: Path) -> str:
    """Development only: a key generated once into ``data_dir/secret.key`` with mode 0600."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    spec = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(spec + "\n")
    return spec


def aad_for(table: str, column: str, row_id: object) -> str:
    """Associated data binding a ciphertext to its row and column."""
    return f"{table}.{column}:{row_id}"
