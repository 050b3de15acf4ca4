"""Carrier counters and latency histograms, rendered in the Prometheus text format."""

from __future__ import annotations

import gc
import time
from bisect import bisect_left

from simulator.smpp.status import status_name

from .records import MessageState

# Seconds. Fine at the low end, where submit responses live, coarse where receipt delays live.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
           300.0, 3600.0)


class Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.count += 1


class GcPauses:
    """How long the cyclic garbage collector stopped the process: its pauses are the server's stalls."""

    def __init__(self) -> None:
        self.histogram = Histogram()
        self.longest = 0.0
        self._started = 0.0
        self._installed = False

    def install(self) -> None:
        if not self._installed:
            self._installed = True
            gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.histogram.observe(pause)
        if pause > self.longest:
            self.longest = pause


GC_PAUSES = GcPauses()  # one per process, like the collector


_STATES = len(MessageState)  # numbered 0.. in order, as SMPP's message_state


class Metrics:
    """The carrier's counts. Three of them are added to for every message: they are a plain dict and
    lists indexed by state, not Counters, whose `+=` costs two and a half times a dict's."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.submits: dict[int, int] = {}  # by command_status
        self.finals = [0] * _STATES  # by final state
        self.receipts = [0] * _STATES  # by the state each receipt reports
        self.mos = 0
        self.delivery = Histogram()  # submit to final state, of the messages the scenario schedules
        self.histograms: dict[str, Histogram] = {"delivery": self.delivery}

    def submitted(self, status: int) -> None:
        submits = self.submits
        submits[status] = submits.get(status, 0) + 1

    def finished(self, state: MessageState, delivery: float | None = None) -> None:
        """A message reached its final state (`delivery`: seconds after its submission, if scheduled)."""
        self.finals[state] += 1
        if delivery is not None:
            self.delivery.observe(delivery)

    def receipt(self, state: MessageState) -> None:
        self.receipts[state] += 1

    def mo(self) -> None:
        self.mos += 1

    def observe(self, name: str, seconds: float) -> None:
        histogram = self.histograms.get(name)
        if histogram is None:
            histogram = self.histograms[name] = Histogram()
        histogram.observe(seconds)

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """The Prometheus exposition text. `gauges` maps name -> (help, value) for live figures."""
        lines = [
            "# HELP carrier_sim_submits_total Submitted messages by command_status.",
            "# TYPE carrier_sim_submits_total counter",
        ]
        for status, value in sorted(self.submits.items()):
            lines.append(f'carrier_sim_submits_total{{status="{status_name(status)}",code="0x{status:02X}"}} {value}')
        lines += ["# HELP carrier_sim_messages_final_total Messages by final state.",
                  "# TYPE carrier_sim_messages_final_total counter"]
        for state, value in zip(MessageState, self.finals):
            if value:
                lines.append(f'carrier_sim_messages_final_total{{state="{state.name}"}} {value}')
        lines += ["# HELP carrier_sim_receipts_total Delivery receipts queued for delivery by state.",
                  "# TYPE carrier_sim_receipts_total counter"]
        for state, value in zip(MessageState, self.receipts):
            if value:
                lines.append(f'carrier_sim_receipts_total{{state="{state.name}"}} {value}')
        lines += ["# HELP carrier_sim_mo_total Mobile-originated messages routed to accounts.",
                  "# TYPE carrier_sim_mo_total counter", f"carrier_sim_mo_total {self.mos}"]
        for name, (help_text, value) in sorted(gauges.items()):
            lines += [f"# HELP carrier_sim_{name} {help_text}", f"# TYPE carrier_sim_{name} gauge",
                      f"carrier_sim_{name} {value:g}"]
        histograms = {name: histogram for name, histogram in self.histograms.items() if histogram.count}
        if GC_PAUSES.histogram.count:
            histograms["gc_pause"] = GC_PAUSES.histogram
            lines += ["# HELP carrier_sim_gc_pause_max_seconds The longest garbage-collector pause so far.",
                      "# TYPE carrier_sim_gc_pause_max_seconds gauge",
                      f"carrier_sim_gc_pause_max_seconds {GC_PAUSES.longest:.6f}"]
        for name, histogram in sorted(histograms.items()):
            metric = f"carrier_sim_{name}_seconds"
            lines += [f"# HELP {metric} Latency of {name.replace('_', ' ')}.", f"# TYPE {metric} histogram"]
            running = 0
            for bound, bucket_count in zip(BUCKETS, histogram.counts):
                running += bucket_count
                lines.append(f'{metric}_bucket{{le="{bound:g}"}} {running}')
            lines.append(f'{metric}_bucket{{le="+Inf"}} {histogram.count}')
            lines.append(f"{metric}_sum {histogram.total:.6f}")
            lines.append(f"{metric}_count {histogram.count}")
        return "\n".join(lines) + "\n"
