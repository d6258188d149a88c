"""Secrets (docs/api-decisions.md §1): the plaintext SIP password is absent from the database, the
logs and
every response — while the ciphertext is present, so the searches cannot pass vacuously."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, unique_us_number
from trunkline.config import Settings
from trunkline.models import SipConnection, Trunk
from trunkline.models.base import Base


def fresh_secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


async def all_rows_text(sm: async_sessionmaker[AsyncSession]) -> str:
    """Every row of every table, as text."""
    chunks: list[str] = []
    async with sm() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


async def sqlite_bytes(settings: Settings) -> bytes:
    """The SQLite database file and its write-ahead log, raw.

    Read by a child process: closing any descriptor of the database file in *this* process
    would drop the server's POSIX locks on it (SQLite "How To Corrupt", §2.2), and the CLI tests
    write to the same file from another process.
    """
    path = Path(make_url(settings.database_url_resolved).database or "")
    script = (
        "import sys, pathlib\n"
        "for p in sys.argv[1:]:\n"
        "    f = pathlib.Path(p)\n"
        "    if f.exists(): sys.stdout.buffer.write(f.read_bytes())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(path),
        str(path.with_name(path.name + "-wal")),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out


@pytest.fixture
async def sealed(api: Api, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """A call trunk and a connection with fresh credentials, created while every log is on,
    plus every response the API gave about them."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL with parameters
    creds = {
        "trunk_user": fresh_secret("tuser"),
        "trunk_password": fresh_secret("tpass"),
        "conn_user": fresh_secret("cuser"),
        "conn_password": fresh_secret("cpass"),
    }
    agent = await api.agent()
    number = unique_us_number()
    responses = [
        await api.post(
            "/phone-numbers/trunks",
            {
                "phone_number": number,
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {
                    "gateway": "sip.acme.com",
                    "username": creds["trunk_user"],
                    "password": creds["trunk_password"],
                },
            },
        ),
        await api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "Main",
                "phone_number": number,
                "gateway": "sip.telnyx.com",
                "username": creds["conn_user"],
                "password": creds["conn_password"],
            },
        ),
    ]
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    snap, conn = responses[0].json()["data"], responses[1].json()["data"]
    responses += [
        await api.get(f"/phone-numbers/{snap['phone_number_uuid']}/channels"),
        await api.get("/phone-numbers/channels", params={"number": number}),
        await api.get(f"/channels/sip-trunk/connections/{conn['uuid']}"),
        await api.get("/channels/sip-trunk/connections"),
        # Refused requests must not echo what they were sent either.
        await api.post(
            "/phone-numbers/trunks",
            {
                "phone_number": number,
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", "password": creds["trunk_password"]},
            },
        ),
        await api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "Bad",
                "phone_number": number,
                "gateway": "https://sip.telnyx.com",
                "username": creds["conn_user"],
                "password": creds["conn_password"],
            },
        ),
    ]
    assert [r.status_code for r in responses[2:]] == [200, 200, 200, 200, 409, 422]
    return {
        "creds": creds,
        "responses": responses,
        "phone_number_uuid": snap["phone_number_uuid"],
        "connection_uuid": conn["uuid"],
    }


class TestPlaintextNeverStored:
    async def test_not_in_any_row(
        self, sealed: dict[str, Any], sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        dump = await all_rows_text(sessionmaker)

        for name, value in sealed["creds"].items():
            assert value not in dump, name
        async with sessionmaker() as session:
            trunk = await session.scalar(
                select(Trunk.sip_password_secret).where(
                    Trunk.phone_number_id == uuid.UUID(sealed["phone_number_uuid"]),
                    Trunk.channel == "call",
                )
            )
            conn = await session.scalar(
                select(SipConnection.password_secret).where(
                    SipConnection.id == uuid.UUID(sealed["connection_uuid"])
                )
            )
        assert trunk is not None and conn is not None
        assert trunk in dump and conn in dump  # the ciphertexts are what is stored

    async def test_not_in_storage(
        self,
        sealed: dict[str, Any],
        settings: Settings,
        backend: str,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Beyond the mapped rows: the raw SQLite file + WAL, or every PostgreSQL table as text."""
        async with sessionmaker() as session:
            cipher = await session.scalar(
                select(SipConnection.password_secret).where(
                    SipConnection.id == uuid.UUID(sealed["connection_uuid"])
                )
            )
            assert cipher is not None
            if backend == "sqlite":
                raw = await sqlite_bytes(settings)
                assert cipher.encode() in raw
                found = {name: value.encode() in raw for name, value in sealed["creds"].items()}
            else:
                found = {
                    name: await pg_contains(session, value)
                    for name, value in sealed["creds"].items()
                }
                assert await pg_contains(session, cipher)
        assert found == dict.fromkeys(sealed["creds"], False)


async def pg_contains(session: AsyncSession, needle: str) -> bool:
    """Whether any row of any table in the schema contains ``needle`` in its text form."""
    tables = (
        await session.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        )
    ).scalars()
    for table in list(tables):
        hit = await session.scalar(
            text(f'SELECT EXISTS (SELECT 1 FROM "{table}" t WHERE t::text LIKE :pattern)'),
            {"pattern": f"%{needle}%"},
        )
        if hit:
            return True
    return False


class TestPlaintextNeverSent:
    async def test_not_in_any_response(self, sealed: dict[str, Any]) -> None:
        for r in sealed["responses"]:
            for name, value in sealed["creds"].items():
                assert value not in r.text, (name, r.request.url)

    async def test_responses_never_carry_credential_fields(self, sealed: dict[str, Any]) -> None:
        for r in sealed["responses"]:
            assert '"username"' not in r.text and '"password"' not in r.text, r.request.url


class TestPlaintextNeverLogged:
    async def test_not_in_logs_even_with_sql_echo(
        self, sealed: dict[str, Any], caplog: pytest.LogCaptureFixture
    ) -> None:
        # The requests ran in the fixture, so their records are in the setup phase.
        records = caplog.get_records("setup")
        logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)

        # Not vacuous: the SQL was logged; its parameters are not (hide_parameters on the engine).
        assert "INSERT INTO sip_connection" in logged
        assert "SQL parameters hidden" in logged and "'v1:" not in logged
        for name, value in sealed["creds"].items():
            assert value not in logged, name
