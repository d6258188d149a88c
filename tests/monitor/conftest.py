"""Monitor fixtures: a MonitorService over the test database, isolated from other tests' rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.config import MonitorSettings, Settings
from trunkline.kit.crypto import SecretBox
from trunkline.kit.egress import EgressPolicy
from trunkline.monitor.service import MonitorService
from trunkline.monitor.targets import KINDS

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


async def park_existing_targets(sm: async_sessionmaker[AsyncSession]) -> None:
    """Push every row that exists now far into the future, so a monitor under test only checks
    the targets its test creates (other tests' example gateways must never be probed)."""
    async with sm.begin() as session:
        for kind in KINDS:
            await session.execute(
                update(kind.model)
                .values(next_check_at=FAR_FUTURE)
                .execution_options(synchronize_session=False)
            )


MonitorFactory = Callable[..., MonitorService]


@pytest.fixture
async def make_monitor(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MonitorFactory]:
    """Build MonitorService instances with short SIP timers; all are closed after the test."""
    await park_existing_targets(sessionmaker)
    made: list[MonitorService] = []
    box = SecretBox.from_spec(settings.security.encryption_keys.get_secret_value())  # type: ignore[union-attr]

    security = settings.security  # loopback allowed: the peers run there
    egress = EgressPolicy.from_lists(security.allow_addresses, security.deny_addresses)

    def factory(**overrides: object) -> MonitorService:
        base = {
            "enabled": False,
            "interval_s": 30.0,
            "jitter_s": 0.0,
            "timeout_s": 1.0,
            "t1_s": 0.05,
            "t2_s": 0.4,
            "tick_s": 0.05,
        }
        monitor = MonitorService(
            MonitorSettings(**(base | overrides)), sessionmaker, box, egress=egress
        )
        made.append(monitor)
        return monitor

    yield factory
    for monitor in made:
        await monitor.close()
