"""Tests for simulator.core.clock."""

from __future__ import annotations

import time

import pytest

from simulator.core.clock import Clock, ManualClock, SystemClock


def test_both_clocks_satisfy_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(ManualClock(), Clock)


def test_system_clock_tracks_real_time() -> None:
    clock = SystemClock()
    before_mono, before_wall = time.monotonic(), time.time()
    now, wall = clock.now(), clock.wall()
    after_mono, after_wall = time.monotonic(), time.time()
    assert before_mono <= now <= after_mono
    assert before_wall <= wall <= after_wall


def test_system_clock_sleep_hint() -> None:
    clock = SystemClock()
    hint = clock.sleep_hint(clock.now() + 10.0)
    assert hint is not None and 9.0 < hint <= 10.0
    # A deadline in the past means "don't sleep", never a negative sleep.
    assert clock.sleep_hint(clock.now() - 5.0) == 0.0


def test_system_clock_add_listener_stores_nothing() -> None:
    clock = SystemClock()
    calls: list[int] = []
    clock.add_listener(lambda: calls.append(1))
    assert not hasattr(clock, "__dict__")  # slots: nowhere to keep it
    assert calls == []


def test_manual_clock_starts_where_told() -> None:
    clock = ManualClock(start=100.0, wall_start=1_000.0)
    assert clock.now() == 100.0
    assert clock.wall() == 1_000.0


def test_manual_clock_default_wall_is_2026() -> None:
    assert ManualClock().wall() == 1_767_225_600.0


def test_manual_clock_advance_moves_now_and_wall_together() -> None:
    clock = ManualClock(start=5.0, wall_start=1_000.0)
    assert clock.advance(3600.0) == 3605.0
    assert clock.now() == 3605.0
    assert clock.wall() == 4_600.0


def test_manual_clock_set() -> None:
    clock = ManualClock()
    clock.set(42.5)
    assert clock.now() == 42.5
    assert clock.wall() == 1_767_225_600.0 + 42.5


def test_manual_clock_refuses_to_go_back() -> None:
    clock = ManualClock(start=10.0)
    with pytest.raises(ValueError):
        clock.advance(-1.0)
    with pytest.raises(ValueError):
        clock.set(9.0)
    assert clock.now() == 10.0


def test_manual_clock_sleep_hint_is_none() -> None:
    clock = ManualClock()
    assert clock.sleep_hint(1.0) is None
    assert clock.sleep_hint(-1.0) is None


def test_manual_clock_listeners_called_after_jump() -> None:
    clock = ManualClock()
    seen: list[float] = []
    clock.add_listener(lambda: seen.append(clock.now()))
    clock.add_listener(lambda: seen.append(-clock.now()))
    clock.advance(2.0)
    clock.set(7.0)
    # Listeners observe the new time, in registration order.
    assert seen == [2.0, -2.0, 7.0, -7.0]


def test_manual_clock_listener_may_register_listener() -> None:
    clock = ManualClock()
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        clock.add_listener(lambda: calls.append("second"))

    clock.add_listener(first)
    clock.advance(1.0)
    assert calls == ["first"]
    clock.advance(1.0)
    assert calls == ["first", "first", "second"]
