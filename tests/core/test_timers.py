"""The compiled timer queue does exactly what its pure-Python twin (timers.py) does, and leaks nothing."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core import timers
from simulator.speedups import load

from ..test_speedups import LEAK_BOUND, REQUIRED, memory_grown

compiled = load("simulator.core._speedups")
pytestmark = pytest.mark.skipif(compiled is None and not REQUIRED, reason="built without a C compiler")


def _queue(base: type, now: list[float]):
    """A bare queue on `base`, recording what Scheduler's two hooks would be asked."""

    class Queue(base):  # type: ignore[misc,valid-type]
        __slots__ = ("armed", "cancels")

        def __init__(self) -> None:
            super().__init__(lambda: now[0])
            self.armed: list[float] = []
            self.cancels = 0

        def _arm(self, when: float) -> None:
            self.armed.append(when)

        def _cancelled_one(self) -> None:
            self._cancelled += 1
            self.cancels += 1

    return Queue()


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("at"), st.integers(0, 30).map(lambda n: n * 0.0003)),
        st.tuples(st.just("later"), st.integers(0, 30).map(lambda n: n * 0.0003)),
        st.tuples(st.just("adds"), st.integers(0, 30).map(lambda n: n * 0.0003)),  # a callback that adds a timer
        st.tuples(st.just("raises"), st.integers(0, 30).map(lambda n: n * 0.0003)),  # a callback that raises
        st.tuples(st.just("cancel"), st.integers(0, 60)),
        st.tuples(st.just("run"), st.integers(0, 30).map(lambda n: n * 0.0003), st.none() | st.integers(0, 4)),
        st.tuples(st.just("next"), st.none()),
        st.tuples(st.just("clock"), st.integers(0, 30).map(lambda n: n * 0.0003)),
        st.tuples(st.just("drive"), st.booleans()),
    ),
    max_size=80,
)


def _play(base: type, steps: list[tuple]) -> list:
    now = [0.0]
    queue = _queue(base, now)
    seen: list = []
    handles = []

    def adder(label: int, when: float) -> None:
        seen.append(("fired", label))
        handles.append(queue.call_at(when, seen.append, ("added", label)))

    def failing(label: int) -> None:
        seen.append(("fired", label))
        raise RuntimeError(f"timer {label} fails")

    for index, step in enumerate(steps):
        kind = step[0]
        if kind == "at":
            handles.append(queue.call_at(step[1], seen.append, ("fired", index)))
        elif kind == "later":
            handles.append(queue.call_later(step[1], seen.append, ("fired", index)))
        elif kind == "adds":
            handles.append(queue.call_at(step[1], adder, index, step[1] / 2))
        elif kind == "raises":
            handles.append(queue.call_at(step[1], failing, index))
        elif kind == "cancel":
            if step[1] < len(handles):
                timer = handles[step[1]]
                seen.append(("cancel", timer.cancel(), timer.pending, timer.when))
        elif kind == "run":
            seen.append(("ran", queue.run_due(step[1], limit=step[2])))
        elif kind == "next":
            seen.append(("next", queue.next_deadline()))
        elif kind == "clock":
            now[0] = step[1]
            seen.append(("ran at the clock", queue.run_due()))
        else:
            queue._loop = object() if step[1] else None  # driven: new earliest deadlines ask to be armed
        seen.append((queue._size, queue._seq, queue._cancelled, sorted(queue._buckets), sorted(queue._ticks),
                     sorted(queue._unsorted), queue.armed[-1:], queue.cancels))
    return seen


@settings(max_examples=400, deadline=None)
@given(steps=_STEPS)
def test_the_compiled_queue_behaves_as_its_python_twin(steps: list[tuple]) -> None:
    logging.getLogger("carrier_sim.scheduler").disabled = True  # the failing callbacks are expected
    try:
        assert _play(compiled.TimerQueue, steps) == _play(timers.TimerQueue, steps)
    finally:
        logging.getLogger("carrier_sim.scheduler").disabled = False


def test_a_failing_callback_is_logged_with_its_traceback_and_the_queue_carries_on(caplog):
    queue = _queue(compiled.TimerQueue, [0.0])
    fired = []

    def broken() -> None:
        raise ValueError("boom")

    queue.call_at(0.001, broken)
    queue.call_at(0.002, fired.append, "after")
    with caplog.at_level(logging.ERROR, logger="carrier_sim.scheduler"):
        assert queue.run_due(1.0) == 2
    assert fired == ["after"]
    record = caplog.records[0]
    assert "timer callback" in record.getMessage() and record.exc_info[0] is ValueError
    assert record.exc_info[2] is not None  # the traceback reaches the log


def test_a_base_exception_from_a_callback_propagates():
    queue = _queue(compiled.TimerQueue, [0.0])

    def interrupted() -> None:
        raise KeyboardInterrupt

    queue.call_at(0.001, interrupted)
    with pytest.raises(KeyboardInterrupt):
        queue.run_due(1.0)
    assert len(queue._buckets) == 0 and queue._size == 0


@pytest.mark.parametrize("when", [float("inf"), float("-inf"), float("nan")])
def test_deadlines_that_are_not_finite_numbers_are_refused_alike(when):
    for base in (compiled.TimerQueue, timers.TimerQueue):
        with pytest.raises(ValueError, match="finite"):
            _queue(base, [0.0]).call_at(when, print)


def test_the_compiled_queue_leaks_nothing():
    now = [0.0]
    queue = _queue(compiled.TimerQueue, now)
    sink = []

    def exercise(rounds: int) -> None:
        for round_ in range(rounds):
            now[0] = round_ * 0.001
            queue.call_later(0.002, sink.append, round_)
            queue.call_later(0.0025, sink.append, round_).cancel()
            queue.call_at(now[0] + 0.0001, sink.append, round_)
            queue.next_deadline()
            queue.run_due()
            sink.clear()

    assert memory_grown(exercise) < LEAK_BOUND
