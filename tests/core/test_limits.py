"""Tests for simulator.core.limits."""

from __future__ import annotations

import pytest

from simulator.core.clock import ManualClock
from simulator.core.limits import TokenBucket


def _offer(bucket: TokenBucket, clock: ManualClock, per_second: int, seconds: int) -> int:
    """Offer evenly spaced requests; return how many were accepted."""
    accepted = 0
    step = 1.0 / per_second
    for _ in range(per_second * seconds):
        clock.advance(step)
        accepted += bucket.try_acquire()
    return accepted


def test_sustained_rate_is_capped() -> None:
    clock = ManualClock()
    bucket = TokenBucket(50, clock=clock)
    accepted = _offer(bucket, clock, per_second=200, seconds=5)
    assert abs(accepted - 250) <= 25, accepted


def test_default_burst_is_a_tenth_of_rate() -> None:
    clock = ManualClock()
    assert TokenBucket(50, clock=clock).burst == 5.0
    assert TokenBucket(1000, clock=clock).burst == 100.0
    # Never below one token, or a low-rate account could never send.
    assert TokenBucket(3, clock=clock).burst == 1.0


def test_starts_full_and_burst_drains() -> None:
    clock = ManualClock()
    bucket = TokenBucket(50, clock=clock)  # burst 5
    results = [bucket.try_acquire() for _ in range(8)]
    assert results == [True] * 5 + [False] * 3


def test_explicit_burst() -> None:
    clock = ManualClock()
    bucket = TokenBucket(10, burst=20, clock=clock)
    assert sum(bucket.try_acquire() for _ in range(30)) == 20
    clock.advance(0.5)  # earns 5
    assert sum(bucket.try_acquire() for _ in range(30)) == 5


def test_refill_is_capped_at_burst() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, burst=10, clock=clock)
    for _ in range(10):
        assert bucket.try_acquire()
    clock.advance(3600.0)  # an idle hour does not bank 360,000 tokens
    assert sum(bucket.try_acquire() for _ in range(50)) == 10


def test_exact_pacing_at_cap_is_not_throttled() -> None:
    clock = ManualClock()
    bucket = TokenBucket(50, burst=1, clock=clock)
    assert bucket.try_acquire()
    # 0.02 s steps accumulate float error; a client exactly at the cap must pass.
    for _ in range(1000):
        clock.advance(0.02)
        assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_acquire_n() -> None:
    clock = ManualClock()
    bucket = TokenBucket(10, burst=5, clock=clock)
    assert bucket.try_acquire(3)
    assert not bucket.try_acquire(3)  # 2 left
    assert bucket.try_acquire(2)
    assert not bucket.try_acquire(6)  # more than burst never fits
    clock.advance(100.0)
    assert not bucket.try_acquire(6)


def test_failed_acquire_takes_nothing() -> None:
    clock = ManualClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    assert bucket.try_acquire()
    assert not bucket.try_acquire(2)
    assert bucket.try_acquire(1)


@pytest.mark.parametrize("rate", [0, -5, None])
def test_unlimited(rate: float | None) -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate, clock=clock)
    assert bucket.unlimited
    assert bucket.rate is None
    assert all(bucket.try_acquire() for _ in range(100_000))
    assert bucket.try_acquire(1e12)


def test_rate_property() -> None:
    bucket = TokenBucket(25, clock=ManualClock())
    assert bucket.rate == 25.0


def test_set_rate_keeps_level_clamped() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, burst=50, clock=clock)
    for _ in range(10):
        assert bucket.try_acquire()
    # 40 left; new burst 5 clamps it down.
    bucket.set_rate(10)
    assert bucket.rate == 10.0
    assert bucket.burst == 1.0
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    bucket.set_rate(10, burst=30)
    # Raising the burst does not mint tokens.
    assert not bucket.try_acquire()
    clock.advance(1.0)
    assert sum(bucket.try_acquire() for _ in range(100)) == 10


def test_set_rate_credits_time_at_old_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, burst=100, clock=clock)
    assert sum(bucket.try_acquire() for _ in range(100)) == 100
    clock.advance(0.5)  # 50 tokens earned at 100/s
    bucket.set_rate(1, burst=100)
    assert sum(bucket.try_acquire() for _ in range(100)) == 50


def test_set_rate_new_rate_applies() -> None:
    clock = ManualClock()
    bucket = TokenBucket(50, clock=clock)
    bucket.set_rate(200)
    accepted = _offer(bucket, clock, per_second=400, seconds=5)
    assert abs(accepted - 1000) <= 100, accepted


def test_set_rate_to_and_from_unlimited() -> None:
    clock = ManualClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    bucket.set_rate(None)
    assert bucket.unlimited
    assert all(bucket.try_acquire() for _ in range(1000))
    bucket.set_rate(10, burst=3)
    assert not bucket.unlimited
    # Back to limited: starts full, then enforced.
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_invalid_burst() -> None:
    with pytest.raises(ValueError):
        TokenBucket(10, burst=0, clock=ManualClock())


def test_available() -> None:
    clock = ManualClock()
    bucket = TokenBucket(10, burst=4, clock=clock)
    assert bucket.available() == 4.0
    bucket.try_acquire(4)
    clock.advance(0.2)
    assert bucket.available() == pytest.approx(2.0)
    assert TokenBucket(None, clock=clock).available() == float("inf")
