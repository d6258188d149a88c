"""Sending SMS from an agent's SMS number, and the workspace's outbox (docs/api-decisions.md
§6.6), through the real API and the sandbox provider."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import pytest

from tests.support.api import Api, error_body, unique_us_number
from tests.support.phone_items import ok, paginated

SEND = "/sms/send"
OUTBOX = "/sms/messages"


async def sms_agent(api: Api, name: str = "Texter") -> tuple[dict[str, Any], dict[str, Any]]:
    """An agent with a bought (SMS-capable, US) number bound on its SMS channel."""
    agent = await api.agent(name)
    number = await api.buy()
    r = await api.post(
        f"/agents/{agent['agent_uuid']}/channels/sms",
        {"phone_number_uuid": number["phone_number_uuid"]},
    )
    assert r.status_code == 200, r.text
    return agent, number


def send_body(agent: dict[str, Any], to: str, message: str = "Hello!") -> dict[str, Any]:
    return {"agentId": agent["agent_uuid"], "phoneNumber": to, "message": message}


def sent(sender: str, recipient: str) -> dict[str, Any]:
    return ok(
        {
            "messageId": ANY,
            "recipientPhone": recipient,
            "conversationId": ANY,
            "senderPhone": sender,
            "status": "delivered",
        },
        "SMS message sent successfully",
    )


def outbox_item(
    agent: dict[str, Any] | None, sender: str, recipient: str, message: str
) -> dict[str, Any]:
    return {
        "message_uuid": ANY,
        "conversation_id": ANY,
        "agent_uuid": agent["agent_uuid"] if agent is not None else None,
        "sender": sender,
        "recipient": recipient,
        "message": message,
        "status": "delivered",
        "provider": "sandbox",
        "provider_message_id": ANY,
        "created_at": ANY,
    }


def outbox(items: list[Any], *, total: int, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    return ok(
        paginated(items, total=total, page=page, per_page=per_page), "SMS messages retrieved."
    )


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message.rstrip('.')}.",
        fields=[{"field": field, "message": message}],
    )


class TestSend:
    async def test_sends_from_the_agent_s_sms_number(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()

        r = await api.post(SEND, send_body(agent, to, "Your table is ready."))

        assert r.status_code == 200
        assert r.json() == sent(number["number"], to)
        message_id = r.json()["data"]["messageId"]
        assert str(uuid.UUID(message_id)) == message_id

    async def test_the_message_lands_in_the_outbox(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()

        r = await api.post(SEND, send_body(agent, to, "Your table is ready."))

        box = await api.get(OUTBOX)
        assert box.json() == outbox(
            [outbox_item(agent, number["number"], to, "Your table is ready.")], total=1
        )
        item = box.json()["data"]["items"][0]
        assert item["message_uuid"] == r.json()["data"]["messageId"]
        assert item["conversation_id"] == r.json()["data"]["conversationId"]
        assert item["provider_message_id"].startswith("sandbox-")

    async def test_one_conversation_per_pair_of_numbers(self, api: Api) -> None:
        agent, _ = await sms_agent(api)
        alice, bob = unique_us_number(), unique_us_number()

        first = await api.post(SEND, send_body(agent, alice, "1"))
        second = await api.post(SEND, send_body(agent, alice, "2"))
        other = await api.post(SEND, send_body(agent, bob, "3"))

        conversation = first.json()["data"]["conversationId"]
        assert second.json()["data"]["conversationId"] == conversation
        assert other.json()["data"]["conversationId"] != conversation
        assert first.json()["data"]["messageId"] != second.json()["data"]["messageId"]

    @pytest.mark.parametrize("length", [1, 1600])
    async def test_message_length_limits_are_inclusive(self, api: Api, length: int) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()

        r = await api.post(SEND, send_body(agent, to, "x" * length))

        assert r.json() == sent(number["number"], to)

    async def test_the_agent_s_newest_sms_number_is_used(self, api: Api) -> None:
        agent, _ = await sms_agent(api)
        newer = await api.buy()
        await api.post(
            f"/agents/{agent['agent_uuid']}/channels/sms",
            {"phone_number_uuid": newer["phone_number_uuid"]},
        )
        to = unique_us_number()

        r = await api.post(SEND, send_body(agent, to))

        assert r.json() == sent(newer["number"], to)

    async def test_unknown_agent_is_404(self, api: Api) -> None:
        await sms_agent(api)

        r = await api.post(SEND, send_body({"agent_uuid": str(uuid.uuid4())}, unique_us_number()))

        assert r.status_code == 404
        assert r.json() == error_body("agent_not_found", "Agent not found.", field="agentId")

    async def test_another_workspace_s_agent_is_404(self, api: Api, other_api: Api) -> None:
        theirs, _ = await sms_agent(other_api)

        r = await api.post(SEND, send_body(theirs, unique_us_number()))

        assert r.status_code == 404
        assert r.json() == error_body("agent_not_found", "Agent not found.", field="agentId")
        assert (await other_api.get(OUTBOX)).json() == outbox([], total=0)

    async def test_an_agent_without_sms_number_is_422(self, api: Api) -> None:
        agent = await api.agent()
        await api.trunk(agent["agent_uuid"])  # a call number is not an SMS number

        r = await api.post(SEND, send_body(agent, unique_us_number()))

        assert r.status_code == 422
        assert r.json() == error_body(
            "sms_channel_not_configured",
            "The agent has no SMS number; bind one with POST /api/v1/agents/{uuid}/channels/sms.",
            field="agentId",
        )

    async def test_an_agent_whose_sms_number_was_unbound_is_422(self, api: Api) -> None:
        agent, _ = await sms_agent(api)
        await api.delete(f"/agents/{agent['agent_uuid']}/channels/sms")

        r = await api.post(SEND, send_body(agent, unique_us_number()))

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "SMS_CHANNEL_NOT_CONFIGURED"
        assert r.json()["data"]["error"] == "sms_channel_not_configured"

    async def test_sms_disabled_on_the_number_is_409(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        await api.patch(
            f"/phone-numbers/{number['phone_number_uuid']}",
            {"channel_settings": {"sms": {"enabled": False}}},
        )

        r = await api.post(SEND, send_body(agent, unique_us_number()))

        assert r.status_code == 409
        assert r.json() == error_body(
            "sms_disabled",
            "SMS is disabled on the agent's SMS number (channel_settings.sms.enabled).",
            field="agentId",
        )

    async def test_a_destination_outside_the_whitelist_is_403(self, api: Api) -> None:
        agent, _ = await sms_agent(api)

        r = await api.post(SEND, send_body(agent, "+442071838750"))

        assert r.status_code == 403
        assert r.json() == error_body(
            "sms_destination_not_allowed",
            "The recipient's country is not in the SMS number's sms.whitelisted_destinations.",
            field="phoneNumber",
            country_code="GB",
        )

    async def test_a_whitelisted_foreign_destination_is_sent(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        await api.patch(
            f"/phone-numbers/{number['phone_number_uuid']}",
            {"channel_settings": {"sms": {"whitelisted_destinations": ["US", "GB"]}}},
        )

        r = await api.post(SEND, send_body(agent, "+442071838750"))

        assert r.json() == sent(number["number"], "+442071838750")

    async def test_a_retry_with_the_same_idempotency_key_sends_once(self, api: Api) -> None:
        agent, _ = await sms_agent(api)
        body = send_body(agent, unique_us_number())
        key = {"Idempotency-Key": str(uuid.uuid4())}

        first = await api.post(SEND, body, headers=key)
        retry = await api.post(SEND, body, headers=key)

        assert retry.status_code == first.status_code == 200
        assert retry.json() == first.json()
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert (await api.get(OUTBOX)).json()["data"]["pagination"]["total"] == 1

    async def test_refused_messages_are_not_in_the_outbox(self, api: Api) -> None:
        agent, _ = await sms_agent(api)

        await api.post(SEND, send_body(agent, "+442071838750"))

        assert (await api.get(OUTBOX)).json() == outbox([], total=0)

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            (
                {"phoneNumber": "+1555"},
                "phoneNumber",
                "Must be a valid phone number in E.164 format, e.g. +12025550123.",
            ),
            (
                {"phoneNumber": "+1 (415) 555-0199"},
                "phoneNumber",
                "Must be a valid phone number in E.164 format, e.g. +12025550123.",
            ),
            (
                {"phoneNumber": "not a number"},
                "phoneNumber",
                "Must be a valid phone number in E.164 format, e.g. +12025550123.",
            ),
            ({"message": ""}, "message", "String should have at least 1 character"),
            ({"message": "x" * 1601}, "message", "String should have at most 1600 characters"),
            (
                {"agentId": "agent-1"},
                "agentId",
                "Input should be a valid UUID, invalid character: found `g` at 1",
            ),
            ({"to": "+14155550199"}, "to", "Extra inputs are not permitted"),
        ],
    )
    async def test_bad_bodies_are_422(
        self, api: Api, change: dict[str, Any], field: str, message: str
    ) -> None:
        agent, _ = await sms_agent(api)

        r = await api.post(SEND, {**send_body(agent, unique_us_number()), **change})

        assert r.status_code == 422
        assert r.json() == invalid(field, message)

    @pytest.mark.parametrize("missing", ["agentId", "phoneNumber", "message"])
    async def test_every_field_is_required(self, api: Api, missing: str) -> None:
        agent, _ = await sms_agent(api)
        body = send_body(agent, unique_us_number())
        del body[missing]

        r = await api.post(SEND, body)

        assert r.status_code == 422
        assert r.json() == invalid(missing, "Field required")


class TestOutbox:
    async def test_newest_first(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()
        for text in ("first", "second", "third"):
            await api.post(SEND, send_body(agent, to, text))

        r = await api.get(OUTBOX)

        assert r.json() == outbox(
            [outbox_item(agent, number["number"], to, t) for t in ("third", "second", "first")],
            total=3,
        )

    async def test_pages_neither_overlap_nor_skip(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()
        for i in range(5):
            await api.post(SEND, send_body(agent, to, f"m{i}"))

        pages = [
            (await api.get(OUTBOX, params={"per_page": 2, "page": p})).json() for p in (1, 2, 3)
        ]

        def items(*texts: str) -> list[dict[str, Any]]:
            return [outbox_item(agent, number["number"], to, t) for t in texts]

        assert pages == [
            outbox(items("m4", "m3"), total=5, page=1, per_page=2),
            outbox(items("m2", "m1"), total=5, page=2, per_page=2),
            outbox(items("m0"), total=5, page=3, per_page=2),
        ]

    async def test_an_empty_outbox(self, api: Api) -> None:
        r = await api.get(OUTBOX)

        assert r.json() == outbox([], total=0)

    async def test_only_the_workspace_s_own_messages(self, api: Api, other_api: Api) -> None:
        mine, number = await sms_agent(api)
        theirs, _ = await sms_agent(other_api)
        to = unique_us_number()
        await api.post(SEND, send_body(mine, to, "mine"))
        await other_api.post(SEND, send_body(theirs, to, "theirs"))

        r = await api.get(OUTBOX)

        assert r.json() == outbox([outbox_item(mine, number["number"], to, "mine")], total=1)

    async def test_messages_outlive_their_agent(self, api: Api) -> None:
        agent, number = await sms_agent(api)
        to = unique_us_number()
        await api.post(SEND, send_body(agent, to, "kept"))

        deleted = await api.delete(f"/agents/{agent['agent_uuid']}", params={"force": "true"})

        assert deleted.status_code == 200
        assert (await api.get(OUTBOX)).json() == outbox(
            [outbox_item(None, number["number"], to, "kept")], total=1
        )

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"per_page": "201"}, "per_page", "Input should be less than or equal to 200"),
            ({"page": "0"}, "page", "Input should be greater than or equal to 1"),
        ],
    )
    async def test_bad_pages_are_422(
        self, api: Api, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get(OUTBOX, params=params)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)
