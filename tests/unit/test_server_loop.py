"""The event loop `trunkline serve` runs (ServerSettings.loop, http_limits.uvicorn_limits)."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
import uvloop
from pydantic import ValidationError

from trunkline.config import Settings
from trunkline.http_limits import uvicorn_limits


def loop_of(settings: Settings) -> asyncio.AbstractEventLoop:
    config = uvicorn.Config(lambda: None, **uvicorn_limits(settings.server.loop))
    factory = config.get_loop_factory()
    assert factory is not None
    return factory()


class TestServerLoop:
    def test_asyncio_by_default(self) -> None:
        loop = loop_of(Settings(_env_file=None))
        try:
            assert not isinstance(loop, uvloop.Loop)
            assert isinstance(loop, asyncio.AbstractEventLoop)
        finally:
            loop.close()

    def test_uvloop_when_chosen(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUNKLINE_SERVER__LOOP", "uvloop")
        loop = loop_of(Settings(_env_file=None))
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()

    def test_an_unknown_loop_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="asyncio"):
            Settings(server={"loop": "trio"}, _env_file=None)

    def test_h11_whatever_the_loop(self) -> None:
        assert uvicorn_limits("uvloop")["http"] == uvicorn_limits("asyncio")["http"] == "h11"
