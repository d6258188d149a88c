"""The token → AuthContext cache: entries expire, revocation clears it, and a lookup that raced
a revocation cannot store the stale answer."""

from __future__ import annotations

import uuid
from unittest import mock

from trunkline.workspace.service import AuthCache, AuthContext

CTX = AuthContext(workspace_id=uuid.uuid4(), token_id=uuid.uuid4(), scopes=frozenset({"admin"}))


class TestAuthCache:
    def test_hit_within_ttl(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        cache.put("h", CTX, cache.generation)

        assert cache.get("h") == CTX

    def test_expires_after_ttl(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        with mock.patch("trunkline.workspace.service.time.monotonic", return_value=100.0):
            cache.put("h", CTX, cache.generation)
        with mock.patch("trunkline.workspace.service.time.monotonic", return_value=102.0):
            assert cache.get("h") is None

    def test_clear_forgets_everything(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        cache.put("h", CTX, cache.generation)

        cache.clear()

        assert cache.get("h") is None

    def test_a_lookup_that_raced_a_revocation_is_not_stored(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        generation = cache.generation  # the lookup starts reading the token row
        cache.clear()  # a revocation commits meanwhile

        cache.put("h", CTX, generation)

        assert cache.get("h") is None

    def test_size_is_bounded(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=2)
        for key in ("a", "b", "c"):
            cache.put(key, CTX, cache.generation)

        assert [cache.get(k) for k in ("a", "b", "c")] == [None, None, CTX]

    def test_zero_ttl_disables_it(self) -> None:
        cache = AuthCache(ttl_s=0, max_entries=10)
        cache.put("h", CTX, cache.generation)

        assert cache.get("h") is None


class TestCurrencyWithTheToken:
    """The token read brings the workspace's currency; it lives and dies with the token entry."""

    def test_the_currency_read_with_a_token_is_served_while_the_token_is_cached(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        ctx = AuthContext(
            workspace_id=uuid.uuid4(), token_id=uuid.uuid4(), scopes=frozenset(), currency="USD"
        )
        with mock.patch("trunkline.workspace.service.time.monotonic", return_value=100.0):
            cache.put("h", ctx, cache.generation)
            assert cache.currency(ctx.workspace_id) == "USD"
            assert cache.currency(uuid.uuid4()) is None
        with mock.patch("trunkline.workspace.service.time.monotonic", return_value=102.0):
            assert cache.currency(ctx.workspace_id) is None

    def test_clear_forgets_the_currency_too(self) -> None:
        cache = AuthCache(ttl_s=2.0, max_entries=10)
        cache.put("h", CTX, cache.generation)

        cache.clear()

        assert cache.currency(CTX.workspace_id) is None
