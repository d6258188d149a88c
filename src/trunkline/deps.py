"""FastAPI dependencies: the request's session (one transaction), auth, and app services.

Every dependency is ``async def``, even when it does not await: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hop per request that cost ~10 % of a trunk
registration's CPU (tests/unit/test_dependencies.py keeps it so).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from trunkline.config import Settings
from trunkline.errors import InsufficientScope, InvalidAuthToken, MissingAuthToken
from trunkline.kit.crypto import SecretBox
from trunkline.monitor.service import MonitorService
from trunkline.workspace.service import AuthContext, workspace_service


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    secret_box: SecretBox
    monitor: MonitorService


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.trunkline
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commit on success, roll back on any exception, then close
    (``db.session_scope``'s contract, written out).

    Not ``async with session`` (nor ``session_scope``): ``AsyncSession.__aexit__`` runs
    ``close()`` in a new task under ``asyncio.shield`` so a cancelled caller cannot abandon the
    connection half-returned. FastAPI already shields a generator dependency's exit (its cleanup
    scope turns ``shield=True`` before the code after ``yield`` runs), so that task was a second
    shield bought on every request: ~3 % of a GET by id's samples (py-spy, in-process, 2026-12-01
    fourth session). tests/db/test_request_session.py cancels a request mid-statement and checks
    its connection is back in the pool and its transaction rolled back.
    """
    session = get_state(request).sessionmaker()
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


# scope="function": commit before the response is sent, so a 201 means the row is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer <token>`")


async def require_auth(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthContext:
    if credentials is None or not credentials.credentials:
        if request.headers.get("authorization"):
            raise InvalidAuthToken()
        raise MissingAuthToken()
    ctx = await workspace_service.authenticate(session, credentials.credentials)
    if "admin" not in ctx.scopes:
        raise InsufficientScope()
    return ctx


AuthDep = Annotated[AuthContext, Depends(require_auth)]


async def get_secret_box(request: Request) -> SecretBox:
    return get_state(request).secret_box


SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]


async def get_monitor(request: Request) -> MonitorService:
    return get_state(request).monitor


MonitorDep = Annotated[MonitorService, Depends(get_monitor)]


async def get_settings(request: Request) -> Settings:
    return get_state(request).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
