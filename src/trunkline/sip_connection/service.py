"""SIP trunk connections: SIP accounts at providers, credentials sealed, health reported."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import Channel, check_connection_assign, check_connection_renumber
from trunkline.binding.service import binding_service
from trunkline.errors import ConnectionDisabled, ConnectionInUse, ConnectionNotFound, Unprocessable
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.e164 import e164_or_none
from trunkline.kit.pagination import PageParams
from trunkline.kit.sip_status import SipStatus, TargetKind, reset_status
from trunkline.models import SipConnection
from trunkline.monitor.schemas import CheckResult, StatusEventRead, TraceEntryRead
from trunkline.monitor.service import MonitorService
from trunkline.sip_connection import repository as repo
from trunkline.sip_connection.schemas import (
    AssignmentRead,
    ConnectionAssign,
    ConnectionCreate,
    ConnectionUpdate,
    UnassignmentRead,
)

# What the live check uses: changing any of these makes the last check result meaningless.
_CHECKED_FIELDS = ("gateway", "secondary_gateway", "port", "transport", "register")
_SECRET_FIELDS = ("username", "password")


def number_key(connection: SipConnection) -> str:
    """What the connection's number is compared by: E.164 when it parses, else verbatim."""
    return connection.phone_number_e164 or connection.phone_number


