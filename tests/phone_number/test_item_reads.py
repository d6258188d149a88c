"""One number's item is read with key reads (``PhoneNumberService.items`` for a single row),
a page's items with batch reads: both paths must build the same item."""

from __future__ import annotations

from tests.support.api import Api, unique_us_number

SIP = {"gateway": "sip.example.com", "port": 5070, "username": "u", "password": "p"}


class TestItemByIdMatchesTheListItem:
    async def test_external_number_with_trunks_and_holders(self, api: Api) -> None:
        agent = await api.agent("Front desk")
        number = unique_us_number()
        registered = await api.trunk(agent["agent_uuid"], number, sip=SIP)
        other = await api.agent("Chats")
        await api.trunk(other["agent_uuid"], number, channel="whatsapp")

        by_id = await api.get(f"/phone-numbers/{registered['phone_number_uuid']}")
        listed = await api.get("/phone-numbers/trunks", params={"number": number})

        assert by_id.status_code == 200 and listed.status_code == 200
        items = listed.json()["data"]["items"]
        assert len(items) == 1
        item = by_id.json()["data"]
        assert item == items[0]
        assert [t["channel"] for t in item["trunks"]] == ["call", "whatsapp"]
        assert item["trunks"][0]["sip"]["port"] == 5070
        assert item["bindings"]["call"]["agent_uuid"] == agent["agent_uuid"]
        assert item["bindings"]["whatsapp"]["agent_uuid"] == other["agent_uuid"]
