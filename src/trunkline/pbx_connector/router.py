from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from trunkline.deps import AuthDep, SecretBoxDep, SessionDep, get_state
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import AgentNotFound, ConnectorNotFound, InvalidGateway, NumberAlreadyBound
from trunkline.kit.pagination import Page, PageParams, make_page, page_params
from trunkline.pbx_connector.schemas import (
    PbxConnectorCreate,
    PbxConnectorRead,
    PbxConnectorUpdate,
)
from trunkline.pbx_connector.service import pbx_connector_service

router = APIRouter(prefix="/pbx_extension_connectors", tags=["pbx extension connectors"])


async def _public_address(request: Request) -> str:
    return get_state(request).settings.sip.public_address_resolved


PublicAddressDep = Annotated[str, Depends(_public_address)]

_BINDING = (
    "A connector binds its `phone_number` to the agent on `call`, like a trunk row, a provisioned "
    "number or a connection assignment: 409 `number_already_bound` when another agent holds the "
    "number on call by any means (`data` names it: `agent_uuid`, `agent_name`, `bound_via`). "
    "There is no force. An agent may have several connectors. "
)


@router.post(
    "",
    status_code=201,
    response_model=Envelope[PbxConnectorRead],
    responses=error_responses(AgentNotFound, InvalidGateway, NumberAlreadyBound),
    description=_BINDING
    + "`port` defaults to 5060, or 5061 for tls. `auth_username`/`auth_password` go together "
    "(422 otherwise). `status` is `pending` until it is checked.",
)
async def create_connector(
    body: PbxConnectorCreate,
    auth: AuthDep,
    session: SessionDep,
    box: SecretBoxDep,
    public_address: PublicAddressDep,
) -> Envelope[PbxConnectorRead]:
    """Add a PBX extension connector for an agent."""
    connector, agent_name = await pbx_connector_service.create(
        session, auth.workspace_id, box, body
    )
    return ok(PbxConnectorRead.of(connector, agent_name, public_address), "Connector created.")


@router.get("", response_model=Envelope[Page[PbxConnectorRead]], responses=error_responses())
async def list_connectors(
    auth: AuthDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    public_address: PublicAddressDep,
    agent_uuid: Annotated[uuid.UUID | None, Query(description="Only this agent's")] = None,
) -> Envelope[Page[PbxConnectorRead]]:
    """List PBX extension connectors (paginated)."""
    rows, total = await pbx_connector_service.page(session, auth.workspace_id, params, agent_uuid)
    items = [PbxConnectorRead.of(c, name, public_address) for c, name in rows]
    return ok(make_page(items, total, params), "Connectors retrieved.")


@router.get(
    "/{connector_uuid}",
    response_model=Envelope[PbxConnectorRead],
    responses=error_responses(ConnectorNotFound),
)
async def get_connector(
    connector_uuid: uuid.UUID, auth: AuthDep, session: SessionDep, public_address: PublicAddressDep
) -> Envelope[PbxConnectorRead]:
    """Get one PBX extension connector."""
    connector, agent_name = await pbx_connector_service.get(
        session, auth.workspace_id, connector_uuid
    )
    return ok(PbxConnectorRead.of(connector, agent_name, public_address), "Connector retrieved.")


@router.patch(
    "/{connector_uuid}",
    response_model=Envelope[PbxConnectorRead],
    responses=error_responses(ConnectorNotFound, AgentNotFound, InvalidGateway, NumberAlreadyBound),
    description=(PbxConnectorUpdate.__doc__ or "").strip(),
)
async def update_connector(
    connector_uuid: uuid.UUID,
    body: PbxConnectorUpdate,
    auth: AuthDep,
    session: SessionDep,
    box: SecretBoxDep,
    public_address: PublicAddressDep,
) -> Envelope[PbxConnectorRead]:
    """Update a PBX extension connector (partial; passwords replaceable, never readable)."""
    connector, agent_name = await pbx_connector_service.update(
        session, auth.workspace_id, box, connector_uuid, body
    )
    return ok(PbxConnectorRead.of(connector, agent_name, public_address), "Connector updated.")


@router.delete(
    "/{connector_uuid}",
    response_model=Envelope[None],
    responses=error_responses(ConnectorNotFound),
)
async def delete_connector(
    connector_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[None]:
    """Delete a PBX extension connector."""
    await pbx_connector_service.delete(session, auth.workspace_id, connector_uuid)
    return ok(None, "Connector deleted.")
