"""Missing peer binaries skip locally but fail under TRUNKLINE_REQUIRE_PEERS=1 (CI)."""

from __future__ import annotations

import pytest

from tests.support import sip_fixtures


def test_missing_binary_skips_without_ci_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sip_fixtures, "find_binary", lambda name: None)
    monkeypatch.delenv("TRUNKLINE_REQUIRE_PEERS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        sip_fixtures.require_peer_binary("kamailio")


def test_missing_binary_fails_with_ci_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sip_fixtures, "find_binary", lambda name: None)
    monkeypatch.setenv("TRUNKLINE_REQUIRE_PEERS", "1")
    with pytest.raises(pytest.fail.Exception, match="TRUNKLINE_REQUIRE_PEERS"):
        sip_fixtures.require_peer_binary("sipp")
