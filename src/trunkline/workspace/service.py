"""Workspaces and API tokens: tokens are random, shown once, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.errors import InvalidAuthToken, NotFound, Unprocessable
from trunkline.models import ApiToken
from trunkline.workspace import repository as repo

TOKEN_PREFIX = "tl_"
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


@dataclass(frozen=True)
class IssuedToken:
    token: str  # plaintext: returned once, never stored
    token_id: uuid.UUID
    workspace_id: uuid.UUID
    prefix: str


class WorkspaceService:
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
        return IssuedToken(token=token, token_id=row.id, workspace_id=workspace.id, prefix=row.prefix)

    async def revoke_token(self, session: AsyncSession, token_or_prefix: str) -> int:
        """Revoke a token given in full, or every live token with that display prefix."""
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
        row = await repo.get_active_token(session, hash_token(token))
        if row is None:
            raise InvalidAuthToken()
        return AuthContext(
            workspace_id=row.workspace_id, token_id=row.id, scopes=frozenset(row.scopes)
        )


workspace_service = WorkspaceService()
