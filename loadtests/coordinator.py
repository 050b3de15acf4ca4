"""The run's conductor on the master (or the only process): send, drain, correlate, judge, stop.

Locust's own --run-time stops users at once and would cut receipts off. With --duration the
coordinator runs the test instead: it lets users send for that long (or until a campaign's
budget is spent), tells every process to stop sending, waits for outstanding answers and receipts
(at most --drain), has each process correlate with the carrier and send its final report, then
writes the summary, applies the thresholds and quits Locust with the verdict as exit code.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

import gevent
import locust
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from . import summary as summaries
from .harness import Harness
from .options import HarnessOptions
from .stats import Aggregate, BindSample, ProcessReport
from .thresholds import Thresholds, from_flags, load

DRAIN = "harness_drain"  # master -> workers: stop sending
FINISH = "harness_finish"  # master -> workers: give up what is left, correlate, send the final report
FINAL = "harness_final"  # worker -> master: the final report


def thresholds_from(parsed) -> Thresholds:
    flags = from_flags({name: getattr(parsed, flag.removeprefix("--").replace("-", "_"), "")
                        for name, flag in (("submit_p95", "--max-submit-p95"), ("submit_p99", "--max-submit-p99"),
                                           ("receipt_p95", "--max-receipt-p95"), ("error_ratio", "--max-error-ratio"),
                                           ("min_throughput", "--min-throughput"), ("max_missing", "--max-missing"))})
    limits = load(parsed.thresholds) if getattr(parsed, "thresholds", "") else Thresholds()
    return limits.merged(flags)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Coordinator:
    """Drives and judges the run from the master, or from the single process of a local run."""

    def __init__(self, environment, options: HarnessOptions, harness: Harness | None) -> None:
        self.environment = environment
        self.options = options
        self.harness = harness  # the local run's own harness; None on a master
        self.limits = thresholds_from(environment.parsed_options)
        self.aggregate = Aggregate()
        self.started_wall = ""
        self.started = 0.0
        self.send_seconds = 0.0
        self.drained = False
        self.drain_seconds = 0.0
        self.summary: dict | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._last_progress = (0.0, 0)

    @property
    def distributed(self) -> bool:
        return isinstance(self.environment.runner, MasterRunner)

    # ------------------------------------------------------------------ wiring

    def install(self) -> None:
        events, runner = self.environment.events, self.environment.runner
        events.test_start.add_listener(self._on_test_start)
        if self.distributed:
            events.worker_report.add_listener(self._on_worker_report)
            runner.register_message(FINAL, self._on_final)

    def _on_test_start(self, environment, **kwargs) -> None:
        if self._greenlet is not None:
            return
        self.started_wall = _now_iso()
        self.started = time.perf_counter()
        if self.options.duration or self.options.messages:
            self._greenlet = gevent.spawn(self._run)
        else:
            self._greenlet = gevent.spawn(self._progress_only)

    def _on_worker_report(self, client_id, data, **kwargs) -> None:
        if "harness" in data:
            self.aggregate.merge(ProcessReport.from_dict(data["harness"]))

    def _on_final(self, environment, msg, **kwargs) -> None:
        self.aggregate.merge(ProcessReport.from_dict(msg.data))

    # ------------------------------------------------------------------ the run

    def _collect(self) -> None:
        if self.harness is not None:
            self.aggregate.merge(self.harness.report())

    def _nodes(self) -> set[str]:
        if self.distributed:
            return {worker.id for worker in self.environment.runner.clients.all}
        return {self.harness.node} if self.harness is not None else set()

    def _everyone(self, test) -> bool:
        nodes = self._nodes()
        return bool(nodes) and all(name in self.aggregate.nodes and test(self.aggregate.nodes[name]) for name in nodes)

    def _run(self) -> None:
        options = self.options
        deadline = self.started + options.duration if options.duration else float("inf")
        while time.perf_counter() < deadline:
            gevent.sleep(min(1.0, max(0.05, deadline - time.perf_counter())))
            self._collect()
            self._progress("sending")
            if options.messages and self._everyone(lambda node: node.draining):
                break  # the campaign's budget is spent everywhere
        self.send_seconds = time.perf_counter() - self.started
        self._drain()
        self._finish()
        if getattr(self.environment.parsed_options, "csv_prefix", None):
            gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)  # one more pass of Locust's CSV writer: the last receipts
        self.environment.runner.quit()

    def _progress_only(self) -> None:
        while True:
            gevent.sleep(1.0)
            self._collect()
            self._progress("sending")

    def _drain(self) -> None:
        runner = self.environment.runner
        if self.distributed:
            runner.send_message(DRAIN, None)
        elif self.harness is not None:
            self.harness.draining = True
        started = time.perf_counter()
        until = started + self.options.drain
        while time.perf_counter() < until:
            gevent.sleep(0.1)
            self._collect()
            self._progress("draining")
            if self._everyone(lambda node: node.draining and node.awaiting == 0):
                self.drained = True
                break
        self.drain_seconds = time.perf_counter() - started

    def _finish(self) -> None:
        if self.distributed:
            self.environment.runner.send_message(FINISH, None)
            until = time.perf_counter() + 60.0
            while not self.aggregate.all_final(self._nodes()) and time.perf_counter() < until:
                gevent.sleep(0.1)
            gevent.sleep(0.5)  # Locust's own stats report from each worker, sent just before its final one
        elif self.harness is not None:
            self.harness.finish()
            self.aggregate.merge(self.harness.report(final=True))
        self.write_summary()

    # ------------------------------------------------------------------ output

    def _progress(self, phase: str) -> None:
        interval = self.options.progress_interval
        now = time.perf_counter()
        last_time, last_sent = self._last_progress
        if not interval or now - last_time < interval:
            return
        submits, receipts = self.aggregate.submits, self.aggregate.receipts
        rate = (submits.messages - last_sent) / (now - last_time) if last_time else 0.0
        self._last_progress = (now, submits.messages)
        submit = self.aggregate.histograms.summary("submit") or self.aggregate.histograms.summary("http_submit")
        receipt = self.aggregate.histograms.summary("receipt")
        line = (f"[loadtest] {now - self.started:6.1f}s {phase:<8} sent {submits.messages:,} ({rate:,.0f}/s) "
                f"ok {submits.segments_ok:,} failed {submits.segments_failed:,} retries {submits.retries:,} | "
                f"receipts {receipts.received:,} awaiting {self.aggregate.awaiting:,} | "
                f"submit p95 {submit.p95 if submit else 0:.3f} ms, receipt p95 {receipt.p95 if receipt else 0:.1f} ms")
        try:
            print(line, file=sys.stderr, flush=True)
        except OSError:
            self.options.progress_interval = 0  # nobody is reading (the launcher went away): the run goes on

    def write_summary(self, *, interrupted: bool = False) -> dict:
        if self.summary is not None:
            return self.summary
        environment = self.environment
        parsed = environment.parsed_options
        if interrupted and self.harness is not None:
            self.harness.finish()
            self.aggregate.merge(self.harness.report(final=True))
        if not self.send_seconds and self.started:
            self.send_seconds = time.perf_counter() - self.started
        info = summaries.RunInfo(
            started_at=self.started_wall or _now_iso(), finished_at=_now_iso(), label=self.options.label,
            target=environment.host or "", user_classes=sorted(cls.__name__ for cls in environment.user_classes),
            users=int(getattr(parsed, "num_users", 0) or 0),
            processes=len(self._nodes()) or 1, send_seconds=round(self.send_seconds, 3), drained=self.drained,
            drain_seconds=round(self.drain_seconds, 3),
            interrupted=interrupted, locust_version=locust.__version__,
            options={f.name: getattr(self.options, f.name) for f in fields(self.options)},
        )
        self.summary = summaries.build(self.aggregate, info, self.limits)
        if self.options.summary_json:
            summaries.write(self.summary, self.options.summary_json)
        if self.options.timeseries_csv:
            self._write_timeseries(self.options.timeseries_csv)
        for line in summaries.broken(self.summary):
            print(f"[loadtest] threshold {line}", file=sys.stderr, flush=True)
        if self.summary["verdict"] == "fail":
            environment.process_exit_code = 1
        elif self.limits.any():
            environment.process_exit_code = 0  # the thresholds are the contract; without any, Locust's rules apply
        return self.summary

    def _write_timeseries(self, path: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        names = [f.name for f in fields(BindSample)]
        with target.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            for sample in sorted(self.aggregate.samples, key=lambda s: (s.t, s.bind)):
                writer.writerow(asdict(sample))


def install_worker(environment, harness: Harness) -> None:
    """A worker's side of the protocol: report with Locust's stats, obey drain and finish."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)

    def report(client_id, data, **kwargs) -> None:
        data["harness"] = harness.report().to_dict()

    def drain(environment, msg, **kwargs) -> None:
        harness.draining = True

    def finish(environment, msg, **kwargs) -> None:
        harness.finish()
        send_stats = getattr(runner, "_send_stats", None)
        if send_stats is not None:  # Locust's own stats (the last DLR events) ahead of the final report
            send_stats()
        runner.send_message(FINAL, harness.report(final=True).to_dict())

    environment.events.report_to_master.add_listener(report)
    runner.register_message(DRAIN, drain)
    runner.register_message(FINISH, finish, concurrent=True)
