"""POST /api/v1/routing/dry-run: the live decision, through the API, within one workspace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api, unique_us_number


async def trunk(api: Api, agent: dict[str, Any], **extra: Any) -> str:
    number = unique_us_number()
    body = {
        "phone_number": number,
        "agent_uuid": agent["agent_uuid"],
        "channel": "call",
        "sip": {"gateway": "192.0.2.10", "port": 5080, "transport": "tcp"},
        **extra,
    }
    r = await api.post("/phone-numbers/trunks", body)
    assert r.status_code == 201, r.text
    return number


async def dry_run(api: Api, **body: Any) -> dict[str, Any]:
    r = await api.post("/routing/dry-run", body)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    return dict(r.json()["data"])


class TestInbound:
    async def test_accepted_with_every_check(self, api: Api) -> None:
        agent = await api.agent("Desk", stream_url="wss://agent.example/ws")
        number = await trunk(api, agent)
        got = await dry_run(api, direction="inbound", to=number.lstrip("+"), source_ip="192.0.2.10")
        assert got["decision"] == "accept"
        assert got["sip_code"] is None and got["rejected_by"] is None
        assert got["agent_uuid"] == agent["agent_uuid"]
        assert got["via"]["kind"] == "trunk"
        assert [c["check"] for c in got["checks"]] == [
            "trusted_source",
            "known_number",
            "inbound_enabled",
            "agent_available",
            "channel_limit",
        ]
        assert all(c["passed"] for c in got["checks"])
        assert got["invite"] is None

    @pytest.mark.parametrize(
        ("change", "rejected_by", "sip_code"),
        [
            ({"source_ip": "198.51.100.7"}, "untrusted_source", 403),
            ({"to": "+14155550199"}, "unknown_number", 404),
            ({"codecs": ["G729"]}, "codec_unsupported", 488),
        ],
    )
    async def test_refused(
        self, api: Api, change: dict[str, Any], rejected_by: str, sip_code: int
    ) -> None:
        agent = await api.agent("Desk", stream_url="wss://agent.example/ws")
        number = await trunk(api, agent)
        body = {"direction": "inbound", "to": number, "source_ip": "192.0.2.10", **change}
        got = await dry_run(api, **body)
        assert (got["decision"], got["rejected_by"], got["sip_code"]) == (
            "reject",
            rejected_by,
            sip_code,
        )
        assert got["checks"][-1]["passed"] is False

    async def test_inbound_disabled_by_direction(self, api: Api) -> None:
        agent = await api.agent("Desk", stream_url="wss://agent.example/ws")
        number = await trunk(api, agent, direction="outbound")
        got = await dry_run(api, direction="inbound", to=number, source_ip="192.0.2.10")
        assert got["rejected_by"] == "inbound_disabled"
        assert got["checks"][-1]["detail"] == f"{number} does not take inbound calls"

    async def test_another_workspace_sees_nothing(self, api: Api, other_api: Api) -> None:
        agent = await api.agent("Desk", stream_url="wss://agent.example/ws")
        number = await trunk(api, agent)
        got = await dry_run(other_api, direction="inbound", to=number, source_ip="192.0.2.10")
        assert got["rejected_by"] == "untrusted_source"
        assert got["agent_uuid"] is None and got["via"] is None

    async def test_source_ip_required(self, api: Api) -> None:
        r = await api.post("/routing/dry-run", {"direction": "inbound", "to": "+12025550123"})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
        assert r.json()["error"]["field"] == "source_ip"


class TestOutbound:
    async def test_invite_it_would_send(self, api: Api) -> None:
        agent = await api.agent("Caller")
        number = await trunk(api, agent, additional_settings={"ani_format": "national"})
        got = await dry_run(
            api, direction="outbound", agent_uuid=agent["agent_uuid"], to="+14155550111"
        )
        assert got["decision"] == "accept", got["checks"]
        digits = number.removeprefix("+1")
        assert got["invite"] == {
            "request_uri": "sip:14155550111@192.0.2.10:5080;transport=tcp",
            "from": f"sip:{digits}@192.0.2.10",
            "to": "sip:14155550111@192.0.2.10",
            "p_asserted_identity": f"<sip:{digits}@192.0.2.10>",
        }

    async def test_whitelist_by_destination_region(self, api: Api) -> None:
        agent = await api.agent("Caller")
        await trunk(api, agent)
        uk = "+442079460123"
        got = await dry_run(api, direction="outbound", agent_uuid=agent["agent_uuid"], to=uk)
        assert got["rejected_by"] == "destination_not_allowed"

    async def test_unknown_agent(self, api: Api) -> None:
        got = await dry_run(
            api,
            direction="outbound",
            agent_uuid="00000000-0000-4000-8000-000000000000",
            to="+14155550111",
        )
        assert got["rejected_by"] == "agent_not_found"

    async def test_agent_without_number(self, api: Api) -> None:
        agent = await api.agent("Caller")
        got = await dry_run(
            api, direction="outbound", agent_uuid=agent["agent_uuid"], to="+14155550111"
        )
        assert got["rejected_by"] == "no_number"


class TestChannelLimitZero:
    """A limit of 0 set through the API means no limit on the call path too
    (docs/api-decisions.md §6.2)."""

    async def test_zero_limits_are_unlimited_in_routing(self, api: Api) -> None:
        agent = await api.agent("Desk", stream_url="wss://agent.example/ws")
        number = await trunk(api, agent)
        uuid = (await api.get("/phone-numbers/channels", params={"number": number})).json()["data"][
            "phone_number_uuid"
        ]
        r = await api.patch(
            f"/phone-numbers/{uuid}",
            {"channel_settings": {"voice": {"channel_limit": 0}, "inbound": {"channel_limit": 0}}},
        )
        assert r.status_code == 200, r.text
        settings = r.json()["data"]["channel_settings"]
        assert settings["voice"]["channel_limit"] == 0
        assert settings["inbound"]["channel_limit"] == 0

        inbound = await dry_run(api, direction="inbound", to=number, source_ip="192.0.2.10")
        outbound = await dry_run(
            api, direction="outbound", agent_uuid=agent["agent_uuid"], to="+14155550111"
        )

        assert inbound["decision"] == outbound["decision"] == "accept"
        limit = {c["check"]: c for c in inbound["checks"]}["channel_limit"]
        assert limit == {**limit, "passed": True, "detail": "inbound 0/∞, all 0/∞"}
        limit = {c["check"]: c for c in outbound["checks"]}["channel_limit"]
        assert limit == {**limit, "passed": True, "detail": "all 0/∞"}
