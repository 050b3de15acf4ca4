"""SmppUser rebinds after the carrier drops its connections, and no receipt is lost across the drop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from loadtests.embedded import EmbeddedSimulator

from .conftest import locust_rows, summary


def _binds(control: str) -> list[dict]:
    with urllib.request.urlopen(f"{control}/api/v1/binds", timeout=5) as response:
        return json.load(response)["binds"]


def test_rebind_after_a_drop(reports: Path):
    with EmbeddedSimulator("happy-path") as sim:
        run = subprocess.Popen([sys.executable, "-m", "simulator.cli", "loadtest", "--target", sim.smpp_url,
                                "--control-url", sim.control_url, "--duration", "4s", "--users", "2",
                                "--reports", str(reports)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 20
            while len(_binds(sim.control_url)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # in the middle of sending
            for bind in _binds(sim.control_url):
                request = urllib.request.Request(f"{sim.control_url}/api/v1/binds/{bind['id']}?mode=drop",
                                                 method="DELETE")
                urllib.request.urlopen(request, timeout=5).close()
            output, _ = run.communicate(timeout=90)
        finally:
            run.kill()
    data = summary(reports)
    submits, receipts = data["submits"], data["receipts"]
    assert submits["connection_drops"] >= 2 and submits["rebinds"] >= 2, output
    assert int(locust_rows(reports)[("SMPP", "bind")]["Request Count"]) >= 4
    assert receipts["missing"] == 0  # the carrier held the receipts and delivered them after the rebind
    assert receipts["received"] == receipts["accepted"] > 100
    assert any(row["t"] > 2 and row["submitted"] for row in data["timeseries"])  # it went on sending
