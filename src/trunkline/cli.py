"""The ``trunkline`` command: thin commands over services.

``serve`` · ``migrate`` · ``token create|revoke|list`` · ``keys generate|rotate`` · ``workspaces`` ·
``workspace currency``

Operational failures (database unreachable or not migrated, missing key, unwritable data
directory) end in one ``trunkline: …`` line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline import __version__
from trunkline.config import Settings, get_settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.errors import NotFound, TrunklineError
from trunkline.kit.crypto import CryptoError, generate_key
from trunkline.kit.private_files import sqlite_file
from trunkline.outage import describe, is_database_unavailable

T = TypeVar("T")


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextlib.contextmanager
def _migration_lock(settings: Settings) -> Iterator[None]:
    """Serialize migrations of one SQLite file across processes: `make run &` and `make token`
    may both migrate a fresh database at once, and SQLite's DDL is not transactional here."""
    path = sqlite_file(settings.database_url_resolved)
    if path is None:
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".migrate-lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def migrate(settings: Settings) -> None:
    """Bring the database to the latest schema (idempotent)."""
    from trunkline.migrate import upgrade

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    with _migration_lock(settings):
        asyncio.run(run())


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    migrate(settings)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from trunkline.app import create_app
    from trunkline.http_limits import uvicorn_limits
    from trunkline.keys import load_secret_box
    from trunkline.logs import configure_logging

    load_secret_box(settings)  # production without a key stops here, before the database
    cmd_migrate(settings, args)
    configure_logging(settings.server.log_level)
    host, port = args.host or settings.server.host, args.port or settings.server.port
    # The monitor runs inside serve unless TRUNKLINE_MONITOR__ENABLED=false (then run
    # `trunkline monitor` separately, as many instances as wanted: leases keep them apart).
    shown = f"[{host}]" if ":" in host else host

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the app's startup ran and the socket listens
                print(f"trunkline: ready on http://{shown}:{port} (docs at /docs)", file=sys.stderr)

    server = Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,
            access_log=settings.server.log_level == "debug",
            **uvicorn_limits(settings.server.loop),
        )
    )
    server.run()
    return 0 if server.started else 1


