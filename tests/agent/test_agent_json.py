"""The agents list's JSON-ready items (``agent.views.agent_json``) are what ``AgentRead`` gives:
the list skips validating 50 agents into models and serializing them through Pydantic, so this
table of rows holds the builder to ``AgentRead.of(...).model_dump(mode="json")``, key order
included, and the page body to the bytes FastAPI's ``response_model`` writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter

from tests.support.api import Api
from trunkline.agent.schemas import AgentChannelMap, AgentRead, ChannelBindingRead
from trunkline.agent.views import Bound, agent_json
from trunkline.binding.rules import Channel, Via
from trunkline.envelope import Envelope, ok
from trunkline.kit.pagination import Page, PageParams, make_page, page_response

AT = datetime(2026, 11, 30, 19, 41, 3, 339732, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 8, 0, 59, 999999, tzinfo=UTC)


def agent(**changes: Any) -> SimpleNamespace:
    """A list page's Core row (the columns by name)."""
    row = {
        "id": uuid.uuid4(),
        "name": "Front desk",
        "description": "",
        "language": "en",
        "timezone": "UTC",
        "status": "active",
        "settings": {},
        "stream_url": None,
        "stream_auth_token_secret": None,
        "created_at": AT,
        "updated_at": LATER,
    }
    return SimpleNamespace(**{**row, **changes})


def bound(via: Via, at: datetime = AT, **changes: Any) -> Bound:
    fields: dict[str, Any] = {
        "number": "+14155550100",
        "phone_number_uuid": uuid.uuid4(),
        "bound_via": via,
        "connection_uuid": uuid.uuid4() if via is Via.connection else None,
        "pbx_extension_connector_uuid": uuid.uuid4() if via is Via.pbx else None,
        "receives_inbound": True,
        "bound_at": at,
    }
    return Bound(**{**fields, **changes})


CASES: dict[str, tuple[SimpleNamespace, dict[Channel, list[Bound]]]] = {
    "a new agent": (agent(), {}),
    "every setting, a stream and its token": (
        agent(
            description="Answers the front desk — ünïcode",
            language="fr",
            timezone="Europe/Paris",
            status="paused",
            settings={"voice": {"speed": 1.5, "id": None}, "text": {"x": [1, "two"]}, "extra": 3},
            stream_url="wss://agent.example.com/twilio",
            stream_auth_token_secret="sealed",
        ),
        {},
    ),
    "holdings by every means, on every channel": (
        agent(),
        {
            Channel.call: [
                bound(Via.trunk),
                bound(Via.connection, AT + timedelta(seconds=1), phone_number_uuid=None),
                bound(Via.pbx, LATER, number="1000", receives_inbound=False),
            ],
            Channel.sms: [bound(Via.provision)],
            Channel.whatsapp: [bound(Via.trunk, datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC))],
        },
    ),
    "timestamps without microseconds, a year before 1000": (
        agent(
            created_at=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
            updated_at=AT.replace(microsecond=0),
        ),
        {Channel.sms: [bound(Via.provision, AT.replace(microsecond=0))]},
    ),
}


def model_of(row: SimpleNamespace, channels: dict[Channel, list[Bound]]) -> AgentRead:
    return AgentRead.of(
        row,  # type: ignore[arg-type]
        AgentChannelMap(
            **{
                ch.value: [ChannelBindingRead(**b._asdict()) for b in channels.get(ch, [])]
                for ch in Channel
            }
        ),
    )


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_json_agent_is_the_models_dump(case: str) -> None:
    row, channels = CASES[case]
    expected = model_of(row, channels).model_dump(mode="json")
    built = agent_json(row, channels)
    assert built == expected
    # Key order too (dicts compare equal in any order; the bytes do not).
    assert json.dumps(built) == json.dumps(expected)


@pytest.mark.parametrize("total", [0, 3, 51])
def test_the_agents_page_body_is_what_the_response_model_serializes(total: int) -> None:
    params = PageParams(page=2 if total > 50 else 1, per_page=50)
    rows = list(CASES.values())[: min(total, len(CASES))]
    adapter = TypeAdapter(Envelope[Page[AgentRead]])
    envelope = ok(make_page([model_of(r, c) for r, c in rows], total, params), "Agents retrieved.")
    expected = adapter.dump_json(
        adapter.validate_python(envelope, from_attributes=True), by_alias=True
    )
    response = page_response(
        [agent_json(r, c) for r, c in rows], total, params, "Agents retrieved."
    )
    assert response.body == expected


class TestEveryListedAgentIsItsReadById:
    """The list path (Core rows, ``agent_json``) and GET by id (the model, ``AgentRead``) give
    each agent the same JSON, key for key and in the same order."""

    async def test_agents_with_and_without_holdings(self, api: Api) -> None:
        front = await api.agent("Front desk")
        await api.trunk(front["agent_uuid"], sip={"gateway": "sip.example.com"})
        await api.trunk(front["agent_uuid"], channel="whatsapp")
        await api.agent("Idle")

        listed = await api.get("/agents", params={"per_page": 200})
        assert listed.status_code == 200
        items = listed.json()["data"]["items"]
        assert len(items) == 2
        for item in items:
            by_id = await api.get(f"/agents/{item['agent_uuid']}")
            assert by_id.status_code == 200
            assert list(by_id.json()["data"]) == list(item)
            assert json.dumps(by_id.json()["data"]) == json.dumps(item)
        assert [len(i["channels"]["call"]) for i in items] == [1, 0]
        assert [len(i["channels"]["whatsapp"]) for i in items] == [1, 0]
