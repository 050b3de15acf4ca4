"""One timer heap for the whole carrier: every delayed action (receipts, expiries, retries) goes through it."""

from __future__ import annotations

import asyncio
import logging
from heapq import heapify, heappop, heappush
from typing import Any, Callable

from simulator.core.clock import Clock

__all__ = ["Scheduler", "Timer"]

_log = logging.getLogger("carrier_sim.scheduler")

# Entry layout: [when, seq, callback, args]. A mutable list so cancel() can
# blank the callback in place (lazy deletion) without searching the heap;
# ``seq`` is unique, so comparisons never reach the callback.
_WHEN = 0
_CB = 2
_ARGS = 3


class Timer:
    """Handle for one scheduled callback; only ``cancel()`` is needed by callers."""

    __slots__ = ("_entry", "_scheduler")

    def __init__(self, entry: list[Any], scheduler: Scheduler) -> None:
        self._entry = entry
        self._scheduler = scheduler

    @property
    def when(self) -> float:
        """Monotonic deadline the timer was scheduled for."""
        return self._entry[_WHEN]

    @property
    def pending(self) -> bool:
        """True until the timer fires, is cancelled or the scheduler is cleared."""
        return self._entry[_CB] is not None

    def cancel(self) -> bool:
        """Cancel the timer; return False if it already fired or was cancelled."""
        entry = self._entry
        if entry[_CB] is None:
            return False
        entry[_CB] = None
        # Drop the args now: receipts hold message objects and a cancelled
        # entry can sit in the heap until its deadline.
        entry[_ARGS] = ()
        self._scheduler._cancelled_one()
        return True

    def __repr__(self) -> str:
        state = "pending" if self.pending else "done"
        return f"<Timer when={self._entry[_WHEN]!r} {state}>"


class Scheduler:
    """A binary heap of timers driven by a single asyncio task (``run()``).

    Callbacks are plain synchronous functions run on the event loop thread;
    to do async work, a callback should create a task itself. Not thread-safe:
    schedule and cancel only from the loop thread. A callback that keeps
    rescheduling itself at or before ``now`` makes an unbounded ``run_due()``
    loop forever; the ``run()`` driver always passes a limit, so it yields.
    """

    __slots__ = ("_clock", "_now", "_heap", "_seq", "_cancelled", "_event", "_running")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._now = clock.now  # bound once: read on every call_later/run_due
        self._heap: list[list[Any]] = []
        self._seq = 0
        self._cancelled = 0  # cancelled entries still in the heap
        self._event: asyncio.Event | None = None
        self._running = False
        # A ManualClock jump must wake the driver, which otherwise waits
        # forever (its sleep_hint is None).
        clock.add_listener(self.wake)

    @property
    def clock(self) -> Clock:
        return self._clock

    def __len__(self) -> int:
        """Number of live (not cancelled, not yet fired) timers."""
        return len(self._heap) - self._cancelled

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` once the monotonic clock reaches ``when``."""
        heap = self._heap
        seq = self._seq
        self._seq = seq + 1
        entry = [when, seq, callback, args]
        # Only a new earliest deadline shortens the driver's sleep; the common
        # case (a receipt later than what is already queued) must not wake it.
        if self._event is not None and (not heap or when < heap[0][_WHEN]):
            self._event.set()
        heappush(heap, entry)
        return Timer(entry, self)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        return self.call_at(self._now() + delay, callback, *args)

    def next_deadline(self) -> float | None:
        """Earliest live deadline, or None when nothing is scheduled."""
        heap = self._heap
        # Drop cancelled entries from the top so the answer is a live timer.
        while heap and heap[0][_CB] is None:
            heappop(heap)
            self._cancelled -= 1
        return heap[0][_WHEN] if heap else None

    def run_due(self, now: float | None = None, *, limit: int | None = None) -> int:
        """Run every timer due at ``now`` (default: clock.now()) in (when, seq) order.

        Timers that callbacks add with a deadline <= ``now`` run in the same
        call. At most ``limit`` callbacks run (None = no bound). Returns the
        number of callbacks run, including those that raised (logged, then
        skipped over).
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if now is None:
            now = self._now()
        heap = self._heap  # compaction mutates in place, so this stays valid
        count = 0
        while heap and count != limit:
            entry = heap[0]
            if entry[_WHEN] > now:
                break
            heappop(heap)
            callback = entry[_CB]
            if callback is None:
                self._cancelled -= 1
                continue
            args = entry[_ARGS]
            # Mark as fired before calling, so a late cancel() from inside the
            # callback (or after) is a no-op and cannot skew the counter.
            entry[_CB] = None
            entry[_ARGS] = ()
            count += 1
            try:
                callback(*args)
            except Exception:
                _log.exception("timer callback %r failed", callback)
        return count

    def clear(self) -> None:
        """Drop every timer; outstanding Timer handles become no-ops."""
        for entry in self._heap:
            entry[_CB] = None
            entry[_ARGS] = ()
        self._heap.clear()
        self._cancelled = 0
        # A sleeping driver can recompute (it will now wait indefinitely).
        self.wake()

    def wake(self) -> None:
        """Make the ``run()`` driver re-check the heap now (clock listener / new earliest timer)."""
        event = self._event
        if event is not None:
            event.set()

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        heap = self._heap
        # Compact once dead entries dominate, so mass cancellation (e.g. an
        # unbind dropping pending receipts) cannot grow the heap unboundedly.
        # Amortised O(1) per cancel because the counter resets to zero.
        if self._cancelled * 2 > len(heap):
            heap[:] = [e for e in heap if e[_CB] is not None]
            heapify(heap)
            self._cancelled = 0

    async def run(self, *, batch: int = 1000) -> None:
        """Drive the heap for the server's lifetime; cancel the task to stop it.

        Runs at most ``batch`` callbacks between yields to the event loop so a
        backlog never starves network I/O.
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if self._running:
            raise RuntimeError("Scheduler.run() is already running")
        self._running = True
        loop = asyncio.get_running_loop()
        event = self._event = asyncio.Event()
        clock = self._clock
        try:
            while True:
                # Clear before running: a wake() raised by a callback below
                # must survive to short-circuit the wait at the bottom.
                event.clear()
                self.run_due(limit=batch)
                deadline = self.next_deadline()
                if deadline is not None and deadline <= clock.now():
                    # More due (batch limit hit, or a callback added one):
                    # yield one loop iteration, then continue.
                    await asyncio.sleep(0)
                    continue
                timeout = None if deadline is None else clock.sleep_hint(deadline)
                if timeout is None:
                    await event.wait()
                else:
                    # A loop timer that sets the event is cheaper than
                    # asyncio.wait_for (no extra task per wait).
                    handle = loop.call_later(timeout, event.set)
                    try:
                        await event.wait()
                    finally:
                        handle.cancel()
        finally:
            self._event = None
            self._running = False
