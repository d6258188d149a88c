"""The calls API (docs/calls.md §5). ``POST /calls`` (outbound) lives with the call worker."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from trunkline.call.repository import CallFilters
from trunkline.call.rules import CallDirection, CallStatus
from trunkline.call.schemas import CallEventRead, CallRead
from trunkline.call.service import call_service
from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import CallNotFound
from trunkline.kit.pagination import Page, PageParams, make_page, page_params

router = APIRouter(prefix="/calls", tags=["calls"])

NumberQuery = Annotated[
    str | None,
    Query(
        description="Calls from or to this number: its digits, with or without the leading +, "
        "matched whole against the caller and the callee",
        pattern=r"^\+?[0-9]{1,31}$",
        examples=["12025550123"],
    ),
]
AgentQuery = Annotated[uuid.UUID | None, Query(description="Calls this agent took or made")]

_LIST_DESCRIPTION = """Newest first. Rejected inbound calls are listed too (status `rejected`,
with `rejected_by`), once they matched a workspace: a call refused because its source is trusted
by no one (`untrusted_source`) or its number is held by no one (`unknown_number`) belongs to no
workspace, so it is kept for the operator (logs, CLI) and no API lists it."""

_DELETE_DESCRIPTION = """Hangs a live call up: BYE once answered, CANCEL while it rings
(RFC 3261 §15, §9). The request is recorded at once (`hangup_requested_at`, and a
`hangup_requested` event) and the call worker carrying the call acts on it — immediately when it
runs in this process, else on its next heartbeat. The answer is the call as it is now: its status
becomes final (`completed` with `end_reason` `api_hangup`, or `canceled`) when the hang-up
completes. Idempotent: repeating it, or deleting a call that has already ended, answers 200 with
the call unchanged. The record itself is never deleted."""


def _number_forms(number: str | None) -> tuple[str, ...]:
    if number is None:
        return ()
    digits = number.removeprefix("+")
    return (f"+{digits}", digits)


@router.get(
    "",
    response_model=Envelope[Page[CallRead]],
    responses=error_responses(),
    description=_LIST_DESCRIPTION,
)
async def list_calls(
    auth: AuthDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[CallStatus | None, Query(description="Only calls in this status")] = None,
    direction: Annotated[CallDirection | None, Query(description="inbound or outbound")] = None,
    agent_uuid: AgentQuery = None,
    number: NumberQuery = None,
) -> Envelope[Page[CallRead]]:
    """List the workspace's calls, newest first (paginated)."""
    filters = CallFilters(
        status=status, direction=direction, agent_id=agent_uuid, numbers=_number_forms(number)
    )
    calls, total = await call_service.page(session, auth.workspace_id, filters, params)
    return ok(make_page([CallRead.of(c) for c in calls], total, params), "Calls retrieved.")


@router.get(
    "/{call_uuid}", response_model=Envelope[CallRead], responses=error_responses(CallNotFound)
)
async def get_call(call_uuid: uuid.UUID, auth: AuthDep, session: SessionDep) -> Envelope[CallRead]:
    """Get one call."""
    call = await call_service.get(session, auth.workspace_id, call_uuid)
    return ok(CallRead.of(call), "Call retrieved.")


@router.get(
    "/{call_uuid}/events",
    response_model=Envelope[Page[CallEventRead]],
    responses=error_responses(CallNotFound),
    description="Oldest first: the INVITE (or the API request), each routing check, ringing, "
    "the agent's connection, the answer, DTMF, marks, the hang-up and the SIP codes on the way.",
)
async def list_call_events(
    call_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
) -> Envelope[Page[CallEventRead]]:
    """List a call's events in the order they happened (paginated)."""
    call, events, total = await call_service.events(session, auth.workspace_id, call_uuid, params)
    items = [CallEventRead.of(e, call.created_at) for e in events]
    return ok(make_page(items, total, params), "Call events retrieved.")


@router.delete(
    "/{call_uuid}",
    response_model=Envelope[CallRead],
    responses=error_responses(CallNotFound),
    description=_DELETE_DESCRIPTION,
)
async def hang_up_call(
    call_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[CallRead]:
    """Hang up a call (idempotent)."""
    call = await call_service.request_hangup(session, auth.workspace_id, call_uuid)
    return ok(CallRead.of(call), "Call hang-up requested.")
