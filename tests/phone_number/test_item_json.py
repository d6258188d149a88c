"""The lists' JSON-ready items (``views.item_json``) and page body (``page_response``) are what
the read models give: the builder skips validating items into ``PhoneNumberRead`` and
serializing them through Pydantic, so this table of rows holds it to the model's
``model_dump(mode="json")``, key order included."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter

from trunkline.binding.rules import Channel, Holding, NumberStatus, Source, Via
from trunkline.envelope import Envelope, ok
from trunkline.kit.pagination import Page, PageParams, make_page, page_response
from trunkline.kit.sip_status import SipStatus
from trunkline.phone_number.rules import EXTERNAL_CAPABILITIES, default_channel_settings
from trunkline.phone_number.schemas import PhoneNumberRead
from trunkline.phone_number.views import item_data, item_json

AT = datetime(2026, 11, 30, 19, 41, 3, 339732, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 8, 0, 59, 999999, tzinfo=UTC)


def number(**changes: Any) -> SimpleNamespace:
    """A list page's Core row (the columns by name), purchased and active unless changed."""
    row = {
        "id": uuid.uuid4(),
        "number": "+14155550100",
        "country_code": "US",
        "location": "San Francisco",
        "type": "local",
        "source": Source.purchased.value,
        "status": NumberStatus.active.value,
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
        "channel_settings": default_channel_settings("US"),
        "monthly_fee": 1.15,
        "currency": "EUR",
        "compliance": {"status": "not_required", "requirements": []},
        "address": None,
        "requirements": None,
        "purchased_at": AT,
        "released_at": None,
        "created_at": AT,
        "updated_at": LATER,
    }
    return SimpleNamespace(**{**row, **changes})


def trunk(channel: Channel, **changes: Any) -> SimpleNamespace:
    row = {
        "channel": channel.value,
        "name": f"{channel.value}_trunk_14155550100",
        "direction": "both",
        "sip_gateway": "sip.example.com",
        "sip_secondary_gateway": None,
        "sip_port": None,
        "sip_transport": None,
        "sip_username_secret": "sealed",
        "sip_password_secret": None,
        "status": SipStatus.pending.value,
        "status_detail": None,
        "last_checked_at": None,
        "additional_settings": {},
        "created_at": AT,
        "updated_at": LATER,
    }
    return SimpleNamespace(**{**row, **changes})


def holding(channel: Channel, via: Via, name: str = "Agent", at: datetime = AT) -> Holding:
    return Holding(uuid.uuid4(), name, "+14155550100", channel, via, at, uuid.uuid4())


EXTERNAL = {
    "source": Source.external.value,
    "capabilities": {**EXTERNAL_CAPABILITIES, "voice": True},
    "monthly_fee": None,
    "currency": None,
    "purchased_at": None,
}
REQUIREMENTS = {
    "status": "pending",
    "requirements": [
        {"name": "address", "type": "address", "description": "Où vous êtes", "extra": "x"},
        {"description": "ID", "type": "document", "name": "id_document"},
    ],
}
SETTINGS_IN_ANOTHER_ORDER = {
    "inbound": {"channel_limit": None, "enabled": False},
    "sms": {"whitelisted_destinations": [], "channel_limit": 3, "enabled": True, "old": 1},
    "voice": {"whitelisted_destinations": ["US", "CA"], "enabled": True, "channel_limit": 0},
}

CASES: dict[str, tuple[SimpleNamespace, list[Holding], list[SimpleNamespace]]] = {
    "purchased, unbound": (number(), [], []),
    "purchased, nulls": (
        number(location=None, monthly_fee=None, currency=None, purchased_at=None),
        [],
        [],
    ),
    "empty strings": (number(location="", type="", country_code=""), [], []),
    "released, held (a released number is bound to no one)": (
        number(status=NumberStatus.released.value, released_at=LATER),
        [holding(Channel.call, Via.provision)],
        [],
    ),
    "bound on every channel, non-ASCII names": (
        number(location="Zürich — Straße 北京"),
        [
            holding(Channel.call, Via.provision, "Émile 🤖"),
            holding(Channel.sms, Via.provision, "Agent «Ω»"),
            holding(Channel.whatsapp, Via.provision, "代理"),
        ],
        [],
    ),
    "call held by a connection and a PBX connector (the current holder shows)": (
        number(),
        [
            holding(Channel.call, Via.connection, "first", AT),
            holding(Channel.call, Via.pbx, "second", LATER),
        ],
        [],
    ),
    "address, requirements, compliance with extra keys": (
        number(
            address={"street_address": "1 Rue de l'Église", "country_code": "FR"},
            requirements=[{"key": "id_document", "document_id": "doc-1"}],
            compliance=REQUIREMENTS,
        ),
        [],
        [],
    ),
    "settings stored in another key order, with a key the model drops": (
        number(channel_settings=SETTINGS_IN_ANOTHER_ORDER),
        [],
        [],
    ),
    "external, a trunk on each channel": (
        number(**EXTERNAL),
        [holding(Channel.call, Via.trunk), holding(Channel.whatsapp, Via.trunk)],
        [
            trunk(
                Channel.call,
                sip_secondary_gateway="sip2.example.com",
                sip_port=5080,
                sip_transport="tls",
                sip_password_secret="sealed",
                status=SipStatus.degraded.value,
                status_detail={"primary": "timeout", "code": 408},
                last_checked_at=LATER,
                additional_settings={"codec": "PCMU", "nested": {"a": [1, 2.5, None]}},
            ),
            trunk(Channel.whatsapp, sip_gateway=None, sip_username_secret=None),
        ],
    ),
    **{
        f"external, SIP status {status.value}": (
            number(**EXTERNAL),
            [],
            [trunk(Channel.call, status=status.value, last_checked_at=AT)],
        )
        for status in SipStatus
    },
    "external, no trunk rows left": (number(**EXTERNAL), [], []),
    "a timestamp before year 1000": (
        number(created_at=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)),
        [],
        [],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_json_item_is_the_models_dump(case: str) -> None:
    row, held, trunks = CASES[case]
    expected = PhoneNumberRead.model_validate(item_data(row, held, trunks, "USD"))
    built = item_json(row, held, trunks, "USD")
    assert built == expected.model_dump(mode="json")
    # Key order too (dicts compare equal in any order; the bytes do not).
    assert json.dumps(built) == json.dumps(expected.model_dump(mode="json"))


@pytest.mark.parametrize("total", [0, 3, 50, 101])
def test_the_page_body_is_what_the_response_model_serializes(total: int) -> None:
    """``page_response`` writes the bytes FastAPI's ``response_model`` serialization writes for
    ``Envelope[Page[PhoneNumberRead]]`` (pagination, ``from`` alias and nulls included)."""
    params = PageParams(page=2 if total > 50 else 1, per_page=50)
    rows = [CASES[case] for case in list(CASES)[: min(total, len(CASES))]]
    models = [PhoneNumberRead.model_validate(item_data(r, h, t, "USD")) for r, h, t in rows]
    adapter = TypeAdapter(Envelope[Page[PhoneNumberRead]])
    envelope = ok(make_page(models, total, params), "Trunks retrieved.")
    validated = adapter.validate_python(envelope, from_attributes=True)
    expected = adapter.dump_json(validated, by_alias=True)  # as FastAPI serializes it
    items = [item_json(r, h, t, "USD") for r, h, t in rows]
    response = page_response(items, total, params, "Trunks retrieved.")
    assert response.body == expected
    assert response.media_type == "application/json"
