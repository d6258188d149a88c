"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from trunkline import __version__
from trunkline.api import API_PREFIX, include_api
from trunkline.call.twilio_router import router as twilio_router
from trunkline.callworker.worker import CallWorker
from trunkline.config import Settings, get_settings
from trunkline.db import create_engine, create_sessionmaker, ping
from trunkline.deps import AppState
from trunkline.docs import install_docs
from trunkline.envelope import docstring_summaries, install_exception_handlers
from trunkline.http_limits import RequestLimits
from trunkline.idempotency.middleware import IdempotencyMiddleware
from trunkline.keys import load_secret_box
from trunkline.kit.egress import EgressPolicy, EgressPolicyScope
from trunkline.lane import install_lanes
from trunkline.monitor.service import MonitorService
from trunkline.outage import RETRY_AFTER_S, outage_log
from trunkline.phone_number.router import LANE as PHONE_NUMBER_LANE

DESCRIPTION = """
Trunkline is a self-hostable telephony control plane for AI voice and chat agents: bring your
own numbers and SIP trunks, bind each number and channel (call, SMS, WhatsApp) to the agent that
answers it, keep SIP credentials encrypted, and see whether a trunk actually works.

Every `/api/v1` route needs `Authorization: Bearer <token>` (create one with
`trunkline token create --workspace SLUG`). Responses use the envelope
`{"success", "message", "data"}`; errors add `error {code, details, field}` and mirror the code
in `data.error`.
"""


def freeze_startup_objects() -> None:
    """Keep the cyclic garbage collector off what start-up built (modules, mappers, schemas).

    A full collection walks every tracked object: ~170,000 of them once the app is up, ~100 ms
    during which no request moves. Under load it comes every few seconds (objects of in-flight
    requests get promoted and die later) and made the slowest 1 % of snapshot GETs wait that
    long. Frozen objects are never scanned (nor collected): what start-up left is alive anyway.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Fail fast (before serving) when production has no encryption key.
    secret_box = load_secret_box(settings)
    security = settings.security
    egress = EgressPolicy.from_lists(security.allow_addresses, security.deny_addresses)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        # The call worker starts first: registrations the monitor holds advertise its SIP
        # edge as their Contact (docs/calls.md §4), so calls sent to them reach the edge.
        call_worker = None
        contact = None
        if settings.calls.enabled:
            call_worker = CallWorker(settings, sessionmaker, secret_box)
            await call_worker.start()
            contact = call_worker.public_hostport
        monitor = MonitorService(
            settings.monitor, sessionmaker, secret_box, egress=egress, contact_hostport=contact
        )
        app.state.trunkline = AppState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            secret_box=secret_box,
            monitor=monitor,
        )
        # Not part of AppState: the routers never need it (deps must not import the worker).
        app.state.call_worker = call_worker
        if settings.monitor.enabled:
            monitor.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            if call_worker is not None:
                await call_worker.close()
            await monitor.close()
            await engine.dispose()

    app = FastAPI(
        title="Trunkline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the installed package instead of a CDN (docs.py)
        redoc_url=None,
        # A path with a stray trailing slash (or an encoded "../") is an unknown route: 404 in
        # the envelope, not a bodiless 307 to a path that does not exist either.
        redirect_slashes=False,
    )
    install_docs(app)
    # Outermost of ours: oversized requests are refused before routing, auth or the database.
    # Added innermost first: RequestLimits → EgressPolicyScope → IdempotencyMiddleware → routes.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(EgressPolicyScope, policy=egress)
    app.add_middleware(RequestLimits)
    install_exception_handlers(app)
    include_api(app)
    app.include_router(twilio_router)
    # The key-read lane goes first among the routes (trunkline.lane, phone_number/router.py).
    install_lanes(app.router.routes, API_PREFIX, PHONE_NUMBER_LANE)

    @app.get("/healthz", tags=["operations"], include_in_schema=True)
    async def healthz() -> dict[str, str]:
        """Process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """Database is reachable."""
        try:
            await ping(app.state.trunkline.engine)
        except Exception as exc:  # any driver failure means "not ready"
            outage_log.report("GET /readyz", exc)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"},
                503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    docstring_summaries(app)
    return app
