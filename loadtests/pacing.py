"""How fast messages go: closed (as fast as the windows allow), open (a constant arrival rate) or a budget.

In the open model every message has an intended send time, fixed in advance by the arrival rate
(t_k = start + k / rate). A sender that is held up -- by a full window, a throttled bind, a slow
gateway -- sends late, and that lateness is measured rather than hidden: the schedule never slows
down to suit the system under test, so coordinated omission shows up in the numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ArrivalSchedule:
    """Intended send times at a constant rate, handed out one per message to whichever sender is free."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.perf_counter) -> None:
        if rate <= 0:
            raise ValueError("an arrival rate must be positive")
        self.rate = rate
        self.clock = clock
        self.start: float | None = None
        self._issued = 0

    def next_slot(self) -> float:
        """The next message's intended send time (perf_counter seconds)."""
        if self.start is None:
            self.start = self.clock()
        slot = self.start + self._issued / self.rate
        self._issued += 1
        return slot

    def wait_for(self, slot: float, sleep: Callable[[float], None]) -> None:
        delay = slot - self.clock()
        if delay > 0:
            sleep(delay)


class Budget:
    """A fixed number of messages for this process (a campaign burst); then sending stops."""

    def __init__(self, total: int) -> None:
        self.remaining = total

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0


def share(total: float, processes: int, index: int) -> float:
    """This process's part of a total split evenly (integers: the remainder goes to the first ones)."""
    processes = max(1, processes)
    if isinstance(total, int):
        return total // processes + (1 if index < total % processes else 0)
    return total / processes
