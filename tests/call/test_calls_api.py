"""The calls API (docs/calls.md §5) over rows the call service wrote: list, filters,
pagination, one call, its events, and the idempotent hang-up."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.support.api import Api, error_body
from tests.support.rows import get_row, purchased_number, workspace_id
from trunkline.binding.rules import Via
from trunkline.call.control import call_controls
from trunkline.call.rules import CallStatus, EndReason, EventKind, RejectedBy
from trunkline.call.service import call_service
from trunkline.kit.clock import iso_z
from trunkline.models import Call

CALL_NOT_FOUND = error_body("call_not_found", "Call not found.", field="call_uuid")


class IsoZ:
    """Equal to any timestamp of docs/api-decisions.md §2.5 (ISO 8601 UTC, whole seconds, Z)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", other)
        )

    def __repr__(self) -> str:
        return "<ISO-8601 Z>"


Z = IsoZ()
NO_MEDIA = {"codec": None, "packets_in": 0, "packets_out": 0, "dtmf": 0}


def page_of(items: list[Any], message: str = "Calls retrieved.", **pagination: Any) -> Any:
    return {"success": True, "message": message, "data": {"items": items, "pagination": pagination}}


def ringing_call(call: Call, **fields: Any) -> dict[str, Any]:
    """The API view of a call just opened by ``factories.inbound``."""
    return {
        "call_uuid": str(call.id),
        "direction": "inbound",
        "status": "ringing",
        "from": "+12025550123",
        "to": "+14155550100",
        "phone_number_uuid": None,
        "agent_uuid": None,
        "via": None,
        "sip_call_id": call.sip_call_id,
        "sip_code": None,
        "sip_reason": None,
        "rejected_by": None,
        "end_reason": None,
        "created_at": iso_z(call.created_at),
        "answered_at": None,
        "ended_at": None,
        "duration_s": None,
        "media": NO_MEDIA,
        **fields,
    }


@pytest.fixture
async def ws(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    return await workspace_id(sessionmaker, api.slug)


@pytest.fixture
def controls() -> Any:
    """A call worker of this process, as the API sees it: records what it is asked."""

    class Recorder:
        def __init__(self) -> None:
            self.hangups: list[uuid.UUID] = []

        def hangup(self, call_id: uuid.UUID) -> bool:
            self.hangups.append(call_id)
            return True

    recorder = Recorder()
    call_controls.register(recorder)
    yield recorder
    call_controls.unregister(recorder)


class TestListCalls:
    async def test_empty(self, api: Api) -> None:
        r = await api.get("/calls")

        assert r.status_code == 200
        assert r.json() == page_of(
            [],
            current_page=1,
            per_page=50,
            total=0,
            last_page=1,
            to=None,
            has_more=False,
            **{"from": None},
        )

    async def test_newest_first_in_pages(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        calls = [await f.inbound(sessionmaker, ws) for _ in range(3)]

        first = await api.get("/calls", params={"per_page": 2})
        second = await api.get("/calls", params={"per_page": 2, "page": 2})

        assert first.status_code == second.status_code == 200
        assert first.json() == page_of(
            [ringing_call(calls[2]), ringing_call(calls[1])],
            current_page=1,
            per_page=2,
            total=3,
            last_page=2,
            to=2,
            has_more=True,
            **{"from": 1},
        )
        assert second.json() == page_of(
            [ringing_call(calls[0])],
            current_page=2,
            per_page=2,
            total=3,
            last_page=2,
            to=3,
            has_more=False,
            **{"from": 3},
        )

    async def test_filters(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        agent = await api.agent("Voice")
        agent_id = uuid.UUID(agent["agent_uuid"])
        ringing = await f.inbound(sessionmaker, ws, from_number="+12025550111")
        done = await f.inbound(sessionmaker, ws, agent_id=agent_id, to_number="+14155550222")
        await f.answer(sessionmaker, done.id)
        await f.end(sessionmaker, done.id)
        out = await f.outbound(sessionmaker, ws, agent_id, to_number="+12025550111")
        refused = await f.rejected(sessionmaker, ws)

        async def ids(**params: Any) -> list[str]:
            r = await api.get("/calls", params=params)
            assert r.status_code == 200, r.text
            return [c["call_uuid"] for c in r.json()["data"]["items"]]

        assert await ids(status="ringing") == [str(ringing.id)]
        assert await ids(status="completed") == [str(done.id)]
        assert await ids(status="rejected") == [str(refused.id)]
        assert await ids(status="busy") == []
        assert await ids(direction="outbound") == [str(out.id)]
        assert await ids(direction="inbound") == [str(refused.id), str(done.id), str(ringing.id)]
        assert await ids(agent_uuid=agent["agent_uuid"]) == [str(out.id), str(done.id)]
        assert await ids(agent_uuid=str(uuid.uuid4())) == []
        # A number matches the caller or the callee, with or without its +.
        assert await ids(number="+12025550111") == [str(out.id), str(ringing.id)]
        assert await ids(number="12025550111") == [str(out.id), str(ringing.id)]
        assert await ids(number="14155550222") == [str(done.id)]
        assert await ids(number="1415555") == []  # whole numbers only, not prefixes
        assert await ids(direction="inbound", status="completed", agent_uuid=str(agent_id)) == [
            str(done.id)
        ]

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            (
                {"status": "talking"},
                "status",
                "Input should be 'queued', 'ringing', 'in_progress', 'completed', 'busy', "
                "'no_answer', 'failed', 'canceled' or 'rejected'",
            ),
            ({"direction": "both"}, "direction", "Input should be 'inbound' or 'outbound'"),
            ({"number": "+1-202"}, "number", "String should match pattern '^\\+?[0-9]{1,31}$'"),
            (
                {"agent_uuid": "nope"},
                "agent_uuid",
                "Input should be a valid UUID, invalid character: found `n` at 0",
            ),
        ],
    )
    async def test_invalid_filters(
        self, api: Api, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get("/calls", params=params)

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message}.",
            field=field,
            fields=[{"field": field, "message": message}],
        )

    async def test_other_workspaces_and_unowned_rejections_are_not_listed(
        self,
        api: Api,
        other_api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        ws: uuid.UUID,
    ) -> None:
        mine = await f.inbound(sessionmaker, ws)
        await f.inbound(sessionmaker, await workspace_id(sessionmaker, other_api.slug))
        unowned = await f.rejected(sessionmaker, None, RejectedBy.untrusted_source)

        r = await api.get("/calls")

        assert [c["call_uuid"] for c in r.json()["data"]["items"]] == [str(mine.id)]
        row = await get_row(sessionmaker, Call, unowned.id)
        assert (row.workspace_id, row.status, row.rejected_by) == (
            None,
            "rejected",
            "untrusted_source",
        )


