"""Back-off after throttling: one pause per burst, doubling; AIMD on what may be in flight."""

from __future__ import annotations

from loadtests.flow import FlowControl


def test_a_burst_of_throttled_answers_pauses_once_and_halves_the_cap():
    flow = FlowControl(10, base=0.05, maximum=2.0)
    for _ in range(10):  # a whole window answered 0x58 at once
        flow.throttled(now=1.0)
    assert (flow.pause_until, flow.pause, flow.allowed, flow.capped) == (1.05, 0.1, 5, True)
    flow.throttled(now=1.06)  # the next burst, after the pause: escalates
    assert (round(flow.pause_until, 3), flow.pause, flow.allowed) == (1.16, 0.2, 2)


def test_successes_regrow_the_cap_by_one_per_window_and_shrink_the_pause():
    flow = FlowControl(4, base=0.05, maximum=2.0)
    for now in (1.0, 2.0, 3.0):
        flow.throttled(now)
    assert (flow.allowed, flow.pause) == (1, 0.4)
    flow.succeeded()
    assert (flow.allowed, flow.pause) == (2, 0.2)
    for _ in range(2 + 3):
        flow.succeeded()
    assert (flow.allowed, flow.pause, flow.capped) == (4, 0.05, False)
    for _ in range(20):
        flow.succeeded()
    assert flow.allowed == 4 and flow.pause == 0.05