class SipConnectionService:
    async def create(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        box: SecretBox,
        body: ConnectionCreate,
    ) -> SipConnection:
        """Add a connection; status stays ``pending`` until it is checked."""
        connection_id = uuid.uuid4()
        connection = SipConnection(
            id=connection_id,
            workspace_id=workspace_id,
            name=body.name,
            phone_number=body.phone_number,
            phone_number_e164=e164_or_none(body.phone_number),
            gateway=body.gateway,
            secondary_gateway=body.secondary_gateway,
            port=body.port,
            transport=body.transport,
            register=body.register_,
            username_secret=box.encrypt(
                body.username, aad_for("sip_connection", "username_secret", connection_id)
            ),
            password_secret=box.encrypt(
                body.password, aad_for("sip_connection", "password_secret", connection_id)
            ),
            status=SipStatus.pending if body.enabled else SipStatus.disabled,
        )
        await repo.add(session, connection)
        return connection

    async def get(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        connection_id: uuid.UUID,
        *,
        field: str | None = None,
    ) -> SipConnection:
        """One connection of the workspace, or ``ConnectionNotFound``."""
        connection = await repo.get(session, workspace_id, connection_id)
        if connection is None:
            raise ConnectionNotFound(field=field)
        return connection

    async def page(
        self, session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
    ) -> tuple[list[SipConnection], int]:
        """A page of the workspace's connections, oldest first."""
        return await repo.page(session, workspace_id, params)

    async def update(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        box: SecretBox,
        connection_id: uuid.UUID,
        body: ConnectionUpdate,
    ) -> SipConnection:
        """Change the fields sent; a changed gateway or credential makes the status ``pending``."""
        connection = await self.get(session, workspace_id, connection_id)
        sent = body.model_dump(exclude_unset=True, by_alias=True)
        if "phone_number" in sent:
            new_e164 = e164_or_none(sent["phone_number"])
            new_key = new_e164 or sent["phone_number"]
            if new_key != number_key(connection):
                await binding_service.lock(
                    session, workspace_id, numbers=[number_key(connection), new_key]
                )
                agents = await repo.assigned_agent_ids(session, connection.id)
                if agents:
                    error = check_connection_renumber(
                        connection_id=connection.id,
                        assigned_agent_ids=agents,
                        number_holdings=await binding_service.holdings_for_number(
                            session, workspace_id, new_key, Channel.call
                        ),
                    )
                    if error is not None:
                        raise error
            connection.phone_number = sent["phone_number"]
            connection.phone_number_e164 = new_e164
        if "name" in sent:
            connection.name = sent["name"]
        recheck = False
        for key in _CHECKED_FIELDS:
            if key in sent and sent[key] != getattr(connection, key):
                setattr(connection, key, sent[key])
                recheck = True
        for key in _SECRET_FIELDS:
            if key in sent:
                column = f"{key}_secret"
                setattr(
                    connection,
                    column,
                    box.encrypt(sent[key], aad_for("sip_connection", column, connection.id)),
                )
                recheck = True  # a replaced credential is a changed one: it is never compared
        disabled = sent.get("enabled", connection.status != SipStatus.disabled) is False
        if disabled:
            # Disabled wins over any other change: no checks, and the monitor un-REGISTERs it.
            connection.status, connection.check_misses = SipStatus.disabled, 0
        elif recheck or connection.status == SipStatus.disabled:
            reset_status(connection)
        await session.flush()
        await session.refresh(connection)
        return connection

    async def delete(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        connection_id: uuid.UUID,
        *,
        force: bool,
    ) -> None:
        """Delete; while attached to agents only with ``force`` (which detaches it first)."""
        connection = await self.get(session, workspace_id, connection_id)
        await binding_service.lock(session, workspace_id, numbers=[number_key(connection)])
        agents = await repo.assigned_agent_ids(session, connection.id)
        if agents and not force:
            raise ConnectionInUse(data={"agent_uuids": [str(a) for a in agents]})
        await repo.delete_assignments(session, connection_id=connection.id)
        await repo.remove(session, connection.id)

    async def check(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        connection_id: uuid.UUID,
        monitor: MonitorService,
    ) -> CheckResult:
        """Check a connection now over SIP (``ConnectionDisabled`` while it is switched off);
        its new status and the redacted SIP trace."""
        connection = await self.get(session, workspace_id, connection_id)
        if connection.status == SipStatus.disabled:
            raise ConnectionDisabled()
        report = await monitor.check_now(session, TargetKind.connection, connection)
        return CheckResult(
            uuid=connection.id,
            status=report.status,
            status_detail=report.status_detail,
            last_checked_at=connection.last_checked_at,
            trace=[
                TraceEntryRead(direction=t.direction, at=t.at, remote=t.remote, text=t.text)
                for t in report.trace
            ],
        )

    async def events(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        connection_id: uuid.UUID,
        monitor: MonitorService,
        params: PageParams,
    ) -> tuple[list[StatusEventRead], int]:
        """A page of the connection's status changes, newest first, and their total."""
        connection = await self.get(session, workspace_id, connection_id)
        rows, total = await monitor.events(session, workspace_id, connection.id, params)
        return [StatusEventRead.of(e) for e in rows], total

    async def forget_if_disabled(self, monitor: MonitorService, connection: SipConnection) -> None:
        """After the commit: un-REGISTER a connection just disabled, if this process keeps it
        registered."""
        if connection.status == SipStatus.disabled:
            await monitor.forget(TargetKind.connection, connection.id)

    async def forget(self, monitor: MonitorService, connection_id: uuid.UUID) -> None:
        """After the commit: un-REGISTER a deleted connection, if this process registered it."""
        await monitor.forget(TargetKind.connection, connection_id)

    async def assign(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        agent_id: uuid.UUID,
        body: ConnectionAssign,
    ) -> AssignmentRead:
        """Attach a connection to an agent's call channel (docs/api-decisions.md §4.4)."""
        await binding_service.agent_name(session, workspace_id, agent_id)  # AgentNotFound
        connection = await self.get(
            session, workspace_id, body.connection_uuid, field="connection_uuid"
        )
        result = AssignmentRead(
            agent_uuid=agent_id, connection_uuid=connection.id, phone_number=connection.phone_number
        )
        await binding_service.lock(
            session, workspace_id, numbers=[number_key(connection)], agents=[agent_id]
        )
        if agent_id in await repo.assigned_agent_ids(session, connection.id):
            return result  # idempotent: the assignment keeps its original time (and inbound rank)
        error = check_connection_assign(
            agent_id=agent_id,
            number_holdings=await binding_service.holdings_for_number(
                session, workspace_id, number_key(connection), Channel.call
            ),
            force=body.force,
        )
        if error is not None:
            raise error
        await repo.insert_assignment(
            session,
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "connection_id": connection.id,
                "agent_id": agent_id,
                "created_at": utcnow(),
            },
        )
        return result

    async def unassign(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        agent_id: uuid.UUID,
        connection_id: uuid.UUID | None,
        from_body: uuid.UUID | None = None,
    ) -> UnassignmentRead:
        """Detach one connection from the agent, or all of them when none is named; the
        connection may be named in the query (``connection_id``) or the body (``from_body``),
        and both must agree when both are given."""
        if connection_id is not None and from_body is not None and connection_id != from_body:
            raise Unprocessable(
                "connection_uuid differs between the query and the body.",
                field="connection_uuid",
                fields=[{"field": "connection_uuid", "message": "query and body disagree"}],
            )
        connection_id = connection_id or from_body
        await binding_service.agent_name(session, workspace_id, agent_id)  # AgentNotFound
        attached = await repo.assigned_connection_ids(session, agent_id)
        if connection_id is None:
            removed = attached
            await repo.delete_assignments(session, agent_id=agent_id)
        else:
            connection = await self.get(
                session, workspace_id, connection_id, field="connection_uuid"
            )
            removed = [connection.id] if connection.id in attached else []
            await repo.delete_assignments(session, connection_id=connection.id, agent_id=agent_id)
        return UnassignmentRead(agent_uuid=agent_id, unassigned_connection_uuids=removed)

    async def detach_agent(self, session: AsyncSession, agent_id: uuid.UUID) -> None:
        """Detach every connection from the agent (the connections stay)."""
        await repo.delete_assignments(session, agent_id=agent_id)


sip_connection_service = SipConnectionService()
