from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query

from trunkline.deps import AuthDep, MonitorDep, SecretBoxDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentNotFound,
    ConnectionDisabled,
    ConnectionInUse,
    ConnectionNotFound,
    InvalidGateway,
    PhoneInUse,
    ServiceUnavailable,
)
from trunkline.kit.pagination import Page, PageParams, make_page, page_params
from trunkline.monitor.schemas import CheckResult, StatusEventRead
from trunkline.sip_connection.schemas import (
    AssignmentRead,
    ConnectionAssign,
    ConnectionCreate,
    ConnectionRead,
    ConnectionUnassign,
    ConnectionUpdate,
    UnassignmentRead,
)
from trunkline.sip_connection.service import sip_connection_service

# Every SIP trunk connection endpoint: the connections themselves, their live checks and
# status history, and attaching them to agents' call channels (under /agents/…).
router = APIRouter()
_CONNECTIONS = "/channels/sip-trunk/connections"
_TAGS: list[str | Enum] = ["sip trunk connections"]
_ASSIGNMENT = "/agents/{agent_uuid}/channels/call/sip-trunk"
_ASSIGNMENT_TAGS: list[str | Enum] = ["agent channels"]


@router.post(
    _CONNECTIONS,
    tags=_TAGS,
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


@router.get(
    _CONNECTIONS,
    tags=_TAGS,
    response_model=Envelope[Page[ConnectionRead]],
    responses=error_responses(),
)
async def list_connections(
    auth: AuthDep, session: SessionDep, params: Annotated[PageParams, Depends(page_params)]
) -> Envelope[Page[ConnectionRead]]:
    """List SIP trunk connections (paginated)."""
    rows, total = await sip_connection_service.page(session, auth.workspace_id, params)
    return ok(
        make_page([ConnectionRead.of(c) for c in rows], total, params), "Connections retrieved."
    )


@router.get(
    _CONNECTIONS + "/{connection_uuid}",
    tags=_TAGS,
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
    _CONNECTIONS + "/{connection_uuid}",
    tags=_TAGS,
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
    background.add_task(sip_connection_service.forget_if_disabled, monitor, connection)
    return ok(ConnectionRead.of(connection), "Connection updated.")


@router.delete(
    _CONNECTIONS + "/{connection_uuid}",
    tags=_TAGS,
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
    background.add_task(sip_connection_service.forget, monitor, connection_uuid)
    return ok(None, "Connection deleted.")


@router.post(
    _CONNECTIONS + "/{connection_uuid}/check",
    tags=_TAGS,
    response_model=Envelope[CheckResult],
    responses=error_responses(ConnectionNotFound, ConnectionDisabled, ServiceUnavailable),
)
async def check_connection(
    connection_uuid: uuid.UUID, auth: AuthDep, session: SessionDep, monitor: MonitorDep
) -> Envelope[CheckResult]:
    """Check a connection now over SIP; returns its new status and the redacted SIP trace."""
    result = await sip_connection_service.check(
        session, auth.workspace_id, connection_uuid, monitor
    )
    return ok(result, f"Connection checked: {result.status}.")


@router.get(
    _CONNECTIONS + "/{connection_uuid}/events",
    tags=_TAGS,
    response_model=Envelope[Page[StatusEventRead]],
    responses=error_responses(ConnectionNotFound),
)
async def connection_events(
    connection_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    monitor: MonitorDep,
    params: Annotated[PageParams, Depends(page_params)],
) -> Envelope[Page[StatusEventRead]]:
    """List a connection's status changes, newest first (paginated)."""
    rows, total = await sip_connection_service.events(
        session, auth.workspace_id, connection_uuid, monitor, params
    )
    return ok(make_page(rows, total, params), "Events retrieved.")


@router.post(
    _ASSIGNMENT,
    tags=_ASSIGNMENT_TAGS,
    response_model=Envelope[AssignmentRead],
    responses=error_responses(AgentNotFound, ConnectionNotFound, PhoneInUse),
    description=(
        "Attach a SIP trunk connection to the agent's call channel. Without `force`, 409 "
        "`phone_in_use` when the connection's number (compared in E.164 when it parses, else "
        "verbatim) is bound on call to another agent by any means; `data` names that agent "
        "(`agent_uuid`, `agent_name`, `bound_via`). With `force` the assignment is added: the "
        "newest assignment receives inbound calls (snapshots show that agent), earlier agents "
        "keep outbound use. Attaching a connection the agent already has is a no-op (200) that "
        "keeps its original rank; to make an earlier agent the inbound one again, detach and "
        "attach it again with force. An agent may have several connections."
    ),
)
async def assign_connection(
    agent_uuid: uuid.UUID, body: ConnectionAssign, auth: AuthDep, session: SessionDep
) -> Envelope[AssignmentRead]:
    """Attach a SIP trunk connection to the agent's call channel."""
    result = await sip_connection_service.assign(session, auth.workspace_id, agent_uuid, body)
    return ok(result, "Connection assigned.")


@router.delete(
    _ASSIGNMENT,
    tags=_ASSIGNMENT_TAGS,
    response_model=Envelope[UnassignmentRead],
    responses=error_responses(AgentNotFound, ConnectionNotFound),
    description=(
        "Detach a connection from the agent (`connection_uuid` in the query or the JSON body), "
        "or every connection when none is named. The connections themselves stay. Detaching a "
        "connection that is not attached is a no-op (200, empty `unassigned_connection_uuids`); "
        "an unknown connection is 404 `connection_not_found`."
    ),
)
async def unassign_connection(
    agent_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    connection_uuid: Annotated[uuid.UUID | None, Query()] = None,
    body: Annotated[ConnectionUnassign | None, Body()] = None,
) -> Envelope[UnassignmentRead]:
    """Detach SIP trunk connections from the agent's call channel."""
    from_body = body.connection_uuid if body is not None else None
    result = await sip_connection_service.unassign(
        session, auth.workspace_id, agent_uuid, connection_uuid, from_body
    )
    return ok(result, "Connection unassigned.")
