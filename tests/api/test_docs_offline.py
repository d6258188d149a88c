"""/docs and /redoc load their assets from this server, never from a CDN."""

from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_page_assets_are_local(http: httpx.AsyncClient, page: str) -> None:
    r = await http.get(page)

    assert r.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets, r.text
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        loaded = await http.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 1000, asset
    assert "cdn" not in r.text.lower() and "googleapis" not in r.text
