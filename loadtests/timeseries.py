"""Per-bind time series: each bind (or HTTP user) counts into a meter; the process samples it every second."""

from __future__ import annotations

from .stats import BindSample


class ChannelMeter:
    """This second's counts for one bind, plus its window occupancy (sampled and peak)."""

    __slots__ = ("name", "submitted", "answered_ok", "throttled", "queue_full", "retries", "timeouts",
                 "receipts", "window_max", "_occupancy_sum", "_occupancy_samples", "occupancy")

    def __init__(self, name: str) -> None:
        self.name = name
        self.occupancy = 0  # requests outstanding right now
        self._reset()

    def _reset(self) -> None:
        self.submitted = self.answered_ok = self.throttled = self.queue_full = 0
        self.retries = self.timeouts = self.receipts = 0
        self.window_max = self.occupancy
        self._occupancy_sum = 0
        self._occupancy_samples = 0

    def occupied(self, delta: int) -> None:
        self.occupancy += delta
        if self.occupancy > self.window_max:
            self.window_max = self.occupancy

    def observe(self) -> None:
        """Sample the occupancy (called a few times a second) for the mean."""
        self._occupancy_sum += self.occupancy
        self._occupancy_samples += 1

    def roll(self, t: float) -> BindSample:
        """This second's sample; the counters start again."""
        mean = self._occupancy_sum / self._occupancy_samples if self._occupancy_samples else float(self.occupancy)
        sample = BindSample(round(t, 3), self.name, self.submitted, self.answered_ok, self.throttled,
                            self.queue_full, self.retries, self.timeouts, self.receipts, self.window_max,
                            round(mean, 2))
        self._reset()
        return sample
