"""Workspaces and API tokens: tokens are random, shown once, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.errors import InvalidAuthToken, NotFound, Unprocessable
from trunkline.kit.currency import DEFAULT_CURRENCY, parse_currency
from trunkline.models import ApiToken
from trunkline.workspace import repository as repo

TOKEN_PREFIX = "tl_"  # noqa: S105 - a display prefix, not a secret
SCOPES = frozenset({"admin", "media"})
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuthContext:
    """Who is calling: the workspace every query is scoped to, and what the token may do."""

    workspace_id: uuid.UUID
    token_id: uuid.UUID
    scopes: frozenset[str]
    # The workspace's currency as read with the token (``WorkspaceService.currency`` uses it
    # while the token is cached, so a list of numbers needs no read of its own for it).
    currency: str = DEFAULT_CURRENCY


class AuthCache:
    """Token hash → AuthContext for a few seconds: a busy client costs no token query per request.

    Revocation stays immediate in this process: ``WorkspaceService.revoke_token`` clears the
    cache when it runs and again once its transaction has committed, and a lookup that read the
    token row before that commit may not store what it read (the generation changed). A token
    revoked by *another* process (``trunkline token revoke``, another server instance) keeps
    working here for at most ``ttl_s`` seconds. Unknown tokens are never cached. Keys are
    SHA-256 hashes, so no plaintext token is kept in memory.
    """

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[str, tuple[float, AuthContext]] = {}
        self._currencies: dict[uuid.UUID, tuple[float, str]] = {}

    def get(self, token_hash: str) -> AuthContext | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return entry[1]

    def put(self, token_hash: str, ctx: AuthContext, generation: int) -> None:
        if generation != self.generation or self.ttl_s <= 0:
            return  # a revocation happened while the row was being read
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bounded memory; the next requests refill it
            self._currencies.clear()
        expires = time.monotonic() + self.ttl_s
        self._entries[token_hash] = (expires, ctx)
        self._currencies[ctx.workspace_id] = (expires, ctx.currency)

    def currency(self, workspace_id: uuid.UUID) -> str | None:
        """The workspace's currency as a cached token read it, while that entry lives."""
        entry = self._currencies.get(workspace_id)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def clear(self, *_: Any) -> None:
        self.generation += 1
        self._entries.clear()
        self._currencies.clear()


# Seconds a server may keep accepting a token revoked by another process (see AuthCache): at most
# 1 s by design (tests/cli/test_token.py revokes from another process and times the refusal).
# Even 0.5 s spares all but ~2 token reads per second per busy token: the read cost 7 % of a
# snapshot GET's samples before the cache (bench/README.md, "Profile").
AUTH_CACHE_TTL_S = 0.5
AUTH_CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class IssuedToken:
    token: str  # plaintext: returned once, never stored
    token_id: uuid.UUID
    workspace_id: uuid.UUID
    prefix: str


class WorkspaceService:
    def __init__(self) -> None:
        self.auth_cache = AuthCache(AUTH_CACHE_TTL_S, AUTH_CACHE_MAX_ENTRIES)

    async def create_token(
        self,
        session: AsyncSession,
        slug: str,
        *,
        scopes: list[str] | None = None,
        name: str | None = None,
    ) -> IssuedToken:
        """Issue a token for ``slug``, creating the workspace on first use."""
        if not _SLUG.match(slug):
            raise Unprocessable(
                "Workspace slug must be lowercase letters, digits and dashes.", field="workspace"
            )
        wanted = sorted(set(scopes or ["admin"]))
        unknown = set(wanted) - SCOPES
        if unknown:
            raise Unprocessable(f"Unknown scope(s): {', '.join(sorted(unknown))}.", field="scope")
        workspace = await repo.ensure_workspace(session, slug)
        # 32 bytes of entropy (RFC 6750 tokens are opaque; we only keep their SHA-256).
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            workspace_id=workspace.id,
            token_hash=hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 8],
            name=name,
            scopes=wanted,
        )
        await repo.add_token(session, row)
        return IssuedToken(
            token=token, token_id=row.id, workspace_id=workspace.id, prefix=row.prefix
        )

    async def revoke_token(self, session: AsyncSession, token_or_prefix: str) -> int:
        """Revoke a token given in full, or every live token with that display prefix."""
        # Forget cached tokens now and once more when the revocation is committed (AuthCache).
        self.auth_cache.clear()
        event.listen(session.sync_session, "after_commit", self.auth_cache.clear, once=True)
        if len(token_or_prefix) > len(TOKEN_PREFIX) + 8:
            count = await repo.revoke_tokens(
                session, token_hash=hash_token(token_or_prefix), prefix=None
            )
        else:
            count = await repo.revoke_tokens(session, token_hash=None, prefix=token_or_prefix)
        if count == 0:
            raise NotFound("No live token matches.")
        return count

    async def authenticate(self, session: AsyncSession, token: str) -> AuthContext:
        """Resolve a bearer token to its workspace, or raise ``InvalidAuthToken``."""
        token_hash = hash_token(token)
        cached = self.auth_cache.get(token_hash)
        if cached is not None:
            return cached
        generation = self.auth_cache.generation
        found = await repo.get_active_token(session, token_hash)
        if found is None:
            raise InvalidAuthToken()
        row, currency = found
        ctx = AuthContext(
            workspace_id=row.workspace_id,
            token_id=row.id,
            scopes=frozenset(row.scopes),
            currency=currency,
        )
        self.auth_cache.put(token_hash, ctx, generation)
        return ctx

    async def currency(self, session: AsyncSession, workspace_id: uuid.UUID) -> str:
        """The workspace's currency (ISO 4217): what its prices, rates and bills are in.

        A request's token read already brought it (``AuthCache``); a change made by another
        process shows within the cache's 0.5 s, as a token revocation does."""
        cached = self.auth_cache.currency(workspace_id)
        if cached is not None:
            return cached
        return await repo.get_currency(session, workspace_id) or DEFAULT_CURRENCY

    async def set_currency(self, session: AsyncSession, slug: str, currency: str) -> str:
        """Set the currency of workspace ``slug``; later prices and purchases use it (numbers
        bought earlier keep the currency they were bought in). Returns the ISO 4217 code."""
        code = parse_currency(currency)
        if code is None:
            raise Unprocessable(
                f"Unknown currency {currency!r}: use an ISO 4217 code such as EUR or USD.",
                field="currency",
            )
        if await repo.set_currency(session, slug, code) == 0:
            raise NotFound(f"No workspace {slug!r}.")
        # The cached tokens carry the old currency: this process forgets them at once and
        # again after the commit (as revoke_token does); other processes within 0.5 s.
        self.auth_cache.clear()
        event.listen(session.sync_session, "after_commit", self.auth_cache.clear, once=True)
        return code


workspace_service = WorkspaceService()
