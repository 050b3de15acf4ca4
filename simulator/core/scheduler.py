"""One timer queue for the whole carrier: every delayed action (receipts, expiries, retries) goes through it."""

from __future__ import annotations

import asyncio
import logging
from heapq import heapify, heappop, heappush
from typing import Any, Callable

from simulator.core.clock import Clock

__all__ = ["Scheduler", "Timer"]

_log = logging.getLogger("carrier_sim.scheduler")

# Entry layout: [when, seq, callback, args]. A mutable list so cancel() can
# blank the callback in place (lazy deletion) without searching the queue;
# ``seq`` is unique, so comparisons never reach the callback.
_WHEN = 0
_CB = 2
_ARGS = 3

# The driver serves deadlines with this granularity (seconds): receipts due within the same
# millisecond are sent in one batch, and the loop is woken at most ~1,000 times a second.
RESOLUTION = 0.001
# Timers are kept in one FIFO bucket per millisecond of deadline (a hashed timing wheel with a
# heap of its occupied slots), so a receipt costs an append, not a push through a heap of every
# pending receipt; the heap only sees a new millisecond.
_TICKS_PER_SECOND = 1000
# A bucket is a list: [index of its next entry, entry, entry, ...]. A list, not a deque: a deque
# costs 760 bytes, and with spread-out deadlines most buckets hold one timer.
_FIRST = 1


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
        # entry can sit in its bucket until its deadline.
        entry[_ARGS] = ()
        self._scheduler._cancelled_one()
        return True

    def __repr__(self) -> str:
        state = "pending" if self.pending else "done"
        return f"<Timer when={self._entry[_WHEN]!r} {state}>"


class Scheduler:
    """Timers in millisecond buckets, driven by one event-loop timer that ``run()`` keeps armed.

    Timers fire in (deadline, insertion) order, exactly, whatever their bucket. Callbacks are plain
    synchronous functions run on the event loop thread; to do async work, a callback should create a
    task itself. Not thread-safe: schedule and cancel only from the loop thread. A callback that
    keeps rescheduling itself at or before ``now`` makes an unbounded ``run_due()`` loop forever;
    the ``run()`` driver always passes a limit, so it yields.
    """

    __slots__ = ("_clock", "_now", "_buckets", "_ticks", "_unsorted", "_size", "_seq", "_cancelled", "_running",
                 "_loop", "_handle", "_armed_at", "_batch")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._now = clock.now  # bound once: read on every call_later/run_due
        self._buckets: dict[int, list[Any]] = {}  # millisecond tick -> [next index, entries...]
        self._ticks: list[int] = []  # heap of the ticks that have a bucket
        self._unsorted: set[int] = set()  # buckets an entry joined out of deadline order
        self._size = 0  # entries in the buckets, cancelled ones included
        self._seq = 0
        self._cancelled = 0  # cancelled entries still in a bucket
        self._running = False
        self._loop: asyncio.AbstractEventLoop | None = None
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

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` once the monotonic clock reaches ``when``."""
        try:
            tick = int(when * _TICKS_PER_SECOND)
        except (OverflowError, ValueError):
            raise ValueError(f"a timer's deadline must be a finite number, not {when!r}") from None
        seq = self._seq
        self._seq = seq + 1
        entry = [when, seq, callback, args]
        self._size += 1
        bucket = self._buckets.get(tick)
        if bucket is not None:
            if when < bucket[-1][_WHEN]:  # a bucket is removed once used up, so [-1] is still waiting
                self._unsorted.add(tick)
            bucket.append(entry)
            # Only the earliest bucket can need the driver sooner; the common case (a receipt
            # later than what is already queued) costs nothing more than the append.
            if tick == self._ticks[0] and self._loop is not None:
                self._arm(when)
        else:
            ticks = self._ticks
            self._buckets[tick] = [_FIRST, entry]
            earliest = not ticks or tick < ticks[0]
            heappush(ticks, tick)
            if earliest and self._loop is not None:
                self._arm(when)
        return Timer(entry, self)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        return self.call_at(self._now() + delay, callback, *args)

    def _sort(self, tick: int, bucket: list[Any]) -> None:
        """Put the waiting part of a bucket an entry joined out of order back in (when, seq) order."""
        self._unsorted.discard(tick)
        bucket[bucket[0]:] = sorted(bucket[bucket[0]:])

    def next_deadline(self) -> float | None:
        """Earliest live deadline, or None when nothing is scheduled."""
        ticks = self._ticks
        buckets = self._buckets
        while ticks:
            tick = ticks[0]
            bucket = buckets[tick]
            if tick in self._unsorted:
                self._sort(tick, bucket)
            index = bucket[0]
            size = len(bucket)
            # Drop cancelled entries from the front so the answer is a live timer.
            while index < size and bucket[index][_CB] is None:
                index += 1
                self._size -= 1
                self._cancelled -= 1
            bucket[0] = index
            if index < size:
                return bucket[index][_WHEN]
            del buckets[tick]
            heappop(ticks)
        return None

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
        count = 0
        ticks = self._ticks
        buckets = self._buckets
        unsorted = self._unsorted
        while ticks and count != limit:
            tick = ticks[0]
            bucket = buckets[tick]
            if tick in unsorted:
                self._sort(tick, bucket)
            index = bucket[0]
            entry = bucket[index]
            if entry[_WHEN] > now:
                break
            index += 1
            self._size -= 1
            if index == len(bucket):
                del buckets[tick]
                heappop(ticks)
            else:
                bucket[0] = index
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
        for bucket in self._buckets.values():
            for entry in bucket[bucket[0]:]:
                entry[_CB] = None
                entry[_ARGS] = ()
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
            live_buckets = {tick: [_FIRST, *live] for tick, bucket in buckets.items()
                            if (live := [e for e in bucket[bucket[0]:] if e[_CB] is not None])}
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
