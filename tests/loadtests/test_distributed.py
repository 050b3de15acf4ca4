"""Distributed Locust: a master and two worker processes; receipts and the harness's own statistics
(events.report_to_master / events.worker_report) are aggregated at the master."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from loadtests.embedded import EmbeddedSimulator
from loadtests.kannel import free_port

from .conftest import LOCUSTFILE, locust_rows, summary


def _messages(control: str, system_id: str) -> int:
    """Messages the carrier stored from this system_id (at most 100: enough to tell it bound and sent)."""
    with urllib.request.urlopen(f"{control}/api/v1/messages?system_id={system_id}&limit=100", timeout=10) as reply:
        return json.load(reply)["count"]


def test_master_aggregates_two_workers(tmp_path: Path):
    reports = tmp_path / "reports"
    port = free_port()
    locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    with EmbeddedSimulator("happy-path") as sim:
        master = subprocess.Popen(
            locust + ["SmppUser", "--master", "--headless", "--only-summary", "--expect-workers", "2",
                      "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "-u", "4", "-r", "4",
                      "--host", sim.smpp_url, "--control-url", sim.control_url, "--duration", "3s",
                      "--summary-json", str(reports / "summary.json"), "--timeseries-csv", str(reports / "series.csv"),
                      "--csv", str(reports / "locust")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        workers = [subprocess.Popen(locust + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        try:
            output, _ = master.communicate(timeout=90)
            for worker in workers:
                worker.wait(timeout=30)
        finally:
            for process in (master, *workers):
                process.kill()
        per_worker = [_messages(sim.control_url, f"loadtest{index}") for index in (0, 1)]
    assert (reports / "summary.json").exists(), output[-4000:]
    data = summary(reports)
    receipts = data["receipts"]
    assert data["run"]["processes"] == 2, output[-3000:]
    assert per_worker == [100, 100]  # each worker bound and sent as its own system_id
    assert receipts["received"] == receipts["accepted"] == receipts["sent"] > 1000
    assert receipts["missing"] == receipts["orphan"] == 0
    # The harness's histograms merged at the master: one receipt latency per receipt from both workers.
    assert data["latency"]["receipt"]["count"] == receipts["received"]
    assert data["latency"]["submit"]["count"] == data["submits"]["segments_ok"]
    # Locust's own request statistics for the DLR request type, aggregated at the master too.
    assert int(locust_rows(reports)[("DLR", "DELIVRD")]["Request Count"]) == receipts["received"]
    with (reports / "series.csv").open() as handle:
        nodes = {row["bind"].split("/")[0] for row in csv.DictReader(handle)}
    assert len(nodes) == 2
    assert data["conservation"]["correlated"] and data["conservation"]["lost"] == 0
    assert data["conservation"]["arrived"] == receipts["sent"]
