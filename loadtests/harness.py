"""The per-process harness: what every user in one Locust process shares, and how it is reported.

One Harness lives in each process that runs users (a local run, or each worker). It owns the
workload, the receipt tracker, the high-resolution histograms, the counters and the per-bind
meters, and it is the one place that fires Locust request events, so every user reports alike:

- request_type SMPP / HTTP, name submit_sm / the request: one per submitted segment or request;
- request_type RETRY, name the status (0x58 ESME_RTHROTTLED, 429 ...): answers that were retried;
- request_type DLR, name the final state (DELIVRD, UNDELIV ...): the receipt, timed from the submit;
  name `missing` (a failure) when no receipt came within --receipt-timeout.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import gevent

from .correlate import Conservation, correlate
from .histograms import Histograms
from .ledger import Ledger
from .options import HarnessOptions
from .pacing import ArrivalSchedule, Budget, share
from .stats import BindSample, ProcessReport, SubmitCounts
from .timeseries import ChannelMeter
from .tracker import ReceiptTracker, Tracked
from .workload import OutgoingMessage, Workload


class MissingReceipt(Exception):
    """No receipt came within the receipt timeout."""


class SubmitFailed(Exception):
    """The gateway or carrier refused a submit for good, or it was never answered."""


class Harness:
    """Shared state and reporting for the users of one Locust process."""

    def __init__(self, environment, options: HarnessOptions) -> None:
        self.environment = environment
        self.options = options
        self.node = "local"
        self.worker_index = 0
        self.workers = 1
        self.histograms = Histograms()
        self.submits = SubmitCounts()
        self.ledger = Ledger()
        self.tracker = ReceiptTracker(receipt_timeout=options.receipt_timeout, on_final=self._receipted,
                                      on_missing=self._missing, on_ack=self._acked)
        self.meters: list[ChannelMeter] = []
        self._samples: list[BindSample] = []
        self.workload = Workload(options.mix, options.destinations, source=options.source, seed=options.seed)
        self.schedule: ArrivalSchedule | None = None
        self.budget: Budget | None = None
        self.draining = False
        self.finished = False
        self.started = time.perf_counter()
        self.first_send: float | None = None
        self.last_send: float | None = None
        self.conservation: Conservation | None = None
        self.webhook_url = ""  # set when the built-in receipt webhook runs in this process
        self.webhook = None  # the WebhookReceiver, when one runs
        self._greenlets: list[gevent.Greenlet] = []
        self._fire = environment.events.request.fire

    # ------------------------------------------------------------------ set-up

    def configure(self, node: str, worker_index: int, workers: int) -> None:
        """Called at test start, once this process knows its place among the workers."""
        self.node, self.worker_index, self.workers = node, worker_index, max(1, workers)
        options = self.options
        self.workload = Workload(options.mix, options.destinations, source=options.source,
                                 seed=options.seed + worker_index)
        self.schedule = (ArrivalSchedule(share(float(options.arrival_rate), self.workers, worker_index))
                         if options.arrival_rate > 0 else None)
        self.budget = Budget(share(int(options.messages), self.workers, worker_index)) if options.messages else None
        self.draining = self.finished = False
        self.started = time.perf_counter()
        if not self._greenlets:
            self._greenlets = [gevent.spawn(self._sweep_loop), gevent.spawn(self._sample_loop)]

    def system_id(self) -> str:
        worker = "" if self.node == "local" else str(self.worker_index)
        return self.options.system_id.replace("{worker}", worker)[:15]

    def stop(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._greenlets = []

    # ------------------------------------------------------------------ what users call

    def sending_allowed(self) -> bool:
        return not self.draining and not (self.budget is not None and self.budget.exhausted)

    def next_message(self) -> OutgoingMessage | None:
        """The next message to send, or None once this process's campaign budget is spent."""
        if self.budget is not None and not self.budget.take():
            return None
        return self.workload.next()

    def next_slot(self) -> float | None:
        """Open model: the next intended send time, after sleeping until it; closed model: None."""
        if self.schedule is None:
            return None
        slot = self.schedule.next_slot()
        self.schedule.wait_for(slot, gevent.sleep)
        return slot

    def message_sent(self, out: OutgoingMessage, intended: float | None, *, parts: int | None = None) -> Tracked:
        """The first part of a message (or its HTTP request) is about to be written."""
        now = time.perf_counter()
        message = self.tracker.sent(out.ref, out.kind, parts or out.parts, now)
        self.ledger.sent(out.ref, message.sent_wall)
        self.submits.messages += 1
        self.first_send = self.first_send or message.sent_wall
        self.last_send = message.sent_wall
        if intended is not None:
            self.histograms.record("lateness", max(0.0, now - intended))
        return message

    def restamp(self, message: Tracked, now: float) -> None:
        """The message's first part has actually left (writes are batched): its clocks start now."""
        message.sent_at = now
        message.sent_wall = wall = time.time()
        entry = self.ledger.entries.get(message.ref)
        if entry is not None:
            entry.sent_wall = wall
        self.last_send = wall

    def answered(self, message: Tracked, seconds: float, message_id: str | None, *, request_type: str | None,
                 name: str, histogram: str, intended: float | None = None, length: int = 0) -> None:
        """A segment (or HTTP request) was accepted. request_type None: Locust's HTTP client reported it."""
        self.submits.segments_ok += 1
        self.histograms.record(histogram, seconds)
        if intended is not None:
            self.histograms.record("submit_intended", time.perf_counter() - intended)
        if request_type is not None:
            self._fire(request_type=request_type, name=name, response_time=seconds * 1000.0,
                       response_length=length, exception=None, context={})
        self.tracker.accepted(message, message_id)
        if message.accepted >= message.parts and not message.failed:
            self.ledger.accepted(message.ref)
            if not self.options.registered_delivery:
                self.tracker.no_receipt_due(message)

    def retrying(self, seconds: float, *, request_type: str | None, name: str, throttled: bool) -> None:
        """An answer that asks the sender to slow down (0x58, 0x14, HTTP 429): counted, then retried."""
        self.submits.retries += 1
        if throttled:
            self.submits.throttled += 1
        else:
            self.submits.queue_full += 1
        if request_type is not None:
            self._fire(request_type="RETRY", name=name, response_time=seconds * 1000.0, response_length=0,
                       exception=None, context={"request_type": request_type})

    def failed(self, message: Tracked, seconds: float, reason: str, *, request_type: str | None, name: str,
               timeout: bool = False) -> None:
        """A segment (or HTTP request) failed for good: the message is not expected to arrive."""
        self.submits.segments_failed += 1
        self.submits.error(reason)
        if timeout:
            self.submits.timeouts += 1
        if request_type is not None:
            self._fire(request_type=request_type, name=name, response_time=seconds * 1000.0, response_length=0,
                       exception=SubmitFailed(reason), context={})
        self.tracker.refused(message)

    def receipt(self, state: str, **keys: str | None) -> str:
        return self.tracker.receipt(state, **keys)

    # ------------------------------------------------------------------ tracker callbacks

    def _receipted(self, message: Tracked, state: str, seconds: float) -> None:
        self.ledger.receipted(message.ref, state)
        self.histograms.record("receipt", seconds)
        self.histograms.record(f"receipt:{state}", seconds)
        self._fire(request_type="DLR", name=state, response_time=seconds * 1000.0, response_length=0,
                   exception=None, context={})

    def _missing(self, message: Tracked, waited: float) -> None:
        self._fire(request_type="DLR", name="missing", response_time=waited * 1000.0, response_length=0,
                   exception=MissingReceipt(f"no receipt within {self.options.receipt_timeout:g}s"), context={})

    def _acked(self, message: Tracked, seconds: float) -> None:
        self.histograms.record("carrier_ack", seconds)

    # ------------------------------------------------------------------ background work

    def _sweep_loop(self) -> None:
        while True:
            gevent.sleep(0.25)
            self.tracker.sweep()
            for meter in self.meters:
                meter.observe()

    def _sample_loop(self) -> None:
        while True:
            gevent.sleep(1.0)
            t = time.perf_counter() - self.started
            self._samples.extend(meter.roll(t) for meter in self.meters)

    def add_meter(self, name: str) -> ChannelMeter:
        meter = ChannelMeter(name)
        self.meters.append(meter)
        return meter

    def remove_meter(self, meter: ChannelMeter) -> None:
        if meter in self.meters:
            self._samples.append(meter.roll(time.perf_counter() - self.started))
            self.meters.remove(meter)

    # ------------------------------------------------------------------ the end of a run

    def drain(self, timeout: float) -> bool:
        """Stop sending and wait for outstanding answers and receipts; True when none is left."""
        self.draining = True
        deadline = time.monotonic() + timeout
        while self.tracker.awaiting and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return not self.tracker.awaiting

    def finish(self) -> None:
        """Give up on what is still outstanding and, with a control API, correlate with the carrier."""
        if self.finished:
            return
        self.finished = True
        self.draining = True
        self.tracker.finish()
        if self.options.control_url:
            self.conservation = correlate(self.ledger, self.options.control_url,
                                          lambda seconds: self.histograms.record("gateway", seconds))

    def report(self, *, final: bool = False) -> ProcessReport:
        samples, self._samples = self._samples, []
        return ProcessReport(
            node=self.node, submits=SubmitCounts.from_dict(asdict(self.submits)),
            receipts=type(self.tracker.counts).from_dict(self.tracker.counts.to_dict()),
            histograms=self.histograms.delta(), samples=samples, awaiting=self.tracker.awaiting,
            first_send=self.first_send, last_send=self.last_send, draining=self.draining or not self.sending_allowed(),
            final=final, conservation=self.conservation.to_dict() if (final and self.conservation) else None,
        )