class TestGetCall:
    async def test_a_completed_inbound_call(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        agent = await api.agent("Voice")
        number = await purchased_number(sessionmaker, api.slug, "+14155550100")
        binding_id = uuid.uuid4()
        call = await f.inbound(
            sessionmaker,
            ws,
            agent_id=uuid.UUID(agent["agent_uuid"]),
            phone_number_id=number.id,
            via=(Via.provision, binding_id),
        )
        await f.answer(sessionmaker, call.id)
        await f.end(
            sessionmaker,
            call.id,
            media={"packets_in": 250, "packets_out": 249, "dtmf": 2},
        )

        r = await api.get(f"/calls/{call.id}")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Call retrieved.",
            "data": ringing_call(
                call,
                status="completed",
                phone_number_uuid=str(number.id),
                agent_uuid=agent["agent_uuid"],
                via={"kind": "provision", "uuid": str(binding_id)},
                sip_code=200,
                sip_reason="OK",
                end_reason="caller_hangup",
                answered_at=Z,
                ended_at=Z,
                duration_s=0,
                media={"codec": "PCMU", "packets_in": 250, "packets_out": 249, "dtmf": 2},
            ),
        }

    async def test_a_rejected_call(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.rejected(sessionmaker, ws, RejectedBy.channel_limit_reached, sip_code=486)

        r = await api.get(f"/calls/{call.id}")

        assert r.status_code == 200
        assert r.json()["data"] == ringing_call(
            call,
            status="rejected",
            sip_call_id="rej-1@127.0.0.1",
            sip_code=486,
            sip_reason='SIP;cause=486;text="channel_limit_reached"',
            rejected_by="channel_limit_reached",
            ended_at=Z,
            duration_s=0,
        )

    async def test_unknown(self, api: Api) -> None:
        r = await api.get(f"/calls/{uuid.uuid4()}")

        assert r.status_code == 404
        assert r.json() == CALL_NOT_FOUND

    async def test_another_workspace_s_call_is_not_found(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        theirs = await f.inbound(sessionmaker, await workspace_id(sessionmaker, other_api.slug))

        r = await api.get(f"/calls/{theirs.id}")

        assert r.status_code == 404
        assert r.json() == CALL_NOT_FOUND


class TestCallEvents:
    async def test_in_the_order_they_happened(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws)
        await f.event(sessionmaker, call.id, EventKind.agent_connected, {"url": "wss://a.example"})
        await f.answer(sessionmaker, call.id)
        await f.event(sessionmaker, call.id, EventKind.dtmf, {"digit": "5"})
        await f.end(sessionmaker, call.id)

        r = await api.get(f"/calls/{call.id}/events")

        assert r.status_code == 200
        event = {"at": Z, "offset_ms": OFFSET}
        assert r.json() == page_of(
            [
                {
                    **event,
                    "kind": "invite_received",
                    "detail": {
                        "from": "+12025550123",
                        "to": "+14155550100",
                        "sip_call_id": call.sip_call_id,
                    },
                },
                {**event, "kind": "routing_check", "detail": f.CHECKS[0]},
                {**event, "kind": "routing_check", "detail": f.CHECKS[1]},
                {**event, "kind": "agent_connected", "detail": {"url": "wss://a.example"}},
                {**event, "kind": "answered", "detail": {"codec": "PCMU", "sip_code": 200}},
                {**event, "kind": "dtmf", "detail": {"digit": "5"}},
                {
                    **event,
                    "kind": "ended",
                    "detail": {
                        "status": "completed",
                        "end_reason": "caller_hangup",
                        "sip_code": None,
                        "sip_reason": None,
                    },
                },
            ],
            "Call events retrieved.",
            current_page=1,
            per_page=50,
            total=7,
            last_page=1,
            to=7,
            has_more=False,
            **{"from": 1},
        )
        offsets = [e["offset_ms"] for e in r.json()["data"]["items"]]
        assert offsets == sorted(offsets)

    async def test_paginated(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        for digit in "123":
            await f.event(sessionmaker, call.id, EventKind.dtmf, {"digit": digit})

        r = await api.get(f"/calls/{call.id}/events", params={"page": 2, "per_page": 2})

        data = r.json()["data"]
        assert [e["detail"] for e in data["items"]] == [{"digit": "2"}, {"digit": "3"}]
        assert data["pagination"]["total"] == 4

    async def test_another_workspace_s_call_is_not_found(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        theirs = await f.inbound(sessionmaker, await workspace_id(sessionmaker, other_api.slug))

        r = await api.get(f"/calls/{theirs.id}/events")

        assert r.status_code == 404
        assert r.json() == CALL_NOT_FOUND


class NonNegativeInt:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and other >= 0

    def __repr__(self) -> str:
        return "<int ≥ 0>"


OFFSET = NonNegativeInt()


class TestHangUp:
    async def test_live_call_is_asked_to_hang_up(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        ws: uuid.UUID,
        controls: Any,
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        await f.answer(sessionmaker, call.id)

        r = await api.delete(f"/calls/{call.id}")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Call hang-up requested.",
            "data": ringing_call(
                call,
                status="in_progress",
                sip_code=200,
                sip_reason="OK",
                answered_at=Z,
                media={**NO_MEDIA, "codec": "PCMU"},
            ),
        }
        assert controls.hangups == [call.id]
        row = await get_row(sessionmaker, Call, call.id)
        assert row.hangup_requested_at is not None
        async with sessionmaker() as session:
            polled = await call_service.hangups_requested(
                session, f.WORKER, [call.id, uuid.uuid4()]
            )
            other_worker = await call_service.hangups_requested(session, "worker-2", [call.id])
        assert (polled, other_worker) == ({call.id}, set())

    async def test_repeated_request_is_idempotent(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        ws: uuid.UUID,
        controls: Any,
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        first = await api.delete(f"/calls/{call.id}")
        requested_at = (await get_row(sessionmaker, Call, call.id)).hangup_requested_at

        second = await api.delete(f"/calls/{call.id}")

        assert second.status_code == 200
        assert second.json() == first.json()
        assert (await get_row(sessionmaker, Call, call.id)).hangup_requested_at == requested_at
        events = (await api.get(f"/calls/{call.id}/events")).json()["data"]["items"]
        assert [e["kind"] for e in events] == ["invite_received", "hangup_requested"]
        # Asked again: a worker that was not carrying the call the first time may now.
        assert controls.hangups == [call.id, call.id]

    async def test_ended_call_is_left_unchanged(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        ws: uuid.UUID,
        controls: Any,
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        await f.end(sessionmaker, call.id, CallStatus.canceled, EndReason.caller_hangup)
        before = (await api.get(f"/calls/{call.id}")).json()["data"]

        r = await api.delete(f"/calls/{call.id}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Call hang-up requested.", "data": before}
        assert controls.hangups == []
        assert (await get_row(sessionmaker, Call, call.id)).hangup_requested_at is None

    async def test_no_worker_in_this_process(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])

        r = await api.delete(f"/calls/{call.id}")

        # Recorded for the workers' heartbeat poll all the same.
        assert r.status_code == 200
        async with sessionmaker() as session:
            assert await call_service.hangups_requested(session, f.WORKER, [call.id]) == {call.id}

    async def test_a_failing_worker_does_not_fail_the_request(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        class Broken:
            def hangup(self, call_id: uuid.UUID) -> bool:
                raise RuntimeError("worker is stopping")

        broken = Broken()
        call_controls.register(broken)
        try:
            call = await f.inbound(sessionmaker, ws, checks=[])
            r = await api.delete(f"/calls/{call.id}")
        finally:
            call_controls.unregister(broken)

        assert r.status_code == 200
        assert (await get_row(sessionmaker, Call, call.id)).hangup_requested_at is not None

    async def test_unknown(self, api: Api) -> None:
        r = await api.delete(f"/calls/{uuid.uuid4()}")

        assert r.status_code == 404
        assert r.json() == CALL_NOT_FOUND

    async def test_another_workspace_s_call_is_not_found_nor_touched(
        self,
        api: Api,
        other_api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        controls: Any,
    ) -> None:
        theirs = await f.inbound(sessionmaker, await workspace_id(sessionmaker, other_api.slug))

        r = await api.delete(f"/calls/{theirs.id}")

        assert r.status_code == 404
        assert r.json() == CALL_NOT_FOUND
        assert controls.hangups == []
        assert (await get_row(sessionmaker, Call, theirs.id)).hangup_requested_at is None
