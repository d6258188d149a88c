"""The upstream documentation's two core pages (docs/upstream/seeds): their request bodies, with
real values, answer exactly the example responses' shapes, field by field."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, unique_us_number

SEEDS = Path(__file__).resolve().parents[2] / "docs" / "upstream" / "seeds"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# Fields Trunkline adds to a seed's response (documented extensions, docs/api-decisions.md §4.4):
# the only keys allowed beyond the example's.
EXTENSIONS = {
    "add-sip-trunk-connection.json": {
        "data.port",
        "data.transport",
        "data.register",
        "data.enabled",
        "data.status_detail",
        "data.last_checked_at",
    },
    "register-external-trunk.json": set(),
}


def seed(name: str) -> dict[str, Any]:
    return dict(json.loads((SEEDS / name).read_text()))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        if UUID.match(value):
            return "uuid"
        if DATETIME.match(value):
            return "date-time"
        return "string"
    return {dict: "object", list: "array", type(None): "null"}[type(value)]


def shape_differences(example: Any, actual: Any, extra_ok: set[str], at: str = "") -> list[str]:
    """Where ``actual`` does not have ``example``'s shape: a missing or unexpected key, or a value
    of another JSON type (a uuid or date-time example needs a uuid or date-time)."""
    want, got = _kind(example), _kind(actual)
    if want != got and not (want == "string" and got in ("uuid", "date-time")):
        return [f"{at or '(body)'}: expected {want}, got {got} ({actual!r})"]
    if isinstance(example, dict):
        found = []
        for key, value in example.items():
            path = f"{at}.{key}" if at else key
            if key not in actual:
                found.append(f"{path}: missing")
            else:
                found += shape_differences(value, actual[key], extra_ok, path)
        found += [
            f"{at}.{key}".lstrip(".") + ": not in the example"
            for key in actual
            if key not in example and f"{at}.{key}".lstrip(".") not in extra_ok
        ]
        return found
    if isinstance(example, list) and example:
        return [
            d
            for i, item in enumerate(actual)
            for d in shape_differences(example[0], item, extra_ok, f"{at}[{i}]")
        ]
    return []


class TestShapeComparison:
    """The comparison itself notices what it must."""

    @pytest.mark.parametrize(
        ("example", "actual", "problem"),
        [
            ({"a": "<string>"}, {"a": None}, "a: expected string, got null (None)"),
            ({"a": 123}, {"a": "1"}, "a: expected number, got string ('1')"),
            ({"a": {"b": True}}, {"a": {}}, "a.b: missing"),
            ({"a": 1}, {"a": 1, "z": 2}, "z: not in the example"),
            ({"u": str(uuid.uuid4())}, {"u": "x"}, "u: expected uuid, got string ('x')"),
            ({"l": ["US"]}, {"l": [1]}, "l[0]: expected string, got number (1)"),
        ],
    )
    def test_differences(self, example: Any, actual: Any, problem: str) -> None:
        assert shape_differences(example, actual, set()) == [problem]

    def test_same_shape(self) -> None:
        example = seed("register-external-trunk.json")["response"]
        assert shape_differences(example, json.loads(json.dumps(example)), set()) == []


class TestSeedRequests:
    async def test_register_external_trunk(self, api: Api) -> None:
        page = seed("register-external-trunk.json")
        agent = await api.agent("Front desk")
        body = {
            **page["request"],
            "phone_number": unique_us_number(),
            "agent_uuid": agent["agent_uuid"],
            "name": "Acme main line",
            "sip": {
                **page["request"]["sip"],
                "username": "acme-user",
                "password": "s3cret",
                "secondary_gateway": "sip2.acme.com",
            },
            "additional_settings": {"ani_format": "e164"},
        }

        r = await api.post("/phone-numbers/trunks", body)

        assert r.status_code == 201, r.text
        assert shape_differences(page["response"], r.json(), EXTENSIONS[page_name(page)]) == []
        data = r.json()["data"]
        assert data["channels"]["call"]["agent_uuid"] == agent["agent_uuid"]
        # Unbound channels keep the example's string type: "" rather than null.
        assert data["channels"]["sms"]["agent_uuid"] == data["channels"]["sms"]["agent_name"] == ""

    async def test_add_sip_trunk_connection(self, api: Api) -> None:
        page = seed("add-sip-trunk-connection.json")
        body = {
            "name": "Telnyx main",
            "phone_number": unique_us_number(),
            "gateway": "sip.telnyx.com",
            "username": "telnyx-user",
            "password": "telnyx-pass",
            "secondary_gateway": "sip2.telnyx.com",
        }
        assert set(body) == set(page["request"])

        r = await api.post("/channels/sip-trunk/connections", body)

        assert r.status_code == 201, r.text
        assert shape_differences(page["response"], r.json(), EXTENSIONS[page_name(page)]) == []
        assert "username" not in r.json()["data"] and "password" not in r.json()["data"]


def page_name(page: dict[str, Any]) -> str:
    return next(n for n, s in ((p.name, seed(p.name)) for p in SEEDS.glob("*.json")) if s == page)


def test_every_seed_is_exercised() -> None:
    """A new seed page needs its own test above (and its extensions listed)."""
    assert {p.name for p in SEEDS.glob("*.json")} == set(EXTENSIONS)
