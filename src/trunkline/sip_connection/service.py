"""SIP trunk connections: SIP accounts at providers, credentials sealed, health reported."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.errors import ConnectionNotFound
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.e164 import e164_or_none
from trunkline.kit.pagination import PageParams
from trunkline.models import SipConnection
from trunkline.sip_connection import repository as repo
from trunkline.sip_connection.schemas import ConnectionCreate


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
            status="pending",
        )
        await repo.add(session, connection)
        return connection

    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, connection_id: uuid.UUID
    ) -> SipConnection:
        """One connection of the workspace, or ``ConnectionNotFound``."""
        connection = await repo.get(session, workspace_id, connection_id)
        if connection is None:
            raise ConnectionNotFound()
        return connection

    async def page(
        self, session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
    ) -> tuple[list[SipConnection], int]:
        """A page of the workspace's connections, oldest first."""
        return await repo.page(session, workspace_id, params)


sip_connection_service = SipConnectionService()
