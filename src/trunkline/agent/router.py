from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from trunkline.agent.channels_service import agent_channels_service as views
from trunkline.agent.schemas import AgentCreate, AgentRead, AgentUpdate
from trunkline.agent.service import agent_service
from trunkline.deps import AuthDep, SecretBoxDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import AgentInUse, AgentNotFound
from trunkline.kit.pagination import Page, PageParams, page_params, page_response

router = APIRouter(prefix="/agents", tags=["agents"])


@router.post("", status_code=201, response_model=Envelope[AgentRead], responses=error_responses())
async def create_agent(
    body: AgentCreate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[AgentRead]:
    """Create an agent."""
    agent = await agent_service.create(session, auth.workspace_id, body, box)
    return ok(views.new(agent), "Agent created.")


@router.get("", response_model=Envelope[Page[AgentRead]], responses=error_responses())
async def list_agents(
    auth: AuthDep, session: SessionDep, params: Annotated[PageParams, Depends(page_params)]
) -> Response:
    """List the workspace's agents (paginated)."""
    agents, total = await agent_service.page(session, auth.workspace_id, params)
    items = await views.views_json(session, auth.workspace_id, agents)
    return page_response(items, total, params, "Agents retrieved.")


@router.get(
    "/{agent_uuid}", response_model=Envelope[AgentRead], responses=error_responses(AgentNotFound)
)
async def get_agent(
    agent_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[AgentRead]:
    """Get one agent."""
    agent = await agent_service.get(session, auth.workspace_id, agent_uuid)
    return ok(await views.view(session, auth.workspace_id, agent), "Agent retrieved.")


@router.patch(
    "/{agent_uuid}", response_model=Envelope[AgentRead], responses=error_responses(AgentNotFound)
)
async def update_agent(
    agent_uuid: uuid.UUID, body: AgentUpdate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[AgentRead]:
    """Update an agent's profile, status, settings, stream URL or stream token."""
    agent = await agent_service.update(session, auth.workspace_id, agent_uuid, body, box)
    return ok(await views.view(session, auth.workspace_id, agent), "Agent updated.")


@router.delete(
    "/{agent_uuid}",
    response_model=Envelope[None],
    responses=error_responses(AgentNotFound, AgentInUse),
)
async def delete_agent(
    agent_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    force: Annotated[bool, Query(description="Unbind every channel first")] = False,
) -> Envelope[None]:
    """Delete an agent (409 agent_in_use while it has bindings, unless force=true)."""
    await agent_service.delete(session, auth.workspace_id, agent_uuid, force=force)
    return ok(None, "Agent deleted.")
