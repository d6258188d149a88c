"""/openapi.json is a valid OpenAPI 3.x document (checked with openapi-spec-validator)."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key


def test_the_generated_document_validates() -> None:
    spec = create_app(Settings(encryption_keys=generate_key(), _env_file=None)).openapi()
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises OpenAPIValidationError with the offending path


async def test_the_served_document_is_the_same_valid_document(http: httpx.AsyncClient) -> None:
    served = (await http.get("/openapi.json")).json()
    validate(served)
    operations = [op for item in served["paths"].values() for op in item.values()]
    assert len(operations) >= 39
