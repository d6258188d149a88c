from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks

from trunkline.call.control import call_controls
from trunkline.call.schemas import CallRead
from trunkline.deps import AuthDep, SessionDep, SettingsDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.routing.placement import REFUSAL_ERRORS, placement
from trunkline.routing.schemas import CallCreate, DryRunRead, DryRunRequest
from trunkline.routing.service import routing_service

router = APIRouter(prefix="/routing", tags=["routing"])
calls_router = APIRouter(prefix="/calls", tags=["calls"])


@router.post("/dry-run", response_model=Envelope[DryRunRead], responses=error_responses())
async def dry_run(body: DryRunRequest, auth: AuthDep, session: SessionDep) -> Envelope[DryRunRead]:
    """Decide a call without placing it.

    The live path's checks, in order, limited to this workspace's numbers and gateways."""
    decision, agent_uuid = await routing_service.dry_run(session, auth.workspace_id, body)
    return ok(DryRunRead.of(decision, agent_uuid), f"Call would be {decision.verdict.value}ed.")


@calls_router.post(
    "",
    status_code=201,
    response_model=Envelope[CallRead],
    responses=error_responses(*REFUSAL_ERRORS),
)
async def place_call(
    body: CallCreate,
    auth: AuthDep,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Envelope[CallRead]:
    """Place an outbound call from an agent's number.

    Every check of docs/calls.md §4 runs before any SIP is sent; a refusal answers with the
    check's code (`no_number`, `outbound_disabled`, `destination_not_allowed`,
    `destination_blocked`, `no_trunk`, `channel_limit_reached`, ...). The call is `queued`
    and proceeds on its own: follow it with `GET /calls/{uuid}`. Where no call worker runs in
    this process, the call waits `queued` for the next heartbeat of a `trunkline call-worker`."""
    local = call_controls.can_dial
    call, plan = await placement.place(
        session,
        auth.workspace_id,
        body,
        worker_id=call_controls.worker_id if local else None,
        lease_ttl_s=settings.calls.lease_ttl_s,
        default_ring_timeout_s=settings.calls.ring_timeout_s,
    )
    if local:  # after the response, hence after the commit: the worker finds the call's row
        background.add_task(call_controls.dial, plan)
    return ok(CallRead.of(call), "Call queued.")
