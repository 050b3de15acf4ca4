"""The one injectable clock: every component reads time through a Clock so tests can fast-forward it."""

from __future__ import annotations

import time
from typing import Callable, Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "ManualClock"]


@runtime_checkable
class Clock(Protocol):
    """Time source for the carrier.

    ``now()`` is monotonic and drives every deadline; ``wall()`` is only for
    values a client sees (receipt dates, API timestamps), because wall time
    can jump under NTP and must never decide when something fires.
    """

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    def wall(self) -> float:
        """Unix epoch seconds."""
        ...

    def sleep_hint(self, deadline: float) -> float | None:
        """Seconds a real waiter should sleep to reach monotonic ``deadline``.

        ``None`` means "sleeping will not get you there; wait until woken by a
        listener" (a manual clock only moves when a test moves it).
        """
        ...

    def add_listener(self, cb: Callable[[], None]) -> None:
        """Register ``cb`` to be called after time jumps (never for real clocks)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.time``."""

    __slots__ = ()

    # staticmethod over the C functions: no Python frame on the hot path.
    now = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    def sleep_hint(self, deadline: float) -> float | None:
        delta = deadline - time.monotonic()
        return delta if delta > 0.0 else 0.0

    def add_listener(self, cb: Callable[[], None]) -> None:
        # Real time never jumps, so there is nothing to notify; storing the
        # callback would only keep its owner alive.
        return None

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to, so tests can run hours of delays instantly.

    ``wall()`` tracks ``now()`` from ``wall_start`` (default 2026-01-01T00:00:00Z)
    so receipt dates stay consistent with the simulated passage of time.
    Listeners run synchronously inside ``advance``/``set``; they must be cheap
    and must not advance the clock themselves.
    """

    __slots__ = ("_now", "_start", "_wall_start", "_listeners")

    def __init__(self, start: float = 0.0, wall_start: float = 1_767_225_600.0) -> None:
        self._now = float(start)
        self._start = self._now
        self._wall_start = float(wall_start)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_start + (self._now - self._start)

    def sleep_hint(self, deadline: float) -> float | None:
        # Sleeping in real time would not move this clock; waiters must wait
        # for a listener notification instead.
        return None

    def add_listener(self, cb: Callable[[], None]) -> None:
        self._listeners.append(cb)

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0), notify listeners, return the new now()."""
        if seconds < 0:
            # A monotonic clock going backwards would make already-fired
            # deadlines "not yet due" and break every consumer's invariants.
            raise ValueError(f"cannot advance by a negative amount: {seconds!r}")
        return self.set(self._now + seconds)

    def set(self, now: float) -> float:
        """Jump to monotonic time ``now`` (not earlier than the current time), notify listeners."""
        if now < self._now:
            raise ValueError(f"monotonic clock cannot go back from {self._now!r} to {now!r}")
        self._now = float(now)
        # Copy so a listener that registers another listener cannot make this
        # loop see a list mutating under it.
        for cb in tuple(self._listeners):
            cb()
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r}, wall={self.wall()!r})"
