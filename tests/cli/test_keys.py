"""``trunkline keys generate|rotate``: secrets move to the newest key and still decrypt."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api
from tests.support.cli import cli_runner
from trunkline.config import Settings
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import SipConnection

pytestmark = pytest.mark.slow


async def run(settings: Settings, tmp_path: Path, *args: str, keys: str) -> tuple[int, str]:
    result = await cli_runner(settings, tmp_path)(*args, keys=keys)
    return result.code, result.stdout + result.stderr


async def secrets_of(sm: async_sessionmaker[AsyncSession], connection_uuid: str) -> tuple[str, str]:
    async with sm() as session:
        row = await session.scalar(
            select(SipConnection).where(SipConnection.id == uuid.UUID(connection_uuid))
        )
    assert row is not None
    return row.username_secret, row.password_secret


async def test_rotate_moves_every_secret_to_the_newest_key(
    api: Api, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    old = settings.security.encryption_keys.get_secret_value()  # type: ignore[union-attr]
    code, new = await run(settings, tmp_path, "keys", "generate", keys=old)
    new = new.strip()
    assert code == 0 and new.count(":") == 1
    cid = (await api.connection(username="rot-user", password="rot-pass"))["uuid"]
    before = await secrets_of(sessionmaker, cid)
    new_kid, old_kid = new.split(":")[0], SecretBox.from_spec(old).current_kid
    assert all(s.split(":")[1] == old_kid for s in before)

    code, out = await run(settings, tmp_path, "keys", "rotate", keys=f"{new},{old}")
    try:
        assert code == 0, out
        after = await secrets_of(sessionmaker, cid)
        assert all(s.split(":")[1] == new_kid for s in after)
        box = SecretBox.from_spec(f"{new},{old}")
        user, password = (
            box.decrypt(after[i], aad_for("sip_connection", col, cid))
            for i, col in enumerate(("username_secret", "password_secret"))
        )
        assert (user, password) == ("rot-user", "rot-pass")
    finally:
        # Back to the test keyring, so the running server can read every secret again.
        code, out = await run(settings, tmp_path, "keys", "rotate", keys=f"{old},{new}")
        assert code == 0, out
    restored = await secrets_of(sessionmaker, cid)
    assert all(s.split(":")[1] == old_kid for s in restored)
    # The test keyring alone (what the running server has) decrypts it again.
    only_old = SecretBox.from_spec(old)
    assert only_old.decrypt(restored[1], aad_for("sip_connection", "password_secret", cid)) == (
        "rot-pass"
    )
