"""The key-read lane: the hottest GETs answered before FastAPI's routing and dependencies.

Which endpoints take it is listed where they are documented (``phone_number/router.py``,
``LANE``): ``GET /phone-numbers/channels?number=`` and ``GET /phone-numbers/{uuid}``, the reads
by key every client polls. Why: issue 15 asks ≤ 0.6 ms of CPU for such a read, and FastAPI's
route scan and dependency solving plus the ORM session cost more than that before any work
(``python -m bench.floor``, bench/README.md, 2026-12-01 fifth session: a bare FastAPI route with
the cached token check cost 0.94 ms of CPU in-process; the same check in a plain route 0.08 ms).

How: each ``LaneRoute`` is a Starlette route placed *first* among the app's routes, inside every
middleware. It takes a request only when it can answer it exactly as the FastAPI route would:

- the method is GET and the path has the lane's shape (a canonical uuid, an exact path);
- the bearer token is one the in-process token cache knows, with the ``admin`` scope
  (``WorkspaceService.auth_cache``: revocation still takes effect as it does there);
- its own ``parse`` accepts the parameters (the plain valid forms only).

Anything else — no token, an unknown or uncached one, a malformed uuid, a missing parameter —
is not matched and goes on to the FastAPI route, which stays the one documentation of the
endpoint (OpenAPI) and answers every other case (401, 403, 422, …) as it always did. The lane's
reader runs its key reads on a ``db.hot`` connection and returns the JSON-ready data; errors it
raises (404) go through the app's exception handlers like the FastAPI route's. The body is the
success envelope encoded by orjson: the same bytes as the ``response_model`` serialization
(tests/phone_number/test_lane.py compares them over a table of cases).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.security.utils import get_authorization_scheme_param
from starlette._utils import get_route_path
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from trunkline.db.hot import HotConnection, hot_connection
from trunkline.workspace.service import AuthContext, hash_token, workspace_service

# What a lane's reader is given: the caller, a connection for key reads, the parsed parameters.
Reader = Callable[[AuthContext, HotConnection, Any], Awaitable[Any]]
# The parameters from the path's match and the request's query, or None to leave the request to
# the FastAPI route.
Parser = Callable[[re.Match[str], Scope], Any | None]

UUID_SEGMENT = (
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)


@dataclass(frozen=True)
class Lane:
    """One endpoint's lane: its path (a regular expression over the route path), how its
    parameters are parsed, who reads the answer, and the envelope's message."""

    path: str
    parse: Parser
    read: Reader
    message: str


def cached_admin(scope: Scope) -> AuthContext | None:
    """The caller, when its bearer token is in the token cache with the ``admin`` scope: read
    as ``deps.require_auth`` reads it (FastAPI's ``HTTPBearer``), else None."""
    authorization = Headers(scope=scope).get("Authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and credentials) or scheme.lower() != "bearer":
        return None
    ctx = workspace_service.auth_cache.get(hash_token(credentials))
    return ctx if ctx is not None and "admin" in ctx.scopes else None


class LaneRoute(BaseRoute):
    """A ``Lane`` under ``prefix`` as a route of the app (module docstring)."""

    def __init__(self, prefix: str, lane: Lane) -> None:
        self.lane = lane
        self.path = prefix + lane.path
        self._pattern = re.compile(self.path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        found = self._pattern.fullmatch(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        auth = cached_admin(scope)
        if auth is None:
            return Match.NONE, {}
        params = self.lane.parse(found, scope)
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"trunkline.lane": (auth, params)}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth, params = scope["trunkline.lane"]
        async with hot_connection(scope["app"].state.trunkline.engine) as conn:
            data = await self.lane.read(auth, conn, params)
        body = orjson.dumps({"success": True, "message": self.lane.message, "data": data})
        await Response(body, media_type="application/json")(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the FastAPI route has the endpoint's name


def install_lanes(routes: list[BaseRoute], prefix: str, lanes: tuple[Lane, ...]) -> None:
    """Put the lanes first among ``routes`` (the app's ``router.routes``)."""
    routes[:0] = [LaneRoute(prefix, lane) for lane in lanes]
