from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from trunkline.deps import AuthDep, MonitorDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import ConnectionDisabled, ConnectionNotFound, ServiceUnavailable
from trunkline.kit.pagination import Page, PageParams, make_page, page_params
from trunkline.kit.sip_status import SipStatus, TargetKind
from trunkline.monitor.schemas import CheckResult, StatusEventRead, TraceEntryRead
from trunkline.sip_connection.service import sip_connection_service

router = APIRouter(prefix="/channels/sip-trunk/connections", tags=["sip trunk connections"])


@router.post(
    "/{connection_uuid}/check",
    response_model=Envelope[CheckResult],
    responses=error_responses(ConnectionNotFound, ConnectionDisabled, ServiceUnavailable),
)
async def check_connection(
    connection_uuid: uuid.UUID, auth: AuthDep, session: SessionDep, monitor: MonitorDep
) -> Envelope[CheckResult]:
    """Check a connection now over SIP; returns its new status and the redacted SIP trace."""
    connection = await sip_connection_service.get(session, auth.workspace_id, connection_uuid)
    if connection.status == SipStatus.disabled:
        raise ConnectionDisabled()
    report = await monitor.check_now(session, TargetKind.connection, connection)
    result = CheckResult(
        uuid=connection.id,
        status=report.status,
        status_detail=report.status_detail,
        last_checked_at=connection.last_checked_at,
        trace=[
            TraceEntryRead(direction=t.direction, at=t.at, remote=t.remote, text=t.text)
            for t in report.trace
        ],
    )
    return ok(result, f"Connection checked: {report.status}.")


@router.get(
    "/{connection_uuid}/events",
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
    connection = await sip_connection_service.get(session, auth.workspace_id, connection_uuid)
    rows, total = await monitor.events(session, auth.workspace_id, connection.id, params)
    return ok(make_page([StatusEventRead.of(e) for e in rows], total, params), "Events retrieved.")
