"""All ``/api/v1`` routers, in the order they are matched: fixed paths before ``/{uuid}`` ones
(``/phone-numbers/trunks`` before ``/phone-numbers/{phone_number_uuid}``).

Each router is included into the app itself (``include_api``), not into an ``/api/v1`` router
that the app includes: FastAPI matches a request at every level of inclusion and once more to
handle it, so the extra level walked every route list one more time per request. Flat, a
request that is refused before the database (401) costs ~15-20 % less CPU in-process
(bench/README.md, 2026-12-01 third session); tests/unit/test_api_routes.py checks every route
is still served under ``/api/v1``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from trunkline.agent.channels_router import router as agent_channels_router
from trunkline.agent.router import router as agent_router
from trunkline.call.router import router as call_router
from trunkline.pbx_connector.router import router as pbx_connector_router
from trunkline.phone_number.router import router as phone_number_router
from trunkline.routing.router import calls_router
from trunkline.routing.router import router as routing_router
from trunkline.sip_connection.router import router as sip_connection_router
from trunkline.sms.router import router as sms_router
from trunkline.trunk.router import router as trunk_router

API_PREFIX = "/api/v1"

API_ROUTERS: tuple[APIRouter, ...] = (
    trunk_router,
    phone_number_router,
    sip_connection_router,
    agent_router,
    agent_channels_router,
    pbx_connector_router,
    calls_router,
    call_router,
    routing_router,
    sms_router,
)


def include_api(app: FastAPI) -> None:
    """Serve every API router under ``/api/v1``, in ``API_ROUTERS`` order."""
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
