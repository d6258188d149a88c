"""Every dependency of every endpoint runs on the event loop, never in the thread pool."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key


def _routes(router: Any) -> Iterator[APIRoute]:
    for route in getattr(router, "routes", []):
        if isinstance(route, APIRoute):
            yield route
        else:
            yield from _routes(getattr(route, "original_router", None))


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def test_no_dependency_is_a_plain_function() -> None:
    """FastAPI runs a plain ``def`` dependency in a worker thread: a hop on every request."""
    app = create_app(Settings(encryption_keys=generate_key(), _env_file=None))
    routes = list(_routes(app.router))
    assert len(routes) > 20  # the walk reaches the included routers
    sync = set()
    for route in routes:
        for call in _calls(route.dependant):
            # Security schemes (HTTPBearer) are callable instances with an async __call__.
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.add(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert not sync, sorted(sync)
