"""PBX extension connectors: an agent registered as an extension on a customer's PBX.

A connector is one of the ways an agent holds its number on ``call`` (with trunk rows, provisioned
numbers and connection assignments), so creating or moving one follows the binding rules.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import Channel, check_pbx_bind
from trunkline.binding.service import binding_service
from trunkline.errors import ConnectorNotFound, Unprocessable
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.pagination import PageParams
from trunkline.kit.sip_status import SipStatus, reset_status
from trunkline.models import PbxConnector
from trunkline.pbx_connector import repository as repo
from trunkline.pbx_connector.schemas import (
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    EMPTY_NORMALIZER,
    PbxConnectorCreate,
    PbxConnectorUpdate,
)

# What registration uses: changing any of these makes the last check result meaningless.
_CHECKED_FIELDS = (
    "registrar_server",
    "port",
    "connection_type",
    "setup_mode",
    "username_extension",
    "auth_username",
)
_SECRETS = {"pbx_password": "pbx_password_secret", "auth_password": "auth_password_secret"}


def default_connector_name(e164: str) -> str:
    """Like trunks' ``{channel}_trunk_{digits}``: ``pbx_extension_{digits}``."""
    return f"pbx_extension_{e164.lstrip('+')}"


def _pair_error() -> Unprocessable:
    message = "auth_username and auth_password go together: send both, or clear both."
    return Unprocessable(
        message, field="auth_password", fields=[{"field": "auth_password", "message": message}]
    )


class PbxConnectorService:
    async def create(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        box: SecretBox,
        body: PbxConnectorCreate,
    ) -> tuple[PbxConnector, str]:
        """Add a connector for an agent; 409 ``number_already_bound`` if another agent holds
        the number on call. Status stays ``pending`` until it is checked."""
        if (body.auth_username is None) != (body.auth_password is None):
            raise _pair_error()
        agent_id = body.agent_uuid
        agent_name = await binding_service.agent_name(session, workspace_id, agent_id)
        await self._check_number(session, workspace_id, agent_id, body.phone_number, None)
        connector_id = uuid.uuid4()

        def seal(column: str, value: str | None) -> str | None:
            if value is None:
                return None
            return box.encrypt(value, aad_for("pbx_connector", column, connector_id))

        connector = PbxConnector(
            id=connector_id,
            workspace_id=workspace_id,
            agent_id=agent_id,
            name=body.name or default_connector_name(body.phone_number),
            phone_number=body.phone_number,
            registrar_server=body.registrar_server,
            port=body.port or (DEFAULT_TLS_PORT if body.connection_type == "tls" else DEFAULT_PORT),
            connection_type=body.connection_type,
            setup_mode=body.setup_mode,
            username_extension=body.username_extension,
            pbx_password_secret=seal("pbx_password_secret", body.pbx_password),
            auth_username=body.auth_username,
            auth_password_secret=seal("auth_password_secret", body.auth_password),
            allowed_ip=body.allowed_ip,
            normalizer={
                **EMPTY_NORMALIZER,
                **(body.normalizer.model_dump() if body.normalizer else {}),
            },
            status=SipStatus.pending,
        )
        await repo.add(session, connector)
        return connector, agent_name

    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, connector_id: uuid.UUID
    ) -> tuple[PbxConnector, str]:
        """One connector of the workspace with its agent's name, or ``ConnectorNotFound``."""
        found = await repo.get(session, workspace_id, connector_id)
        if found is None:
            raise ConnectorNotFound()
        return found

    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        params: PageParams,
        agent_id: uuid.UUID | None = None,
    ) -> tuple[list[tuple[PbxConnector, str]], int]:
        """A page of the workspace's connectors (optionally one agent's), oldest first."""
        return await repo.page(session, workspace_id, params, agent_id)

    async def update(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        box: SecretBox,
        connector_id: uuid.UUID,
        body: PbxConnectorUpdate,
    ) -> tuple[PbxConnector, str]:
        """Change the fields sent (see ``PbxConnectorUpdate``)."""
        connector, agent_name = await self.get(session, workspace_id, connector_id)
        sent: dict[str, Any] = body.model_dump(exclude_unset=True)
        if "agent_uuid" in sent or "phone_number" in sent:
            agent_id = sent.get("agent_uuid", connector.agent_id)
            agent_name = await binding_service.agent_name(session, workspace_id, agent_id)
            number = sent.get("phone_number", connector.phone_number)
            if (agent_id, number) != (connector.agent_id, connector.phone_number):
                await self._check_number(session, workspace_id, agent_id, number, connector.id)
            connector.agent_id, connector.phone_number = agent_id, number
        for key in ("name", "allowed_ip"):
            if key in sent:
                setattr(connector, key, sent[key])
        if "normalizer" in sent:
            given = body.normalizer.model_dump(exclude_unset=True) if body.normalizer else None
            connector.normalizer = (
                dict(EMPTY_NORMALIZER) if given is None else {**connector.normalizer, **given}
            )
        recheck = False
        for key in _CHECKED_FIELDS:
            if key in sent and sent[key] != getattr(connector, key):
                setattr(connector, key, sent[key])
                recheck = True
        for key, column in _SECRETS.items():
            if key in sent:
                value = sent[key]
                sealed = (
                    None
                    if value is None
                    else box.encrypt(value, aad_for("pbx_connector", column, connector.id))
                )
                setattr(connector, column, sealed)
                recheck = True
        if (connector.auth_username is None) != (connector.auth_password_secret is None):
            raise _pair_error()
        if recheck:
            reset_status(connector)
        await session.flush()
        await session.refresh(connector)
        return connector, agent_name

    async def delete(
        self, session: AsyncSession, workspace_id: uuid.UUID, connector_id: uuid.UUID
    ) -> None:
        """Delete a connector: its agent stops answering its number through it."""
        connector, _ = await self.get(session, workspace_id, connector_id)
        await repo.remove(session, connector.id)

    async def delete_for_agent(self, session: AsyncSession, agent_id: uuid.UUID) -> int:
        """Delete the agent's connectors (a connector is the agent's extension and cannot exist
        without it); returns how many."""
        return await repo.remove_for_agent(session, agent_id)

    async def _check_number(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        agent_id: uuid.UUID,
        e164: str,
        connector_id: uuid.UUID | None,
    ) -> None:
        await binding_service.lock(session, workspace_id, numbers=[e164], agents=[agent_id])
        error = check_pbx_bind(
            agent_id=agent_id,
            number_holdings=await binding_service.holdings_for_number(
                session, workspace_id, e164, Channel.call
            ),
            connector_id=connector_id,
        )
        if error is not None:
            raise error


pbx_connector_service = PbxConnectorService()
