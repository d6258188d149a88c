"""The call domain's pure rules, one table of cases each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trunkline.call.rules import (
    TERMINAL,
    CallDirection,
    CallStatus,
    can_transition,
    duration_s,
    is_live,
    stream_token_problem,
    stream_url_problem,
    within_limits,
)

S = CallStatus

ALLOWED = {
    (S.queued, S.ringing),
    (S.queued, S.in_progress),  # a 2xx with no 18x before it
    (S.queued, S.busy),
    (S.queued, S.no_answer),
    (S.queued, S.failed),
    (S.queued, S.canceled),
    (S.queued, S.rejected),
    (S.ringing, S.in_progress),
    (S.ringing, S.busy),
    (S.ringing, S.no_answer),
    (S.ringing, S.failed),
    (S.ringing, S.canceled),
    (S.ringing, S.rejected),
    (S.in_progress, S.completed),
}


class TestCanTransition:
    @pytest.mark.parametrize(
        ("current", "new"), [(a, b) for a in S for b in S], ids=lambda s: str(s)
    )
    def test_every_pair(self, current: CallStatus, new: CallStatus) -> None:
        assert can_transition(current, new) is ((current, new) in ALLOWED)

    @pytest.mark.parametrize("terminal", sorted(TERMINAL))
    def test_terminal_states_never_change(self, terminal: CallStatus) -> None:
        assert not any(can_transition(terminal, new) for new in S)

    def test_rejected_only_before_the_answer(self) -> None:
        assert {a for a in S if can_transition(a, S.rejected)} == {S.queued, S.ringing}

    def test_completed_only_after_the_answer(self) -> None:
        assert {a for a in S if can_transition(a, S.completed)} == {S.in_progress}


class TestIsLive:
    @pytest.mark.parametrize(
        ("status", "live"),
        [
            (S.queued, True),
            (S.ringing, True),
            (S.in_progress, True),
            (S.completed, False),
            (S.busy, False),
            (S.no_answer, False),
            (S.failed, False),
            (S.canceled, False),
            (S.rejected, False),
        ],
    )
    def test_table(self, status: CallStatus, live: bool) -> None:
        assert is_live(status) is live


T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


class TestDuration:
    @pytest.mark.parametrize(
        ("answered", "ended", "status", "expected"),
        [
            (None, None, S.ringing, None),
            (T0, None, S.in_progress, None),
            (None, T0, S.no_answer, 0),
            (None, T0, S.rejected, 0),
            (T0, T0 + timedelta(seconds=61, milliseconds=999), S.completed, 61),
            (T0, T0 + timedelta(milliseconds=400), S.completed, 0),
            (T0, T0, S.completed, 0),
        ],
    )
    def test_table(
        self,
        answered: datetime | None,
        ended: datetime | None,
        status: CallStatus,
        expected: int | None,
    ) -> None:
        assert duration_s(answered, ended, status) == expected


IN, OUT = CallDirection.inbound, CallDirection.outbound


class TestWithinLimits:
    @pytest.mark.parametrize(
        ("direction", "live_inbound", "live_total", "inbound_limit", "total_limit", "fits"),
        [
            (IN, 0, 0, None, None, True),
            (IN, 50, 90, None, None, True),  # no limits at all
            (IN, 1, 1, 2, 2, True),
            (IN, 2, 2, 2, 10, False),  # inbound limit reached
            (IN, 1, 2, 5, 2, False),  # total limit reached by an outbound call
            (OUT, 2, 2, 2, 10, True),  # the inbound limit does not bound outbound calls
            (OUT, 0, 3, 2, 3, False),
            (IN, 0, 9, 0, 10, True),  # 0 = no limit
            (OUT, 0, 9, None, 0, True),
            (IN, 3, 3, 1, None, False),  # already over (limit lowered mid-call): still refuses
        ],
    )
    def test_table(
        self,
        direction: CallDirection,
        live_inbound: int,
        live_total: int,
        inbound_limit: int | None,
        total_limit: int | None,
        fits: bool,
    ) -> None:
        assert (
            within_limits(
                direction,
                live_inbound=live_inbound,
                live_total=live_total,
                inbound_limit=inbound_limit,
                total_limit=total_limit,
            )
            is fits
        )


class TestStreamUrl:
    @pytest.mark.parametrize(
        ("url", "problem"),
        [
            ("wss://agent.example.com/twilio", None),
            ("ws://127.0.0.1:8765/ws", None),
            ("WSS://Agent.Example.com:443/path?x=1", None),
            ("ws://[::1]:9000/", None),
            ("https://agent.example.com/ws", "Must be a ws:// or wss:// URL."),
            ("agent.example.com/ws", "Must be a ws:// or wss:// URL."),
            ("wss:///no-host", "Must name a host, e.g. wss://agent.example.com/stream."),
            (
                "wss://user:pw@agent.example.com/",
                "Must not carry credentials; send them as stream_auth_token.",
            ),
            ("wss://agent.example.com/#frag", "Must not have a fragment (RFC 6455 §3)."),
            ("wss://agent.example.com/#", "Must not have a fragment (RFC 6455 §3)."),
            ("wss://agent.example.com:99999/", "Must be a valid ws:// or wss:// URL."),
            ("wss://agent.example.com:0/", "Must not use port 0."),
            ("wss://agent.example.com/a b", "Must not contain spaces or control characters."),
            ("wss://agent.example.com/\r\nX: y", "Must not contain spaces or control characters."),
            ("wss://a.example.com/" + "p" * 2029, "Must be at most 2048 characters."),
        ],
    )
    def test_table(self, url: str, problem: str | None) -> None:
        assert stream_url_problem(url) == problem

    def test_longest_accepted(self) -> None:
        url = "wss://a.example.com/" + "p" * 2028
        assert len(url) == 2048
        assert stream_url_problem(url) is None


class TestStreamToken:
    @pytest.mark.parametrize(
        ("token", "problem"),
        [
            ("sk_live.abc-123_~+/=", None),
            ("x" * 4096, None),
            ("x" * 4097, "Must be at most 4096 characters."),
            ("two words", "Must be visible ASCII characters without spaces."),
            ("abc\r\nX-Injected: 1", "Must be visible ASCII characters without spaces."),
            ("clé", "Must be visible ASCII characters without spaces."),
        ],
    )
    def test_table(self, token: str, problem: str | None) -> None:
        assert stream_token_problem(token) == problem
