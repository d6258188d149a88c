"""What start-up builds is kept off the cyclic garbage collector's full passes."""

from __future__ import annotations

import gc
from pathlib import Path

from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key


async def test_startup_objects_are_frozen(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            data_dir=tmp_path,
            encryption_keys=generate_key(),
            monitor={"enabled": False},
            sip={"listen": "127.0.0.1:0"},  # the call worker starts too, on a free port
            _env_file=None,
        )
    )
    before = gc.get_freeze_count()
    async with app.router.lifespan_context(app):
        # A full collection (~100 ms with ~170,000 objects) would otherwise walk all of it.
        assert gc.get_freeze_count() > before
