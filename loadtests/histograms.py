"""High-resolution latency histograms (HdrHistogram, microseconds) that travel from workers to the master.

Locust's own statistics round response times under 100 ms to whole milliseconds, which flattens
sub-millisecond submit_sm_resp times to 0 or 1 ms; these keep three significant digits from 1 µs
to an hour.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
DIGITS = 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


@dataclass(frozen=True, slots=True)
class Percentiles:
    """One histogram's summary, in milliseconds."""

    count: int
    min: float
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def summarise(histogram: HdrHistogram) -> Percentiles | None:
    count = histogram.get_total_count()
    if not count:
        return None
    values = [histogram.get_value_at_percentile(p) / 1000.0 for p in PERCENTILES]
    return Percentiles(count, histogram.get_min_value() / 1000.0, histogram.get_mean_value() / 1000.0, *values,
                       max=histogram.get_max_value() / 1000.0)


class Histograms:
    """Named histograms. record() takes seconds; delta() hands over what was recorded since the last
    delta() (for a worker's report), while the cumulative copy stays for this process's own use."""

    def __init__(self) -> None:
        self.total: dict[str, HdrHistogram] = {}
        self._pending: dict[str, HdrHistogram] = {}

    def record(self, name: str, seconds: float) -> None:
        micros = int(seconds * 1e6)
        if micros < LOWEST_US:
            micros = LOWEST_US
        elif micros > HIGHEST_US:
            micros = HIGHEST_US
        histogram = self._pending.get(name)
        if histogram is None:
            histogram = self._pending[name] = new_histogram()
        histogram.record_value(micros)

    def delta(self) -> dict[str, str]:
        """What was recorded since the last call, encoded for the wire; folded into the totals too."""
        encoded = {}
        for name, histogram in list(self._pending.items()):
            if histogram.get_total_count():
                encoded[name] = base64.b64encode(histogram.encode()).decode("ascii")
                self.total.setdefault(name, new_histogram()).add(histogram)
                # A fresh one, not reset(): hdrh's reset zeroes 23,552 counters in a Python loop (~1 ms).
                self._pending[name] = new_histogram()
        return encoded

    def merge_encoded(self, encoded: dict[str, str]) -> None:
        for name, data in encoded.items():
            self.total.setdefault(name, new_histogram()).decode_and_add(base64.b64decode(data))

    def summary(self, name: str) -> Percentiles | None:
        histogram = self.total.get(name)
        return summarise(histogram) if histogram is not None else None

    def names(self) -> list[str]:
        return sorted(self.total)
