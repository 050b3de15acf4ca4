"""The timer queue's per-timer work in pure Python: the twin of the compiled one in `_speedups.c`.

`Scheduler` (scheduler.py) builds on whichever of the two is in use, adding the event-loop driver,
clearing and the compaction of cancelled timers.
"""

from __future__ import annotations

import logging
from heapq import heappop, heappush
from typing import Any, Callable

_log = logging.getLogger("carrier_sim.scheduler")

# Entry layout: [when, seq, callback, args]. A mutable list so cancel() can
# blank the callback in place (lazy deletion) without searching the queue;
# ``seq`` is unique, so comparisons never reach the callback.
WHEN, CALLBACK, ARGS = 0, 2, 3

# Timers are kept in one FIFO bucket per millisecond of deadline (a hashed timing wheel with a
# heap of its occupied slots), so a receipt costs an append, not a push through a heap of every
# pending receipt; the heap only sees a new millisecond.
TICKS_PER_SECOND = 1000
# A bucket is a list: [index of its next entry, entry, entry, ...]. A list, not a deque: a deque
# costs 760 bytes, and with spread-out deadlines most buckets hold one timer.
FIRST = 1


def report_failure(callback: Callable[..., Any], error: BaseException) -> None:
    """A timer's callback raised: log it; the queue carries on with the next timer."""
    _log.error("timer callback %r failed", callback, exc_info=error)


class Timer:
    """Handle for one scheduled callback; only ``cancel()`` is needed by callers."""

    __slots__ = ("_entry", "_scheduler")

    def __init__(self, entry: list[Any], scheduler: TimerQueue) -> None:
        self._entry = entry
        self._scheduler = scheduler

    @property
    def when(self) -> float:
        """Monotonic deadline the timer was scheduled for."""
        return self._entry[WHEN]

    @property
    def pending(self) -> bool:
        """True until the timer fires, is cancelled or the scheduler is cleared."""
        return self._entry[CALLBACK] is not None

    def cancel(self) -> bool:
        """Cancel the timer; return False if it already fired or was cancelled."""
        entry = self._entry
        if entry[CALLBACK] is None:
            return False
        entry[CALLBACK] = None
        # Drop the args now: receipts hold message objects and a cancelled
        # entry can sit in its bucket until its deadline.
        entry[ARGS] = ()
        self._scheduler._cancelled_one()
        return True

    def __repr__(self) -> str:
        state = "pending" if self.pending else "done"
        return f"<Timer when={self._entry[WHEN]!r} {state}>"


class TimerQueue:
    """Timers in millisecond buckets: scheduling, firing in exact (when, seq) order, the next deadline.

    The base of `Scheduler`, which keeps these attributes and provides two methods called from here:
    `_arm(when)`, when a timer becomes the earliest while `_loop` drives the queue, and
    `_cancelled_one()`, from `Timer.cancel()`.
    """

    __slots__ = ("_now", "_buckets", "_ticks", "_unsorted", "_size", "_seq", "_cancelled", "_loop")

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now  # the clock's now(), bound once: read on every call_later/run_due
        self._buckets: dict[int, list[Any]] = {}  # millisecond tick -> [next index, entries...]
        self._ticks: list[int] = []  # heap of the ticks that have a bucket
        self._unsorted: set[int] = set()  # buckets an entry joined out of deadline order
        self._size = 0  # entries in the buckets, cancelled ones included
        self._seq = 0
        self._cancelled = 0  # cancelled entries still in a bucket
        self._loop: Any = None  # the event loop driving the queue, if any

    def _arm(self, when: float) -> None:
        raise NotImplementedError

    def _cancelled_one(self) -> None:
        raise NotImplementedError

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` once the monotonic clock reaches ``when``."""
        try:
            tick = int(when * TICKS_PER_SECOND)
        except (OverflowError, ValueError):
            raise ValueError(f"a timer's deadline must be a finite number, not {when!r}") from None
        seq = self._seq
        self._seq = seq + 1
        entry = [when, seq, callback, args]
        self._size += 1
        bucket = self._buckets.get(tick)
        if bucket is not None:
            if when < bucket[-1][WHEN]:  # a bucket is removed once used up, so [-1] is still waiting
                self._unsorted.add(tick)
            bucket.append(entry)
            # Only the earliest bucket can need the driver sooner; the common case (a receipt
            # later than what is already queued) costs nothing more than the append.
            if tick == self._ticks[0] and self._loop is not None:
                self._arm(when)
        else:
            ticks = self._ticks
            self._buckets[tick] = [FIRST, entry]
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
            while index < size and bucket[index][CALLBACK] is None:
                index += 1
                self._size -= 1
                self._cancelled -= 1
            bucket[0] = index
            if index < size:
                return bucket[index][WHEN]
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
            if entry[WHEN] > now:
                break
            index += 1
            self._size -= 1
            if index == len(bucket):
                del buckets[tick]
                heappop(ticks)
            else:
                bucket[0] = index
            callback = entry[CALLBACK]
            if callback is None:
                self._cancelled -= 1
                continue
            args = entry[ARGS]
            # Mark as fired before calling, so a late cancel() from inside the
            # callback (or after) is a no-op and cannot skew the counter.
            entry[CALLBACK] = None
            entry[ARGS] = ()
            count += 1
            try:
                callback(*args)
            except Exception as error:
                report_failure(callback, error)
        return count
