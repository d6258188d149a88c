"""The baseline: the least a FastAPI service on the same stack must do per request.

Same uvicorn, same engine (``trunkline.db.create_engine``: driver, pool, SQLite pragmas), same
database, one transaction per request committed before the response, and the same bearer-token
check (SHA-256 of the token, one indexed SELECT). Its two endpoints:

- ``POST /items`` — one single-row INSERT (uuid key, like Trunkline's rows);
- ``GET /items/{key}`` — one SELECT by an indexed unique key.

Both SELECTs (token and item) are marked ``key_read``, as Trunkline's key lookups are: on SQLite
the driver runs them on the event loop's thread (see src/trunkline/db/sqlite_driver.py).

Run by the harness as ``python -m bench.baseline_app --port N`` with the same ``TRUNKLINE_*``
environment as the Trunkline server (it reads its database URL through ``Settings``).
"""

from __future__ import annotations

import argparse
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.config import get_settings
from trunkline.db import create_engine, create_sessionmaker, key_read, session_scope

metadata = MetaData()

bench_token = Table(
    "bench_token",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("workspace_id", Uuid, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("revoked_at", DateTime(timezone=True)),
)

bench_item = Table(
    "bench_item",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("workspace_id", Uuid, nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_bench_item_workspace_key"),
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ItemIn(BaseModel):
    key: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=255)


bearer = HTTPBearer(auto_error=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(request.app.state.sessionmaker) as s:
        yield s


SessionDep = Annotated[AsyncSession, Depends(session, scope="function")]


async def auth(
    s: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> uuid.UUID:
    """The bearer token's workspace: SHA-256 of the token, one indexed SELECT."""
    if credentials is None:
        raise HTTPException(401, "missing token")
    row = (
        await s.execute(
            key_read(
                select(bench_token.c.workspace_id).where(
                    bench_token.c.token_hash == hash_token(credentials.credentials),
                    bench_token.c.revoked_at.is_(None),
                )
            )
        )
    ).first()
    if row is None:
        raise HTTPException(401, "invalid token")
    return row[0]  # type: ignore[no-any-return]


AuthDep = Annotated[uuid.UUID, Depends(auth)]


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="bench baseline", lifespan=lifespan)

    @app.post("/items", status_code=201)
    async def create_item(body: ItemIn, workspace_id: AuthDep, s: SessionDep) -> dict[str, Any]:
        """Insert one row."""
        item_id = uuid.uuid4()
        await s.execute(
            insert(bench_item).values(
                id=item_id,
                workspace_id=workspace_id,
                key=body.key,
                value=body.value,
                created_at=datetime.now(UTC),
            )
        )
        return {"success": True, "data": {"id": str(item_id), "key": body.key}}

    @app.get("/items/{key}")
    async def get_item(key: str, workspace_id: AuthDep, s: SessionDep) -> dict[str, Any]:
        """Select one row by its indexed key."""
        row = (
            await s.execute(
                key_read(
                    select(bench_item.c.id, bench_item.c.key, bench_item.c.value).where(
                        bench_item.c.workspace_id == workspace_id, bench_item.c.key == key
                    )
                )
            )
        ).first()
        if row is None:
            raise HTTPException(404, "not found")
        return {"success": True, "data": {"id": str(row.id), "key": row.key, "value": row.value}}

    return app


def main() -> None:
    import uvicorn

    from trunkline.http_limits import uvicorn_limits
    from trunkline.logs import configure_logging

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.server.log_level)
    # The same uvicorn options `trunkline serve` uses (event loop and HTTP parser included).
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=settings.server.log_level == "debug",
        **uvicorn_limits(settings.server.loop),
    )


if __name__ == "__main__":
    main()
