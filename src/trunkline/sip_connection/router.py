from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query

from trunkline.deps import AuthDep, MonitorDep, SecretBoxDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import ConnectionInUse, ConnectionNotFound, InvalidGateway, PhoneInUse
from trunkline.kit.pagination import Page, PageParams, make_page, page_params
from trunkline.kit.sip_status import SipStatus, TargetKind
from trunkline.sip_connection.schemas import ConnectionCreate, ConnectionRead, ConnectionUpdate
from trunkline.sip_connection.service import sip_connection_service

router = APIRouter(prefix="/channels/sip-trunk/connections", tags=["sip trunk connections"])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ConnectionRead],
    responses=error_responses(InvalidGateway),
)
async def create_connection(
    body: ConnectionCreate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[ConnectionRead]:
    """Add a new SIP trunk connection."""
    connection = await sip_connection_service.create(session, auth.workspace_id, box, body)
    return ok(ConnectionRead.of(connection), "Connection created.")


@router.get("", response_model=Envelope[Page[ConnectionRead]], responses=error_responses())
async def list_connections(
    auth: AuthDep, session: SessionDep, params: Annotated[PageParams, Depends(page_params)]
) -> Envelope[Page[ConnectionRead]]:
    """List SIP trunk connections (paginated)."""
    rows, total = await sip_connection_service.page(session, auth.workspace_id, params)
    return ok(
        make_page([ConnectionRead.of(c) for c in rows], total, params), "Connections retrieved."
    )


@router.get(
    "/{connection_uuid}",
    response_model=Envelope[ConnectionRead],
    responses=error_responses(ConnectionNotFound),
)
async def get_connection(
    connection_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[ConnectionRead]:
    """Get one SIP trunk connection."""
    connection = await sip_connection_service.get(session, auth.workspace_id, connection_uuid)
    return ok(ConnectionRead.of(connection), "Connection retrieved.")


@router.patch(
    "/{connection_uuid}",
    response_model=Envelope[ConnectionRead],
    responses=error_responses(ConnectionNotFound, InvalidGateway, PhoneInUse),
    description=(ConnectionUpdate.__doc__ or "").strip(),
)
async def update_connection(
    connection_uuid: uuid.UUID,
    body: ConnectionUpdate,
    auth: AuthDep,
    session: SessionDep,
    box: SecretBoxDep,
    monitor: MonitorDep,
    background: BackgroundTasks,
) -> Envelope[ConnectionRead]:
    """Update a SIP trunk connection (partial; credentials replaceable, never readable)."""
    connection = await sip_connection_service.update(
        session, auth.workspace_id, box, connection_uuid, body
    )
    if connection.status == SipStatus.disabled:
        # After the commit: un-REGISTER it if this process keeps it registered.
        background.add_task(monitor.forget, TargetKind.connection, connection.id)
    return ok(ConnectionRead.of(connection), "Connection updated.")


@router.delete(
    "/{connection_uuid}",
    response_model=Envelope[None],
    responses=error_responses(ConnectionNotFound, ConnectionInUse),
    description=(
        "409 `connection_in_use` (with `data.agent_uuids`) while the connection is attached to "
        "agents, unless `force=true`, which detaches it from every agent first."
    ),
)
async def delete_connection(
    connection_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    monitor: MonitorDep,
    background: BackgroundTasks,
    force: Annotated[bool, Query(description="Detach it from every agent first")] = False,
) -> Envelope[None]:
    """Delete a SIP trunk connection."""
    await sip_connection_service.delete(session, auth.workspace_id, connection_uuid, force=force)
    background.add_task(monitor.forget, TargetKind.connection, connection_uuid)
    return ok(None, "Connection deleted.")
