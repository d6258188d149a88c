"""Names refuse control characters and bidi overrides (they make a name display as another)."""

from __future__ import annotations

import pytest

from tests.support.api import Api, error_body, unique_us_number
from trunkline.kit.schema import check_name

UNSAFE = error_body(
    "validation_failed",
    "Validation failed: name: Names must not contain control characters or bidirectional "
    "overrides.",
    field="name",
    fields=[
        {
            "field": "name",
            "message": "Names must not contain control characters or bidirectional overrides.",
        }
    ],
)


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("Front desk", False),
        ("R\u00e9ception \u2013 \u6771\u4eac", False),
        ("\u05e9\u05dc\u05d5\u05dd\u200f desk", False),  # an RLM mark is allowed
        ("line\nbreak", True),
        ("tab\there", True),
        ("bell\x07", True),
        ("del\x7f", True),
        ("c1\x85", True),
        ("invoice\u202egpj.exe", True),  # RIGHT-TO-LEFT OVERRIDE
        ("a\u202ab", True),  # LEFT-TO-RIGHT EMBEDDING
        ("a\u2066b\u2069", True),  # isolates
    ],
)
def test_check_name(name: str, refused: bool) -> None:
    if refused:
        with pytest.raises(ValueError, match="control characters or bidirectional overrides"):
            check_name(name)
    else:
        assert check_name(name) == name


class TestThroughTheApi:
    async def test_agent_create(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "evil\u202eoln"})

        assert r.status_code == 422
        assert r.json() == UNSAFE

    async def test_agent_update(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.patch(f"/agents/{agent['agent_uuid']}", {"name": "two\nlines"})

        assert r.status_code == 422
        assert r.json() == UNSAFE

    async def test_connection_create(self, api: Api) -> None:
        r = await api.post(
            "/channels/sip-trunk/connections",
            {"name": "x\x1b[31m", "phone_number": unique_us_number(), "gateway": "sip.example.com",
             "username": "u", "password": "p"},
        )  # fmt: skip

        assert r.status_code == 422
        assert r.json() == UNSAFE

    async def test_trunk_create(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            "/phone-numbers/trunks",
            {"phone_number": unique_us_number(), "agent_uuid": agent["agent_uuid"],
             "channel": "call", "name": "a\u2067b"},
        )  # fmt: skip

        assert r.status_code == 422
        assert r.json() == UNSAFE
