"""Conventions that matter get a check: every operation is documented the same way."""

from __future__ import annotations

from typing import Any

import pytest

from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key

SPEC = create_app(Settings(encryption_keys=generate_key(), _env_file=None)).openapi()
OPERATIONS = [
    (f"{method.upper()} {path}", op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
]


@pytest.mark.parametrize(("label", "op"), OPERATIONS, ids=[label for label, _ in OPERATIONS])
def test_summary_is_the_endpoint_docstring(label: str, op: dict[str, Any]) -> None:
    summary = op.get("summary", "")
    # A sentence from the docstring, not FastAPI's title-cased function name.
    assert summary.endswith("."), (label, summary)
    assert summary[0].isupper() and summary.lower() != op["operationId"].replace("_", " ")


@pytest.mark.parametrize(
    ("label", "op"),
    [(label, op) for label, op in OPERATIONS if label.split()[1].startswith("/api/v1")],
    ids=[label for label, _ in OPERATIONS if label.split()[1].startswith("/api/v1")],
)
def test_api_operations_document_their_errors_and_security(label: str, op: dict[str, Any]) -> None:
    assert {"400", "401", "422"} <= set(op["responses"]), label
    assert op.get("security"), label
    for status, response in op["responses"].items():
        if int(status) >= 400:
            assert response["description"].startswith("Error codes: "), (label, status)
