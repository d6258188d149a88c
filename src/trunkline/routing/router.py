from __future__ import annotations

from fastapi import APIRouter

from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.routing.schemas import DryRunRead, DryRunRequest
from trunkline.routing.service import routing_service

router = APIRouter(prefix="/routing", tags=["routing"])


@router.post("/dry-run", response_model=Envelope[DryRunRead], responses=error_responses())
async def dry_run(body: DryRunRequest, auth: AuthDep, session: SessionDep) -> Envelope[DryRunRead]:
    """Decide a call without placing it.

    The live path's checks, in order, limited to this workspace's numbers and gateways."""
    decision, agent_uuid = await routing_service.dry_run(session, auth.workspace_id, body)
    return ok(DryRunRead.of(decision, agent_uuid), f"Call would be {decision.verdict.value}ed.")
