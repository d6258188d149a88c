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


class TestEveryItemOfAPageMatchesItsReadById:
    """A page of several rows takes the list path (Core rows, batch reads, one validation of the
    page); each of its items must be, key for key and in the same order, the item GET by id
    returns (the single-row path, from the model)."""

    async def test_purchased_external_released_and_bound_numbers(self, api: Api) -> None:
        agent = await api.agent("Front desk")
        external = await api.trunk(agent["agent_uuid"], sip=SIP)
        await api.trunk((await api.agent("Chats"))["agent_uuid"], external["number"], "whatsapp")
        bare = await api.trunk(agent["agent_uuid"], channel="whatsapp")
        bought = await api.buy(
            address={"street_address": "1 Main St", "locality": "SF", "postal_code": "94103"}
        )
        bound = await api.post(
            f"/agents/{agent['agent_uuid']}/channels/sms",
            {"phone_number_uuid": bought["phone_number_uuid"]},
        )
        released = await api.buy()
        gone = await api.delete(f"/phone-numbers/{released['phone_number_uuid']}")
        assert bound.status_code == 200 and gone.status_code == 200

        listed = await api.get("/phone-numbers", params={"per_page": 200})
        assert listed.status_code == 200
        items = listed.json()["data"]["items"]
        assert len(items) == 4
        for item in items:
            by_id = await api.get(f"/phone-numbers/{item['phone_number_uuid']}")
            assert by_id.status_code == 200
            # Same keys in the same order (the bytes of the JSON), and the same values.
            assert list(by_id.json()["data"]) == list(item)
            assert by_id.json()["data"] == item
        kinds = {(i["source"], i["status"], i["trunks"] is None) for i in items}
        assert kinds == {("external", "active", False), ("purchased", "active", True),
                         ("purchased", "released", True)}  # fmt: skip
        assert {i["number"] for i in items} >= {bare["number"], external["number"]}
