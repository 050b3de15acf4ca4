"""One timer queue for the whole carrier: every delayed action (receipts, expiries, retries) goes through it."""

from __future__ import annotations

import asyncio
from heapq import heapify

from simulator.core.clock import Clock
from simulator.speedups import load

from . import timers
from .timers import ARGS, CALLBACK, FIRST, TimerQueue

__all__ = ["Scheduler", "Timer"]

# The driver serves deadlines with this granularity (seconds): receipts due within the same
# millisecond are sent in one batch, and the loop is woken at most ~1,000 times a second.
RESOLUTION = 0.001

# The per-timer work compiled, if it was built: scheduling and firing are on every message's path.
_compiled = load("simulator.core._speedups")
if _compiled is not None:
    _compiled.configure(report_failure=timers.report_failure)
    Timer, _Queue = _compiled.Timer, _compiled.TimerQueue
else:
    Timer, _Queue = timers.Timer, TimerQueue


class Scheduler(_Queue):  # type: ignore[valid-type,misc]  # the compiled twin, or TimerQueue
    """Timers in millisecond buckets, driven by one event-loop timer that ``run()`` keeps armed.

    Timers fire in (deadline, insertion) order, exactly, whatever their bucket. Callbacks are plain
    synchronous functions run on the event loop thread; to do async work, a callback should create a
    task itself. Not thread-safe: schedule and cancel only from the loop thread. A callback that
    keeps rescheduling itself at or before ``now`` makes an unbounded ``run_due()`` loop forever;
    the ``run()`` driver always passes a limit, so it yields.
    """

    __slots__ = ("_clock", "_running", "_handle", "_armed_at", "_batch")

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock.now)
        self._clock = clock
        self._running = False
        self._handle: asyncio.Handle | None = None
        self._armed_at: float | None = None  # loop time the driver's timer is set for
        self._batch = 1000
        # A ManualClock jump must wake the driver, which otherwise waits
        # forever (its sleep_hint is None).
        clock.add_listener(self.wake)

    @property
    def clock(self) -> Clock:
        return self._clock

    def __len__(self) -> int:
        """Number of live (not cancelled, not yet fired) timers."""
        return self._size - self._cancelled

    @property
    def scheduled(self) -> int:
        """Timers scheduled since the start, fired and cancelled ones included: a measure of activity."""
        return self._seq

    def clear(self) -> None:
        """Drop every timer; outstanding Timer handles become no-ops."""
        for bucket in self._buckets.values():
            for entry in bucket[bucket[0]:]:
                entry[CALLBACK] = None
                entry[ARGS] = ()
        self._buckets.clear()
        self._ticks.clear()
        self._unsorted.clear()
        self._size = 0
        self._cancelled = 0
        # A sleeping driver can recompute (it will now wait indefinitely).
        self.wake()

    def wake(self) -> None:
        """Make the ``run()`` driver re-check the queue now (clock listener / cleared queue)."""
        loop = self._loop
        if loop is not None and self._armed_at != float("-inf"):
            if self._handle is not None:
                self._handle.cancel()
            self._handle = loop.call_soon(self._fire)
            self._armed_at = float("-inf")

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        # Compact once dead entries dominate, so mass cancellation (e.g. an
        # unbind dropping pending receipts) cannot grow the queue unboundedly.
        # Amortised O(1) per cancel because the counter resets to zero.
        if self._cancelled * 2 > self._size:
            # In place: a run_due() in progress holds these containers.
            buckets = self._buckets
            live_buckets = {tick: [FIRST, *live] for tick, bucket in buckets.items()
                            if (live := [e for e in bucket[bucket[0]:] if e[CALLBACK] is not None])}
            buckets.clear()
            buckets.update(live_buckets)
            self._ticks[:] = buckets
            heapify(self._ticks)
            self._unsorted &= buckets.keys()
            self._size -= self._cancelled
            self._cancelled = 0

    async def run(self, *, batch: int = 1000) -> None:
        """Drive the heap for the server's lifetime; cancel the task to stop it.

        The driver is one event-loop timer armed for the earliest deadline, not a task woken per
        deadline: with thousands of receipts a second that is the difference between one cheap
        callback per millisecond and an Event/Future round trip per receipt. Deadlines are served
        with RESOLUTION granularity. At most ``batch`` callbacks run between yields to the event
        loop, so a backlog never starves network I/O.
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if self._running:
            raise RuntimeError("Scheduler.run() is already running")
        self._running = True
        self._loop = asyncio.get_running_loop()
        self._batch = batch
        self._fire()
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self._loop = None
            self._running = False

    def _fire(self) -> None:
        self._handle = None
        self._armed_at = None
        self.run_due(limit=self._batch)
        deadline = self.next_deadline()
        if deadline is not None and deadline <= self._now():
            # More due (the batch limit was hit, or a callback just added a zero-delay timer): let I/O
            # run, then carry on. A callback may have armed the loop timer meanwhile: cancel it, or it
            # would fire as a second driver, and every such orphan another (70,000 wake-ups a second
            # in the Twilio front end, whose webhook mailbox schedules zero-delay flushes).
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_soon(self._fire)  # type: ignore[union-attr]
            self._armed_at = float("-inf")
            return
        self._arm(deadline)

    def _arm(self, deadline: float | None) -> None:
        loop = self._loop
        if loop is None or deadline is None:
            return
        if deadline <= self._now():
            hint = 0.0  # due already (a zero delay, or a manual clock that has been moved)
        else:
            hint = self._clock.sleep_hint(deadline)
            if hint is None:
                return  # a manual clock: its listener calls wake() when time moves
        delay = max(hint, RESOLUTION)
        when = loop.time() + delay
        armed = self._armed_at
        if armed is not None and armed <= when:
            return  # already armed early enough
        if self._handle is not None:
            self._handle.cancel()
        # call_later with the delay itself, not call_at: uvloop's call_at subtracts its own millisecond
        # clock from `when`, and if that clock has just ticked a 1 ms delay rounds down to 0 ms, which
        # uvloop runs as call_soon.
        self._handle = loop.call_later(delay, self._fire)
        self._armed_at = when
