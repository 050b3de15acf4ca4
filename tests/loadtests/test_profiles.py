"""Load shapes as functions of time, and the open model's schedule."""

from __future__ import annotations

from loadtests.pacing import ArrivalSchedule, Budget, share
from loadtests.profiles import Profile


def test_shapes():
    assert [Profile("ramp", 10, 10).users_at(t) for t in (0, 2.5, 5, 10, 20)] == [1, 3, 5, 10, 10]
    assert [Profile("step", 10, 10, steps=5).users_at(t) for t in (0, 1.9, 2, 9.9)] == [2, 2, 4, 10]
    assert [Profile("spike", 10, 10).users_at(t) for t in (1, 4, 5.9, 6, 9)] == [2, 10, 10, 2, 2]
    assert {Profile(shape, 7, 10).users_at(t) for shape in ("constant", "soak", "burst") for t in (0, 5, 50)} == {7}


def test_arrival_schedule_never_slows_down_for_a_late_sender():
    now = [0.0]
    schedule = ArrivalSchedule(100.0, clock=lambda: now[0])
    slots = [schedule.next_slot() for _ in range(3)]
    assert slots == [0.0, 0.01, 0.02]
    now[0] = 1.0  # the sender was held up for a second: the next intended time is still 0.03
    assert schedule.next_slot() == 0.03


def test_budget_and_shares():
    budget = Budget(2)
    assert [budget.take(), budget.take(), budget.take()] == [True, True, False] and budget.exhausted
    assert [share(10, 3, i) for i in range(3)] == [4, 3, 3]
    assert share(1000.0, 4, 0) == 250.0
