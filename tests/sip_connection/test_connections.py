"""SIP trunk connections: create, get one, list (docs/api-decisions.md §4.4)."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_KEYRING
from tests.support.api import Api, error_body, unique_us_number
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import SipConnection

PATH = "/channels/sip-trunk/connections"
INVALID_GATEWAY = (
    "The gateway must be a host name or IP address, without scheme or port "
    "(for example sip.telnyx.com)."
)


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Telnyx main",
        "phone_number": "+12025550123",
        "gateway": "sip.telnyx.com",
        "username": "telnyx-user",
        "password": "telnyx-pass",
        **overrides,
    }


def read(**fields: Any) -> dict[str, Any]:
    """A connection as every endpoint returns it (never username or password)."""
    return {
        "uuid": ANY,
        "name": "Telnyx main",
        "phone_number": "+12025550123",
        "gateway": "sip.telnyx.com",
        "secondary_gateway": None,
        "port": 5060,
        "transport": "udp",
        "register": True,
        "enabled": True,
        "status": "pending",
        "status_detail": None,
        "last_checked_at": None,
        "created_at": ANY,
        "updated_at": ANY,
        **fields,
    }


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message}.",
        field=field,
        fields=[{"field": field, "message": message}],
    )


def bad_gateway(field: str) -> dict[str, Any]:
    return error_body(
        "invalid_gateway",
        INVALID_GATEWAY,
        field=field,
        fields=[{"field": field, "message": INVALID_GATEWAY}],
    )


class TestCreateConnection:
    async def test_minimal(self, api: Api) -> None:
        r = await api.post(PATH, body())

        assert r.status_code == 201
        assert r.json() == {"success": True, "message": "Connection created.", "data": read()}
        uuid.UUID(r.json()["data"]["uuid"])

    async def test_every_field(self, api: Api) -> None:
        r = await api.post(
            PATH,
            body(
                secondary_gateway="192.0.2.10",
                port=5061,
                transport="tls",
                register=False,
            ),
        )

        assert r.status_code == 201
        assert r.json()["data"] == read(
            secondary_gateway="192.0.2.10", port=5061, transport="tls", register=False
        )

    @pytest.mark.parametrize(
        "phone_number", ["+1 (202) 555-0123", "2025550123", "ext. 42", "<string>", "x" * 32]
    )
    async def test_phone_number_is_stored_verbatim(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], phone_number: str
    ) -> None:
        r = await api.post(PATH, body(phone_number=phone_number))

        assert r.status_code == 201
        assert r.json()["data"] == read(phone_number=phone_number)
        got = await api.get(f"{PATH}/{r.json()['data']['uuid']}")
        assert got.json()["data"]["phone_number"] == phone_number

    @pytest.mark.parametrize(
        ("phone_number", "e164"),
        [("+1 (202) 555-0123", "+12025550123"), ("12025550123", "+12025550123"), ("ext", None)],
    )
    async def test_number_is_compared_in_e164_form(
        self,
        api: Api,
        sessionmaker: async_sessionmaker[AsyncSession],
        phone_number: str,
        e164: str | None,
    ) -> None:
        created = (await api.post(PATH, body(phone_number=phone_number))).json()["data"]

        async with sessionmaker() as session:
            row = await session.get(SipConnection, uuid.UUID(created["uuid"]))
        assert row is not None
        assert (row.phone_number, row.phone_number_e164) == (phone_number, e164)

    @pytest.mark.parametrize("blank", [None, "", "   "])
    async def test_blank_secondary_gateway_is_null(self, api: Api, blank: str | None) -> None:
        r = await api.post(PATH, body(secondary_gateway=blank))

        assert r.status_code == 201
        assert r.json()["data"]["secondary_gateway"] is None

    @pytest.mark.parametrize(
        "gateway",
        [
            "sip.telnyx.com",
            "sip.zadarma.com",
            "localhost",
            "203.0.113.5",
            "2001:db8::1",
            "sip-1.eu.example.net.",
        ],
    )
    async def test_valid_gateways(self, api: Api, gateway: str) -> None:
        r = await api.post(PATH, body(gateway=gateway, secondary_gateway=gateway))

        assert r.status_code == 201
        assert r.json()["data"] == read(gateway=gateway, secondary_gateway=gateway)

    @pytest.mark.parametrize("field", ["gateway", "secondary_gateway"])
    @pytest.mark.parametrize(
        "gateway",
        [
            "+12025550123",  # a phone number
            "12025550123",
            "sip:sip.telnyx.com",  # a URI
            "https://sip.telnyx.com",  # a URL
            "sip.telnyx.com:5060",  # host:port
            "203.0.113.5:5060",
            "user@sip.telnyx.com",
            "sip.telnyx.com/path",
            "sip telnyx com",
            "<string>",
            "999.1.1.1",
        ],
    )
    async def test_invalid_gateway(self, api: Api, field: str, gateway: str) -> None:
        r = await api.post(PATH, body(**{field: gateway}))

        assert r.status_code == 422
        assert r.json() == bad_gateway(field)

    async def test_empty_gateway(self, api: Api) -> None:
        r = await api.post(PATH, body(gateway=""))

        assert r.status_code == 422
        assert r.json() == bad_gateway("gateway")

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("name", "x" * 256, "String should have at most 255 characters"),
            ("name", "", "String should have at least 1 character"),
            ("phone_number", "1" * 33, "String should have at most 32 characters"),
            ("phone_number", "", "String should have at least 1 character"),
            ("gateway", "a" * 256, "String should have at most 255 characters"),
            ("secondary_gateway", "a" * 256, "String should have at most 255 characters"),
            ("username", "u" * 256, "String should have at most 255 characters"),
            ("password", "p" * 256, "String should have at most 255 characters"),
            ("username", "", "String should have at least 1 character"),
            ("password", "", "String should have at least 1 character"),
            ("port", 0, "Input should be greater than or equal to 1"),
            ("port", 65536, "Input should be less than or equal to 65535"),
            ("transport", "sctp", "Input should be 'udp', 'tcp' or 'tls'"),
        ],
    )
    async def test_field_rules(self, api: Api, field: str, value: Any, message: str) -> None:
        r = await api.post(PATH, body(**{field: value}))

        assert r.status_code == 422
        assert r.json() == invalid(field, message)

    async def test_limits_are_inclusive(self, api: Api) -> None:
        r = await api.post(
            PATH,
            body(
                name="n" * 255,
                phone_number="1" * 32,
                username="u" * 255,
                password="p" * 255,
                gateway=("a" * 63 + ".") * 3 + "a" * 63,
            ),
        )

        assert r.status_code == 201

    @pytest.mark.parametrize("missing", ["name", "phone_number", "gateway", "username", "password"])
    async def test_required(self, api: Api, missing: str) -> None:
        payload = body()
        del payload[missing]

        r = await api.post(PATH, payload)

        assert r.status_code == 422
        assert r.json() == invalid(missing, "Field required")

    async def test_credentials_are_sealed_and_never_returned(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        r = await api.post(PATH, body(username="alice-sip", password="pa55-w0rd!"))

        assert "alice-sip" not in r.text and "pa55-w0rd!" not in r.text
        connection_id = uuid.UUID(r.json()["data"]["uuid"])
        async with sessionmaker() as session:
            row = await session.get(SipConnection, connection_id)
        assert row is not None
        box = SecretBox.from_spec(TEST_KEYRING)
        assert row.password_secret.startswith("v1:") and "pa55-w0rd!" not in row.password_secret
        assert (
            box.decrypt(
                row.password_secret, aad_for("sip_connection", "password_secret", connection_id)
            )
            == "pa55-w0rd!"
        )
        assert (
            box.decrypt(
                row.username_secret, aad_for("sip_connection", "username_secret", connection_id)
            )
            == "alice-sip"
        )


class TestGetConnection:
    async def test_found(self, api: Api) -> None:
        created = await api.connection(name="Zadarma", gateway="sip.zadarma.com")

        r = await api.get(f"{PATH}/{created['uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Connection retrieved.", "data": created}

    async def test_missing(self, api: Api) -> None:
        r = await api.get(f"{PATH}/{uuid.uuid4()}")

        assert r.status_code == 404
        assert r.json() == error_body("connection_not_found", "SIP trunk connection not found.")

    async def test_not_a_uuid(self, api: Api) -> None:
        r = await api.get(f"{PATH}/main")

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "connection_uuid"


def listing(items: list[Any], **pagination: Any) -> dict[str, Any]:
    return {
        "success": True,
        "message": "Connections retrieved.",
        "data": {"items": items, "pagination": pagination},
    }


class TestListConnections:
    async def test_empty(self, api: Api) -> None:
        r = await api.get(PATH)

        assert r.status_code == 200
        assert r.json() == listing(
            [],
            current_page=1,
            per_page=50,
            total=0,
            last_page=1,
            to=None,
            has_more=False,
            **{"from": None},
        )

    async def test_pages_oldest_first(self, api: Api) -> None:
        made = [
            await api.connection(name=f"C{i}", phone_number=unique_us_number()) for i in range(3)
        ]

        pages = [
            (await api.get(PATH, params={"page": page, "per_page": 2})).json() for page in (1, 2, 3)
        ]

        assert pages[0] == listing(
            made[:2],
            current_page=1,
            per_page=2,
            total=3,
            last_page=2,
            to=2,
            has_more=True,
            **{"from": 1},
        )
        assert pages[1] == listing(
            made[2:],
            current_page=2,
            per_page=2,
            total=3,
            last_page=2,
            to=3,
            has_more=False,
            **{"from": 3},
        )
        assert pages[2] == listing(
            [],
            current_page=3,
            per_page=2,
            total=3,
            last_page=2,
            to=None,
            has_more=False,
            **{"from": None},
        )

    async def test_exact_multiple_of_per_page(self, api: Api) -> None:
        made = [await api.connection(phone_number=unique_us_number()) for _ in range(2)]

        r = await api.get(PATH, params={"per_page": 1, "page": 2})

        assert r.json() == listing(
            made[1:],
            current_page=2,
            per_page=1,
            total=2,
            last_page=2,
            to=2,
            has_more=False,
            **{"from": 2},
        )

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"per_page": 0}, "per_page"), ({"per_page": 201}, "per_page"), ({"page": 0}, "page")],
    )
    async def test_bad_pagination(self, api: Api, params: dict[str, int], field: str) -> None:
        r = await api.get(PATH, params=params)

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
        assert r.json()["error"]["field"] == field


class TestSeedConnectionBody:
    """The upstream API's published example body for creating a connection. Its ``<string>``
    placeholders for the two gateways are not hosts, which docs/api-decisions.md (§4.4) refuses;
    the second test puts hosts there and keeps
    every other placeholder verbatim (``phone_number`` is stored verbatim, so ``<string>`` is)."""

    SEED = {
        "name": "<string>",
        "phone_number": "<string>",
        "gateway": "<string>",
        "username": "<string>",
        "password": "<string>",
        "secondary_gateway": "<string>",
    }

    async def test_as_written_the_placeholder_gateway_is_refused(self, api: Api) -> None:
        r = await api.post(PATH, self.SEED)

        assert r.status_code == 422
        assert r.json() == error_body(
            "invalid_gateway",
            INVALID_GATEWAY,
            field="gateway",
            fields=[
                {"field": "gateway", "message": INVALID_GATEWAY},
                {"field": "secondary_gateway", "message": INVALID_GATEWAY},
            ],
        )

    async def test_with_hosts_returns_the_seed_shape(self, api: Api) -> None:
        sent = {**self.SEED, "gateway": "sip.telnyx.com", "secondary_gateway": "sip.zadarma.com"}

        r = await api.post(PATH, sent)

        assert r.status_code == 201
        data = r.json()["data"]
        seed_keys = {
            "uuid",
            "name",
            "phone_number",
            "gateway",
            "secondary_gateway",
            "status",
            "created_at",
            "updated_at",
        }
        assert seed_keys <= set(data)
        assert r.json() == {
            "success": True,
            "message": "Connection created.",
            "data": read(
                name="<string>",
                phone_number="<string>",
                gateway="sip.telnyx.com",
                secondary_gateway="sip.zadarma.com",
            ),
        }
        assert data["created_at"].endswith("Z") and len(data["created_at"]) == 20
