"""The API routers are included into the app directly, one level deep, under /api/v1 and in
``API_ROUTERS`` order (trunkline/api.py: each level of inclusion costs FastAPI another walk of
the route lists per request)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from trunkline.api import API_PREFIX, API_ROUTERS
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key


def _app() -> FastAPI:
    return create_app(Settings(env="test", encryption_keys=generate_key(), _env_file=None))


def _included(routes: list[Any]) -> list[Any]:
    return [r.original_router for r in routes if getattr(r, "original_router", None) is not None]


def test_api_routers_are_included_once_in_order_and_flat() -> None:
    app = _app()
    included = _included(app.router.routes)
    assert included[: len(API_ROUTERS)] == list(API_ROUTERS)
    for router in included:
        assert _included(router.routes) == []  # no second level of inclusion


def test_every_api_route_is_served_under_the_prefix() -> None:
    paths = _app().openapi()["paths"]
    for router in API_ROUTERS:
        for route in router.routes:
            if getattr(route, "include_in_schema", False):
                methods = {m.lower() for m in route.methods} - {"head"}
                assert methods <= set(paths[API_PREFIX + route.path]), route.path
