"""Tests for simulator.core.scheduler."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.clock import ManualClock, SystemClock
from simulator.core.scheduler import Scheduler


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sched(clock: ManualClock) -> Scheduler:
    return Scheduler(clock)


def test_fires_in_deadline_order(sched: Scheduler, clock: ManualClock) -> None:
    fired: list[str] = []
    sched.call_at(3.0, fired.append, "c")
    sched.call_at(1.0, fired.append, "a")
    sched.call_at(2.0, fired.append, "b")
    clock.advance(10.0)
    assert sched.run_due() == 3
    assert fired == ["a", "b", "c"]


def test_only_due_timers_fire(sched: Scheduler, clock: ManualClock) -> None:
    fired: list[int] = []
    sched.call_at(1.0, fired.append, 1)
    sched.call_at(2.0, fired.append, 2)
    assert sched.run_due(1.0) == 1  # when <= now is due
    assert fired == [1]
    assert sched.run_due(1.999) == 0
    assert sched.next_deadline() == 2.0


def test_equal_deadlines_fire_fifo(sched: Scheduler) -> None:
    fired: list[int] = []
    for i in range(100):
        sched.call_at(5.0, fired.append, i)
    sched.run_due(5.0)
    assert fired == list(range(100))


def test_call_later_is_relative_to_clock(sched: Scheduler, clock: ManualClock) -> None:
    clock.set(100.0)
    timer = sched.call_later(2.5, lambda: None)
    assert timer.when == 102.5
    assert sched.next_deadline() == 102.5


def test_args_are_passed(sched: Scheduler) -> None:
    got: list[tuple[int, str]] = []
    sched.call_at(0.0, lambda a, b: got.append((a, b)), 7, "x")
    sched.run_due(0.0)
    assert got == [(7, "x")]


def test_cancel(sched: Scheduler) -> None:
    fired: list[int] = []
    t1 = sched.call_at(1.0, fired.append, 1)
    sched.call_at(2.0, fired.append, 2)
    assert len(sched) == 2
    assert t1.pending
    assert t1.cancel() is True
    assert not t1.pending
    assert t1.cancel() is False  # idempotent, counter not double-decremented
    assert len(sched) == 1
    assert sched.run_due(10.0) == 1
    assert fired == [2]
    assert len(sched) == 0


def test_cancel_after_fire_is_noop(sched: Scheduler) -> None:
    t = sched.call_at(1.0, lambda: None)
    sched.call_at(5.0, lambda: None)
    sched.run_due(1.0)
    assert not t.pending
    assert t.cancel() is False
    assert len(sched) == 1


def test_cancel_drops_args_reference(sched: Scheduler) -> None:
    payload = object()
    t = sched.call_at(1.0, lambda _: None, payload)
    sched.call_at(2.0, lambda: None)
    t.cancel()
    assert all(payload not in entry[3] for bucket in sched._buckets.values() for entry in bucket[1:])


def test_next_deadline_skips_cancelled(sched: Scheduler) -> None:
    assert sched.next_deadline() is None
    t = sched.call_at(1.0, lambda: None)
    sched.call_at(4.0, lambda: None)
    sched.call_at(9.0, lambda: None)
    t.cancel()
    assert sched.next_deadline() == 4.0
    assert len(sched) == 2


def test_len_counts_live_timers(sched: Scheduler) -> None:
    timers = [sched.call_at(float(i), lambda: None) for i in range(10)]
    assert len(sched) == 10
    for t in timers[:3]:
        t.cancel()
    assert len(sched) == 7
    sched.run_due(5.0)  # fires 3, 4, 5; skips cancelled 0..2
    assert len(sched) == 4


def test_compaction_when_cancelled_exceed_half(sched: Scheduler) -> None:
    timers = [sched.call_at(float(i), lambda: None) for i in range(100)]
    for t in timers[:50]:
        t.cancel()
    # Exactly half cancelled: not yet compacted.
    assert sched._size == 100
    timers[50].cancel()
    # More than half: dead entries removed.
    assert sched._size == 49
    assert len(sched) == 49
    assert sched._cancelled == 0
    assert sched.next_deadline() == 51.0


def test_compaction_keeps_order(sched: Scheduler) -> None:
    fired: list[int] = []
    timers = [sched.call_at(float(i % 17), fired.append, i) for i in range(200)]
    for t in timers[::2] + timers[1::4]:
        t.cancel()
    survivors = [i for i in range(200) if i % 2 == 1 and i % 4 != 1]
    sched.run_due(100.0)
    assert fired == sorted(survivors, key=lambda i: (i % 17, i))


def test_mass_cancel_bounds_heap(sched: Scheduler) -> None:
    for i in range(10_000):
        sched.call_at(float(i), lambda: None).cancel()
    assert len(sched) == 0
    assert sched._size <= 1
    assert len(sched._buckets) <= 1


def test_exception_is_logged_and_isolated(
    sched: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    fired: list[int] = []

    def boom() -> None:
        raise RuntimeError("kaboom")

    sched.call_at(1.0, fired.append, 1)
    sched.call_at(1.0, boom)
    sched.call_at(1.0, fired.append, 2)
    with caplog.at_level(logging.ERROR, logger="carrier_sim.scheduler"):
        assert sched.run_due(1.0) == 3
    assert fired == [1, 2]
    records = [r for r in caplog.records if r.name == "carrier_sim.scheduler"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert "kaboom" in str(records[0].exc_info[1])


def test_limit_batches(sched: Scheduler) -> None:
    fired: list[int] = []
    for i in range(25):
        sched.call_at(0.0, fired.append, i)
    assert sched.run_due(0.0, limit=10) == 10
    assert fired == list(range(10))
    assert sched.run_due(0.0, limit=10) == 10
    assert sched.run_due(0.0, limit=10) == 5
    assert sched.run_due(0.0, limit=10) == 0
    assert fired == list(range(25))


def test_limit_zero_runs_nothing(sched: Scheduler) -> None:
    sched.call_at(0.0, lambda: None)
    assert sched.run_due(0.0, limit=0) == 0
    assert len(sched) == 1
    with pytest.raises(ValueError):
        sched.run_due(0.0, limit=-1)


def test_limit_does_not_count_cancelled(sched: Scheduler) -> None:
    fired: list[int] = []
    timers = [sched.call_at(0.0, fired.append, i) for i in range(6)]
    timers[0].cancel()
    timers[1].cancel()
    assert sched.run_due(0.0, limit=3) == 3
    assert fired == [2, 3, 4]


def test_nested_scheduling_due_now_runs_in_same_call(
    sched: Scheduler, clock: ManualClock
) -> None:
    fired: list[str] = []

    def parent() -> None:
        fired.append("parent")
        sched.call_at(clock.now(), fired.append, "child-now")
        sched.call_later(0.0, fired.append, "child-later0")
        sched.call_later(1.0, fired.append, "child-future")

    sched.call_at(0.0, parent)
    sched.call_at(0.0, fired.append, "sibling")
    assert sched.run_due() == 4
    # Children queue behind the already-due sibling (FIFO at equal deadline).
    assert fired == ["parent", "sibling", "child-now", "child-later0"]
    assert len(sched) == 1
    clock.advance(1.0)
    assert sched.run_due() == 1
    assert fired[-1] == "child-future"


def test_callback_can_cancel_later_timer(sched: Scheduler) -> None:
    fired: list[str] = []
    victim = sched.call_at(1.0, fired.append, "victim")
    sched.call_at(0.5, victim.cancel)
    assert sched.run_due(2.0) == 1
    assert fired == []
    assert len(sched) == 0


def test_clear(sched: Scheduler) -> None:
    fired: list[int] = []
    t = sched.call_at(1.0, fired.append, 1)
    sched.call_at(2.0, fired.append, 2)
    sched.clear()
    assert len(sched) == 0
    assert sched.next_deadline() is None
    assert t.cancel() is False
    assert len(sched) == 0  # a stale cancel must not push len negative
    assert sched.run_due(10.0) == 0
    assert fired == []


@settings(max_examples=200, deadline=None)
@given(
    deadlines=st.lists(
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False), max_size=200
    ),
    cancel_mask=st.lists(st.booleans(), max_size=200),
)
def test_fires_in_sorted_order_property(
    deadlines: list[float], cancel_mask: list[bool]
) -> None:
    sched = Scheduler(ManualClock())
    fired: list[tuple[float, int]] = []
    timers = [
        sched.call_at(when, fired.append, (when, i)) for i, when in enumerate(deadlines)
    ]
    expected = []
    for i, (when, t) in enumerate(zip(deadlines, timers)):
        if i < len(cancel_mask) and cancel_mask[i]:
            t.cancel()
        else:
            expected.append((when, i))
    assert len(sched) == len(expected)
    assert sched.run_due(1e6) == len(expected)
    # (when, insertion index): sorted by deadline, ties FIFO.
    assert fired == sorted(expected)
    assert len(sched) == 0


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_run_manual_clock_fires_an_hour_of_timers_fast() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    fired: list[float] = []
    n = 10_000
    for i in range(n):
        # Spread over the hour, out of order.
        sched.call_at(((i * 7919) % n) * 3600.0 / n + 0.01, fired.append, i)
    task = asyncio.create_task(sched.run(batch=1000))
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert fired == []  # nothing due before the clock moves
        start = time.perf_counter()
        clock.advance(3600.0)
        await _wait_for(lambda: len(fired) == n)
        elapsed = time.perf_counter() - start
        assert elapsed < 1.0, elapsed
        assert len(sched) == 0
        # A timer added after the jump, in the future, waits for the next jump.
        sched.call_later(10.0, fired.append, -1)
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(fired) == n
        clock.advance(10.0)
        await _wait_for(lambda: len(fired) == n + 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.asyncio
async def test_run_yields_between_batches() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    fired: list[int] = []
    for i in range(50):
        sched.call_at(0.0, fired.append, i)
    observed: list[int] = []

    async def observer() -> None:
        # Runs between scheduler batches only if the driver really yields.
        while len(fired) < 50:
            observed.append(len(fired))
            await asyncio.sleep(0)

    task = asyncio.create_task(sched.run(batch=10))
    obs = asyncio.create_task(observer())
    try:
        await asyncio.wait_for(obs, 5.0)
        assert fired == list(range(50))
        assert any(0 < k < 50 for k in observed), observed
        assert all(k % 10 == 0 for k in observed), observed
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.asyncio
async def test_run_system_clock_fires_near_deadline() -> None:
    clock = SystemClock()
    sched = Scheduler(clock)
    fired_at: list[float] = []
    task = asyncio.create_task(sched.run())
    try:
        await asyncio.sleep(0)  # let the driver start waiting
        deadline = clock.now() + 0.05
        sched.call_at(deadline, lambda: fired_at.append(clock.now()))
        await _wait_for(lambda: bool(fired_at), timeout=5.0)
        assert fired_at[0] >= deadline  # never early
        assert fired_at[0] - deadline < 1.0  # generous: CI machines stall
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.asyncio
async def test_run_wakes_for_earlier_timer() -> None:
    clock = SystemClock()
    sched = Scheduler(clock)
    fired: list[str] = []
    sched.call_later(60.0, fired.append, "late")
    task = asyncio.create_task(sched.run())
    try:
        await asyncio.sleep(0.01)  # driver is now sleeping ~60 s
        sched.call_later(0.02, fired.append, "early")
        await asyncio.wait_for(_wait_for(lambda: bool(fired)), 5.0)
        assert fired == ["early"]
        assert len(sched) == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.asyncio
async def test_run_cancel_is_clean_and_restartable() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await sched.run()  # only one driver at a time
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    # The heap survives; a new driver picks up where the old one stopped.
    fired: list[int] = []
    sched.call_at(1.0, fired.append, 1)
    clock.advance(1.0)  # no driver: listener is a no-op
    assert fired == []
    task2 = asyncio.create_task(sched.run())
    try:
        await _wait_for(lambda: fired == [1])
    finally:
        task2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task2


@pytest.mark.parametrize("use_uvloop", [False, True])
def test_a_zero_delay_timer_added_by_a_callback_leaves_one_driver(use_uvloop: bool) -> None:
    # A callback that adds a zero-delay timer (as the webhook mailbox does) used to leave the loop
    # timer it armed orphaned next to the driver's call_soon, and every orphan became another driver:
    # tens of thousands of wake-ups a second with a few timers a millisecond apart.
    fires = 0

    class Counting(Scheduler):
        __slots__ = ()

        def _fire(self) -> None:
            nonlocal fires
            fires += 1
            super()._fire()

    async def scenario() -> tuple[int, int]:
        sched = Counting(SystemClock())
        task = asyncio.create_task(sched.run())
        await asyncio.sleep(0)
        ran = 0

        def flush() -> None:
            nonlocal ran
            ran += 1

        def tick() -> None:
            sched.call_later(0.0, flush)  # due at once, and earlier than the next tick
            sched.call_later(0.002, tick)

        sched.call_later(0.002, tick)
        sched.call_later(10.0, lambda: None)  # something far off keeps the heap non-empty
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return ran, fires

    if use_uvloop:
        uvloop = pytest.importorskip("uvloop")
        ran, fired = uvloop.run(scenario())
    else:
        ran, fired = asyncio.run(scenario())
    assert ran > 50, "the zero-delay timers ran"
    # Two or three wake-ups a tick (the tick, its flush, at most one early): well under a thousand.
    assert fired < 6 * ran, f"{fired} wake-ups for {ran} ticks: more than one driver"


_OPERATIONS = st.lists(
    st.one_of(
        # Deadlines a few milliseconds apart with sub-millisecond offsets, so buckets are shared,
        # filled out of order and cut part-way by run_due().
        st.tuples(st.just("add"), st.integers(0, 40).map(lambda n: n * 0.00025)),
        st.tuples(st.just("cancel"), st.integers(0, 200)),
        st.tuples(st.just("run"), st.integers(0, 40).map(lambda n: n * 0.00025),
                  st.none() | st.integers(0, 5)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(operations=_OPERATIONS)
def test_buckets_fire_exactly_as_a_sorted_queue(operations: list[tuple]) -> None:
    # The model: every live timer in one list, fired in (when, insertion) order.
    sched = Scheduler(ManualClock())
    fired: list[int] = []
    model_fired: list[int] = []
    timers = []
    live: dict[int, float] = {}
    for operation in operations:
        if operation[0] == "add":
            index = len(timers)
            timers.append(sched.call_at(operation[1], fired.append, index))
            live[index] = operation[1]
        elif operation[0] == "cancel":
            if operation[1] < len(timers):
                assert timers[operation[1]].cancel() == (operation[1] in live)
                live.pop(operation[1], None)
        else:
            _, now, limit = operation
            due = sorted((when, index) for index, when in live.items() if when <= now)[:limit]
            assert sched.run_due(now, limit=limit) == len(due)
            for _, index in due:
                model_fired.append(index)
                del live[index]
        assert fired == model_fired
        assert len(sched) == len(live)
        expected_next = min(live.values(), default=None)
        assert sched.next_deadline() == expected_next


def test_a_callback_adding_an_earlier_timer_in_the_same_bucket_runs_it_in_order(sched: Scheduler) -> None:
    fired: list[str] = []

    def first() -> None:
        fired.append("first")
        sched.call_at(0.0004, fired.append, "added")  # before "last", in the bucket being run

    sched.call_at(0.0002, first)
    sched.call_at(0.0008, fired.append, "last")
    assert sched.run_due(0.0009) == 3
    assert fired == ["first", "added", "last"]


@pytest.mark.parametrize("when", [float("inf"), float("-inf"), float("nan")])
def test_a_deadline_that_is_not_a_finite_number_is_refused(sched: Scheduler, when: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        sched.call_at(when, lambda: None)
    assert len(sched) == 0
