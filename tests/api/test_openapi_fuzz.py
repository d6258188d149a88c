"""Property-based runs (schemathesis, fixed seed) over two documents: the app's own OpenAPI
document and the upstream API's (docs/upstream/upstream-openapi.yaml, which an unchanged upstream
client is written against: docs/api-decisions.md §6).

Every operation gets generated requests — valid and invalid — against a real uvicorn server
(in its own thread and event loop, so the synchronous calls here cannot block it). The checks:
no 5xx, every response matches its declared schema (own document: also its status code and
content type; upstream document: also the strict check of tests/support/upstream.py, which holds
error statuses the upstream does not list to its errors guide's envelope).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.server import Server, free_port
from tests.support.upstream import RECORD, check_response, upstream_spec
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture(scope="module")
def threaded_server(settings: Settings, engine: AsyncEngine) -> Iterator[str]:
    server = Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), log_config=None)
    )
    thread = threading.Thread(target=server.run, name="openapi-fuzz-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
async def fuzz_token(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    _, token = await new_workspace(sessionmaker)
    return token


# The schema is the app's own document, taken without a server or database; the requests go to
# the real server. (schemathesis' pytest plugin does not support pytest 9, so operations are
# parametrized here and each runs its own hypothesis search.)
_SCHEMA = schemathesis.openapi.from_dict(
    create_app(
        Settings(encryption_keys=generate_key(), monitor={"enabled": False}, _env_file=None)
    ).openapi()
)
OPERATIONS = [result.ok() for result in _SCHEMA.get_all_operations()]


def _takes_input(op: Any) -> bool:
    return bool(len(op.path_parameters) or len(op.query) or len(op.body))


# Valid requests for every operation; invalid ones wherever an operation takes any input.
RUNS = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS if _takes_input(op)
]


# The upstream document: every operation it lists, whether Trunkline serves it yet or not (one
# it does not serve answers 404/405/422 in the error envelope, which the strict check holds).
_UPSTREAM = schemathesis.openapi.from_dict(upstream_spec())
UPSTREAM_OPERATIONS = [result.ok() for result in _UPSTREAM.get_all_operations()]
UPSTREAM_RUNS = [(op, GenerationMode.POSITIVE) for op in UPSTREAM_OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in UPSTREAM_OPERATIONS if _takes_input(op)
]
UPSTREAM_CHECKS = [not_a_server_error, response_schema_conformance]


def _strictly_upstream(response: Any) -> None:
    try:
        body = response.json()
    except ValueError:
        body = None
    request = response.request
    path = request.path_url.split("?", 1)[0]
    problems = check_response(request.method, path, response.status_code, body)
    assert not problems, problems


def fuzz(
    operation: Any,
    mode: GenerationMode,
    server: str,
    token: str,
    examples: int,
    *,
    upstream: bool = False,
) -> Counter[int]:
    """Run ``examples`` generated requests of ``operation`` through every check; the statuses."""
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,  # the fixed seed: the same requests on every run
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            base_url=server,
            headers={"Authorization": f"Bearer {token}"},
            checks=UPSTREAM_CHECKS if upstream else CHECKS,
        )
        if upstream:
            _strictly_upstream(response)
        statuses[response.status_code] += 1

    run()
    return statuses


@pytest.mark.parametrize(
    ("operation", "mode"), RUNS, ids=[f"{op.label} [{mode.value}]" for op, mode in RUNS]
)
def test_every_operation_honours_its_schema(
    operation: Any, mode: GenerationMode, threaded_server: str, fuzz_token: str
) -> None:
    statuses = fuzz(operation, mode, threaded_server, fuzz_token, examples=30)
    assert sum(statuses.values()) > 0, "no request was generated"


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 30, [op.label for op in OPERATIONS]


def test_the_run_reached_the_application(threaded_server: str, fuzz_token: str) -> None:
    """Guard against a vacuous run (e.g. every request refused at the door). It makes its own
    requests (a shorter run of every operation and mode), so it holds run alone, in any order."""
    statuses: Counter[int] = Counter()
    for operation, mode in RUNS:
        statuses += fuzz(operation, mode, threaded_server, fuzz_token, examples=12)
    assert statuses, "no request was made"
    assert sum(n for code, n in statuses.items() if code < 300) > 50, statuses
    assert sum(n for code, n in statuses.items() if code in (404, 409, 422)) > 50, statuses
    assert not [code for code in statuses if code >= 500], statuses


@pytest.mark.parametrize(
    ("operation", "mode"),
    UPSTREAM_RUNS,
    ids=[f"upstream {op.label} [{mode.value}]" for op, mode in UPSTREAM_RUNS],
)
def test_every_upstream_operation_meets_its_schema(
    operation: Any, mode: GenerationMode, threaded_server: str, fuzz_token: str
) -> None:
    before = RECORD.checked.get(operation.label, 0)
    statuses = fuzz(operation, mode, threaded_server, fuzz_token, examples=30, upstream=True)
    assert sum(statuses.values()) > 0, "no request was generated"
    assert not [code for code in statuses if code >= 500], statuses
    # Every response was held to the strict upstream check (not only the ones it declares).
    assert RECORD.checked.get(operation.label, 0) - before == sum(statuses.values())


def test_every_upstream_operation_is_fuzzed() -> None:
    """The upstream document's operations are all taken (it lists 17)."""
    labels = {op.label for op in UPSTREAM_OPERATIONS}
    spec = upstream_spec()
    listed = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    assert labels == listed
    assert len(labels) >= 17
