"""Helpers for the harness's tests: real Locust runs in child processes (never in this process: Locust
monkey-patches with gevent), each bounded in time, against carrier-sim on loopback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = REPO / "loadtests" / "locustfile.py"


def loadtest(*args: object, timeout: float = 100.0) -> subprocess.CompletedProcess[str]:
    """`carrier-sim loadtest ARGS` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "simulator.cli", "loadtest", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def summary(reports: Path) -> dict:
    return json.loads((reports / "summary.json").read_text())


def locust_rows(reports: Path) -> dict[tuple[str, str], dict]:
    """Locust's own stats CSV by (type, name)."""
    with (reports / "locust_stats.csv").open() as handle:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(handle)}


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"
