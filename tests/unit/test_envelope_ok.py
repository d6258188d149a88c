"""``envelope.ok()`` builds the plain ``Envelope`` and leaves validation and serialisation to
the route's ``response_model`` (one validation, one JSON dump). Over a flow that reaches every
hot route and most others, each body must be byte for byte what ``response_model`` gives when
it validates the body afresh and dumps it: same keys, same order, aliases, nothing extra."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest

from tests.support.api import Api
from trunkline.envelope import Envelope, ok


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any, bytes]]]:
    """Every (response field, endpoint's return value, body) the app serialised meanwhile."""
    seen: list[tuple[Any, Any, bytes]] = []
    serialize = fastapi.routing.serialize_response

    async def recording(**kwargs: Any) -> Any:
        body = await serialize(**kwargs)
        seen.append((kwargs.get("field"), kwargs["response_content"], body))
        return body

    monkeypatch.setattr(fastapi.routing, "serialize_response", recording)
    yield seen


def test_ok_is_the_plain_envelope() -> None:
    env = ok({"a": 1}, "Done.")

    assert type(env) is Envelope
    assert env.model_dump() == {"success": True, "message": "Done.", "data": {"a": 1}}


async def test_every_body_is_what_its_response_model_gives(
    api: Api, answered: list[tuple[Any, Any, bytes]]
) -> None:
    agent = await api.agent("Front desk")
    other = await api.agent("Back office")
    connection = await api.connection()
    await api.assign_connection(other["agent_uuid"], connection["uuid"])
    trunk = await api.trunk(agent["agent_uuid"])
    await api.pbx_connector(other["agent_uuid"])
    bought = await api.buy()
    number, trunk_id = trunk["number"], trunk["phone_number_uuid"]
    bought_id = bought["phone_number_uuid"]
    for method, path, body in [
        ("GET", f"/phone-numbers/{trunk_id}", None),
        ("GET", f"/phone-numbers/{bought_id}", None),
        ("GET", f"/phone-numbers/channels?number={number.replace('+', '%2B')}", None),
        ("GET", f"/phone-numbers/{trunk_id}/channels", None),
        ("GET", "/phone-numbers?page=1&per_page=5", None),
        ("GET", "/phone-numbers/trunks", None),
        ("GET", "/phone-numbers/search?country_code=US", None),
        ("GET", "/phone-numbers/rates?country_code=US", None),
        ("PATCH", f"/phone-numbers/{bought_id}", {"channel_settings": {}}),
        ("GET", f"/agents/{agent['agent_uuid']}", None),
        ("GET", "/agents", None),
        ("PATCH", f"/agents/{agent['agent_uuid']}", {"name": "Front desk 2"}),
        ("GET", f"/channels/sip-trunk/connections/{connection['uuid']}", None),
        ("GET", "/channels/sip-trunk/connections", None),
        ("GET", "/pbx_extension_connectors", None),
        ("DELETE", f"/phone-numbers/{bought_id}", None),
    ]:
        r = await api.request(method, path, json=body)
        assert r.status_code < 300, (method, path, r.text)

    checked = set()
    for field, returned, body in answered:
        if field is None or not isinstance(returned, Envelope):
            continue
        again = field.serialize_json(field.validate(json.loads(body), {})[0])
        assert body == again, (field, body[:200])
        checked.add(str(field.field_info.annotation))
    assert len(checked) >= 10, checked