def cmd_monitor(settings: Settings, args: argparse.Namespace) -> int:
    from trunkline.keys import load_secret_box
    from trunkline.kit.egress import EgressPolicy
    from trunkline.logs import configure_logging
    from trunkline.monitor.service import MonitorService

    configure_logging(settings.server.log_level)
    box = load_secret_box(settings)

    async def run() -> None:
        engine = create_engine(settings)
        # Registrations advertise the call workers' public SIP address as their Contact.
        security = settings.security
        egress = EgressPolicy.from_lists(security.allow_addresses, security.deny_addresses)
        monitor = MonitorService(
            settings.monitor,
            create_sessionmaker(engine),
            box,
            egress=egress,
            contact_hostport=settings.sip.public_address_resolved,
        )
        try:
            if args.once:
                checked = await monitor.tick()
                print(f"checked {checked} target(s)", file=sys.stderr)
            else:
                await monitor.run_forever()
        finally:
            await monitor.close()
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def cmd_call_worker(settings: Settings, args: argparse.Namespace) -> int:
    """A call worker on its own: SIP edge, media and the agent bridge (no HTTP API)."""
    from trunkline.callworker.worker import CallWorker
    from trunkline.keys import load_secret_box
    from trunkline.logs import configure_logging

    configure_logging(settings.server.log_level)
    box = load_secret_box(settings)
    if args.listen:
        settings.sip.listen = args.listen

    async def run() -> None:
        engine = create_engine(settings)
        worker = CallWorker(settings, create_sessionmaker(engine), box)
        await worker.start()
        host, port = worker.sip_address
        print(f"call worker {worker.worker_id} listening on {host}:{port}", file=sys.stderr)
        try:
            await asyncio.Event().wait()
        finally:
            await worker.close()
            await engine.dispose()

    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=_loop_factory(settings.server.loop)) as runner,
    ):
        runner.run(run())
    return 0


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``TRUNKLINE_SERVER__LOOP`` names, as ``trunkline serve`` gets it from
    uvicorn: asyncio's own by default; uvloop halves the media path's CPU per packet
    (bench/README.md) but is opt-in until the call suites are shown sound on it."""
    if loop != "uvloop":
        return None
    import uvloop

    return uvloop.new_event_loop


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    from trunkline.workspace.service import workspace_service

    # Works on a fresh checkout, before (or while) the server first starts: migrate first.
    migrate(settings)

    issued = _with_session(
        settings,
        lambda s: workspace_service.create_token(
            s, args.workspace, scopes=args.scope or None, name=args.name
        ),
    )
    print(issued.token)  # only the token on stdout, so `$(trunkline token create …)` works
    return 0


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from trunkline.workspace.service import workspace_service

    count = _with_session(settings, lambda s: workspace_service.revoke_token(s, args.token))
    print(f"revoked {count} token(s)", file=sys.stderr)
    return 0


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    from trunkline.workspace import repository as repo

    async def work(session: AsyncSession) -> list[str]:
        workspace = await repo.get_workspace_by_slug(session, args.workspace)
        if workspace is None:
            return []
        return [
            f"{t.prefix}…\t{','.join(t.scopes)}\t{t.created_at:%Y-%m-%dT%H:%M:%SZ}\t"
            f"{'revoked' if t.revoked_at else 'live'}\t{t.name or ''}"
            for t in await repo.list_tokens(session, workspace.id)
        ]

    for line in _with_session(settings, work):
        print(line)
    return 0


def cmd_workspaces(settings: Settings, _: argparse.Namespace) -> int:
    from trunkline.workspace import repository as repo

    for ws in _with_session(settings, repo.list_workspaces):
        print(f"{ws.slug}\t{ws.id}")
    return 0


def cmd_workspace_currency(settings: Settings, args: argparse.Namespace) -> int:
    from trunkline.workspace import repository as repo
    from trunkline.workspace.service import workspace_service

    async def work(session: AsyncSession) -> str:
        if args.currency is not None:
            return await workspace_service.set_currency(session, args.workspace, args.currency)
        workspace = await repo.get_workspace_by_slug(session, args.workspace)
        if workspace is None:
            raise NotFound(f"No workspace {args.workspace!r}.")
        return await workspace_service.currency(session, workspace.id)

    print(_with_session(settings, work))
    return 0


def cmd_keys_generate(_: Settings, __: argparse.Namespace) -> int:
    print(generate_key())
    return 0


def cmd_keys_rotate(settings: Settings, _: argparse.Namespace) -> int:
    from trunkline.keys import load_secret_box, rotate

    box = load_secret_box(settings)
    changed = _with_session(settings, lambda s: rotate(s, box))
    print(f"re-encrypted {changed} secret(s) under key {box.current_kid}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trunkline", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"trunkline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and serve the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    monitor = sub.add_parser("monitor", help="run the SIP health monitor standalone")
    monitor.add_argument("--once", action="store_true", help="check what is due once, then exit")
    monitor.set_defaults(func=cmd_monitor)
    worker = sub.add_parser("call-worker", help="run a call worker (SIP edge + media) standalone")
    worker.add_argument("--listen", help="host:port for SIP (default TRUNKLINE_SIP__LISTEN)")
    worker.set_defaults(func=cmd_call_worker)
    sub.add_parser("workspaces", help="list workspaces").set_defaults(func=cmd_workspaces)
    workspace = sub.add_parser("workspace", help="one workspace's settings").add_subparsers(
        dest="action", required=True
    )
    currency = workspace.add_parser(
        "currency", help="print a workspace's currency, or set it (ISO 4217, default EUR)"
    )
    currency.add_argument("workspace", help="workspace slug")
    currency.add_argument("currency", nargs="?", help="new currency, e.g. USD")
    currency.set_defaults(func=cmd_workspace_currency)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token (and the workspace if missing)")
    create.add_argument("--workspace", required=True, help="workspace slug")
    create.add_argument("--scope", action="append", choices=["admin", "media"])
    create.add_argument("--name")
    create.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token (full token or its display prefix)")
    revoke.add_argument("token")
    revoke.set_defaults(func=cmd_token_revoke)
    tlist = token.add_parser("list", help="list a workspace's tokens (prefixes only)")
    tlist.add_argument("--workspace", required=True)
    tlist.set_defaults(func=cmd_token_list)

    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser("generate", help="print a new keyring entry").set_defaults(
        func=cmd_keys_generate
    )
    keys.add_parser("rotate", help="re-encrypt every secret under the newest key").set_defaults(
        func=cmd_keys_rotate
    )
    return parser


def _safe_url(settings: Settings) -> str:
    return make_url(settings.database_url_resolved).render_as_string(hide_password=True)


def operational_error(exc: BaseException, settings: Settings) -> str | None:
    """The one line to print for an operational failure; None for a bug (keep the traceback)."""
    if is_database_unavailable(exc):
        return (
            f"cannot reach the database {_safe_url(settings)} ({describe(exc)}); is it running, "
            "and is TRUNKLINE_DATABASE_URL right?"
        )
    if isinstance(exc, sa_exc.DBAPIError):
        return (
            f"database error on {_safe_url(settings)} ({describe(exc)}); if the schema is missing "
            "or old, run `trunkline migrate`"
        )
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(settings, args))
    except (TrunklineError, CryptoError, RuntimeError) as exc:
        message = exc.message if isinstance(exc, TrunklineError) else str(exc)
        print(f"trunkline: {message}", file=sys.stderr)
        return 2
    except ValueError as exc:  # settings that do not validate (pydantic's error is one)
        print(f"trunkline: invalid settings: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = operational_error(exc, get_settings())
        if line is None:
            raise
        print(f"trunkline: {line}", file=sys.stderr)
        return 1
