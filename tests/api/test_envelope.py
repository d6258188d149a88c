"""The envelope and the generic errors of docs/api-decisions.md §2.1-2.2, through the server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support.api import Api, agent_object, error_body
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.envelope import _field_of

MALFORMED = error_body("malformed_request", "The request body must be a JSON object.")


class TestMalformedRequest:
    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (b"not json", "application/json"),
            (b'{"name": "Bot",', "application/json"),
            (b"[1, 2]", "application/json"),
            (b'"Bot"', "application/json"),
            (b"42", "application/json"),
            (b"null", "application/json"),
            (b"", "application/json"),
            (b"name=Bot", "application/x-www-form-urlencoded"),
        ],
        ids=["text", "truncated", "array", "string", "number", "null", "empty", "form"],
    )
    async def test_body_that_is_not_a_json_object_is_400(
        self, api: Api, content: bytes, content_type: str
    ) -> None:
        r = await api.post("/agents", content=content, headers={"Content-Type": content_type})

        assert r.status_code == 400
        assert r.json() == MALFORMED

    async def test_missing_body_is_400(self, api: Api) -> None:
        r = await api.post("/agents")

        assert r.status_code == 400
        assert r.json() == MALFORMED

    async def test_non_object_body_on_nested_endpoint_is_400(self, api: Api) -> None:
        r = await api.post("/phone-numbers/trunks", [{"phone_number": "+14155550100"}])

        assert r.status_code == 400
        assert r.json() == MALFORMED


class TestValidationFailed:
    async def test_missing_required_field(self, api: Api) -> None:
        r = await api.post("/agents", {})

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: name: Field required.",
            field="name",
            fields=[{"field": "name", "message": "Field required"}],
        )

    async def test_field_is_the_first_bad_field_and_details_lists_all(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "", "status": "asleep"})

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: name: String should have at least 1 character.",
            field="name",
            fields=[
                {"field": "name", "message": "String should have at least 1 character"},
                {"field": "status", "message": "Input should be 'active' or 'paused'"},
            ],
        )

    async def test_nested_field_is_dotted(self, api: Api) -> None:
        agent = await api.agent()
        r = await api.post(
            "/phone-numbers/trunks",
            {
                "phone_number": "+14155550100",
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", "port": 70000},
            },
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: sip.port: Input should be less than or equal to 65535.",
            field="sip.port",
            fields=[
                {"field": "sip.port", "message": "Input should be less than or equal to 65535"}
            ],
        )

    async def test_bad_path_uuid(self, api: Api) -> None:
        r = await api.get("/agents/not-a-uuid")

        assert r.status_code == 422
        message = "Input should be a valid UUID, invalid character: found `n` at 0"
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: agent_uuid: {message}.",
            field="agent_uuid",
            fields=[{"field": "agent_uuid", "message": message}],
        )

    async def test_bad_query_parameters(self, api: Api) -> None:
        r = await api.get("/agents", params={"page": 0, "per_page": 500})

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: page: Input should be greater than or equal to 1.",
            field="page",
            fields=[
                {"field": "page", "message": "Input should be greater than or equal to 1"},
                {"field": "per_page", "message": "Input should be less than or equal to 200"},
            ],
        )

    async def test_auth_is_checked_before_the_body(self, http: httpx.AsyncClient) -> None:
        r = await http.post("/api/v1/agents", json={"name": ""})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "MISSING_AUTH_TOKEN"


class TestUnknownRoutes:
    async def test_unknown_api_route_is_enveloped_404(self, api: Api) -> None:
        r = await api.get("/no-such-thing")

        assert r.status_code == 404
        assert r.json() == error_body("not_found", "Not found.")

    async def test_unknown_route_without_token_is_enveloped_404(
        self, http: httpx.AsyncClient
    ) -> None:
        r = await http.get("/nowhere")

        assert r.status_code == 404
        assert r.json() == error_body("not_found", "Not found.")

    @pytest.mark.parametrize("path", ["/agents/%2e%2e%2f", "/agents/", "/calls/x/"])
    async def test_stray_slash_or_encoded_dots_are_enveloped_404(self, api: Api, path: str) -> None:
        """No bodiless 307 redirect to a path that does not exist either."""
        r = await api.get(path)

        assert r.status_code == 404
        assert "location" not in r.headers
        assert r.json() == error_body("not_found", "Not found.")

    async def test_wrong_method_is_enveloped_405(self, api: Api) -> None:
        r = await api.put("/agents", {"name": "x"})

        assert r.status_code == 405
        assert r.json() == error_body("method_not_allowed", "Method not allowed on this route.")
        # RFC 9110 §15.5.6: a 405 names the allowed methods (Starlette: the first matching route's).
        assert "POST" in r.headers["allow"]


class TestSuccessEnvelope:
    async def test_create_is_201_with_envelope(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Bot"})

        assert r.status_code == 201
        assert r.json() == {
            "success": True,
            "message": "Agent created.",
            "data": agent_object("Bot"),
        }

    async def test_timestamps_are_utc_with_z_and_whole_seconds(self, api: Api) -> None:
        agent = await api.agent()

        for key in ("created_at", "updated_at"):
            value = agent[key]
            assert len(value) == len("2026-11-23T07:31:56Z"), value
            assert value.endswith("Z") and value[10] == "T", value


# -- 500: a test-only route on an app built by create_app, driven in-process ------------------


@pytest.fixture
async def broken_app(tmp_path: Path, settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(
        Settings(
            env="test",
            data_dir=tmp_path,
            database_url=settings.database_url_resolved,
            encryption_keys=settings.security.encryption_keys,
            # Neither a monitor probing the shared database's gateways nor a call worker on
            # the well-known 5060: the 500 handler is all this app is for.
            monitor={"enabled": False},
            calls={"enabled": False},
            _env_file=None,
        )
    )

    @app.get("/api/v1/_boom")
    async def boom() -> None:
        raise RuntimeError("secret-internal-detail db=postgres://admin:hunter2@10.0.0.5")

    async with app.router.lifespan_context(app):
        yield app


class TestInternalError:
    async def test_unhandled_exception_is_a_generic_500(
        self, broken_app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        transport = httpx.ASGITransport(app=broken_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with caplog.at_level(logging.ERROR):
                r = await client.get("/api/v1/_boom")

        assert r.status_code == 500
        assert r.json() == error_body("internal_error", "Internal server error.")
        assert "hunter2" not in r.text and "RuntimeError" not in r.text
        # The operator still learns what broke, server-side.
        assert "RuntimeError" in caplog.text


class TestFieldNaming:
    @pytest.mark.parametrize(
        ("loc", "field"),
        [
            (("body", "name"), "name"),
            (("body", "sip", "port"), "sip.port"),
            (("body", "items", 0, "number"), "items.0.number"),
            (("query", "per_page"), "per_page"),
            (("path", "agent_uuid"), "agent_uuid"),
            (("header", "authorization"), "authorization"),
            (("body",), None),
            ((), None),
        ],
    )
    def test_location_to_field(self, loc: tuple[int | str, ...], field: str | None) -> None:
        assert _field_of(loc) == field


class TestOperations:
    async def test_healthz(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/healthz")

        assert r.status_code == 200
        assert r.json() == {"status": "ok"}

    async def test_readyz(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/readyz")

        assert r.status_code == 200
        assert r.json() == {"status": "ok", "database": "ok"}

    async def test_docs_are_served(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/docs")

        assert r.status_code == 200
        assert "swagger-ui" in r.text and "/openapi.json" in r.text

    async def test_openapi_documents_every_endpoint(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/openapi.json")

        assert r.status_code == 200
        spec = r.json()
        assert spec["info"]["title"] == "Trunkline"
        assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        for path, operations in spec["paths"].items():
            for method, op in operations.items():
                where = f"{method.upper()} {path}"
                assert op.get("description"), f"{where} has no docstring"
                if path.startswith("/api/v1"):
                    assert {"401", "422"} <= set(op["responses"]), where
                    assert op.get("security") == [{"HTTPBearer": []}], where

    async def test_openapi_lists_the_register_error_codes(self, http: httpx.AsyncClient) -> None:
        spec = (await http.get("/openapi.json")).json()
        responses = spec["paths"]["/api/v1/phone-numbers/trunks"]["post"]["responses"]

        described = {status: body["description"] for status, body in responses.items()}
        assert described == {
            "201": "Successful Response",
            "400": "Error codes: MALFORMED_REQUEST",
            "401": "Error codes: MISSING_AUTH_TOKEN, INVALID_AUTH_TOKEN",
            "404": "Error codes: AGENT_NOT_FOUND",
            "409": "Error codes: NUMBER_IN_INVENTORY, NUMBER_ALREADY_BOUND, AGENT_CHANNEL_BUSY",
            "422": "Error codes: VALIDATION_FAILED, SMS_NOT_SUPPORTED, SIP_NOT_SUPPORTED, "
            "INVALID_GATEWAY",
        }
