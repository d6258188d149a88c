"""All ``/api/v1`` routers. Fixed paths are included before ``/{uuid}`` ones."""

from __future__ import annotations

from fastapi import APIRouter

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

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(trunk_router)
api_router.include_router(phone_number_router)
api_router.include_router(sip_connection_router)
api_router.include_router(agent_router)
api_router.include_router(agent_channels_router)
api_router.include_router(pbx_connector_router)
api_router.include_router(calls_router)
api_router.include_router(call_router)
api_router.include_router(routing_router)
api_router.include_router(sms_router)
