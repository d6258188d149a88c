"""Loading the keyring, and re-encrypting every stored secret under the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.config import Settings
from trunkline.kit.crypto import SecretBox, aad_for, load_or_create_dev_key
from trunkline.models import PbxConnector, SipConnection, Trunk


class MissingEncryptionKey(RuntimeError):
    pass


# Every encrypted column, so rotation can never forget one.
SECRET_COLUMNS: dict[type[Any], tuple[str, ...]] = {
    Trunk: ("sip_username_secret", "sip_password_secret"),
    SipConnection: ("username_secret", "password_secret"),
    PbxConnector: ("pbx_password_secret", "auth_password_secret"),
}


def load_secret_box(settings: Settings) -> SecretBox:
    """The keyring from settings; in development a key generated once into the data dir."""
    spec = settings.security.encryption_keys
    if spec is not None and spec.get_secret_value().strip():
        return SecretBox.from_spec(spec.get_secret_value())
    if settings.is_production:
        raise MissingEncryptionKey(
            "TRUNKLINE_ENCRYPTION_KEYS is required when TRUNKLINE_ENV=production "
            "(generate one with `trunkline keys generate`)."
        )
    return SecretBox.from_spec(load_or_create_dev_key(settings.data_dir))


async def rotate(session: AsyncSession, box: SecretBox) -> int:
    """Re-encrypt every secret not already under the newest key; returns how many changed."""
    changed = 0
    for model, columns in SECRET_COLUMNS.items():
        table = model.__tablename__
        for row in (await session.execute(select(model))).scalars():
            for column in columns:
                token = getattr(row, column)
                if token is None or not box.needs_rotation(token):
                    continue
                aad = aad_for(table, column, row.id)
                setattr(row, column, box.encrypt(box.decrypt(token, aad), aad))
                changed += 1
    await session.flush()
    return changed
