"""`benchmarks.external`: another SMSC, started on the port it is given, measured by the bench like carrier-sim."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from benchmarks.procstat import descendants
from tests.benchmarks.test_benchmarks import REPO, assert_messages, bench

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmark reads /proc")

# The floor stands in for another SMSC: it is told its port the way such a server would be, by
# environment variable or on its command line, and it keeps its own receipt delay (2 s, not the bench's).
FLOOR_BY_ENV = shlex.join(["sh", "-c", f'exec {sys.executable} -m benchmarks.floor serve --port "$SMSC_PORT"'])
FLOOR_BY_ARG = f"{sys.executable} -m benchmarks.floor serve --port {{port}}"


def launcher(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.external", *args]


def test_the_bench_measures_an_external_smsc_with_every_receipt_once(tmp_path):
    server_cmd = shlex.join(launcher("--port-env", "SMSC_PORT", "--exec", FLOOR_BY_ENV))
    result, code, output = bench(tmp_path, "--mode", "sustained", "--rate", "500", "--duration", "1s",
                                 "--receipt-delay", "2s", "--server-cmd", server_cmd)
    assert code in (0, 3), output  # 3: a performance target missed, which a tiny run is not about
    assert result["ok"], (result["checks"], result.get("errors"))
    assert_messages(result, planned=500)
    server = result["server"]
    assert "benchmarks.external" in server["command"]
    assert server["hot_path"] is None, "the banner is the launcher's, not carrier-sim's"
    assert server["cpu"]["processes"] == 2, "the SMSC is the launcher's child, so its CPU is counted"
    assert result["latency_ms"]["receipt_minus_delay"]["p50"] < 100, "the SMSC's own 2 s delay, as the bench was told"


def test_the_port_goes_in_place_of_the_placeholder_and_sigterm_reaches_the_smsc():
    proc = subprocess.Popen([*launcher("--exec", FLOOR_BY_ARG), "serve", "--port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("smpp     smpp://127.0.0.1:"), banner
        port = int(banner.split()[1].rsplit(":", 1)[1])
        assert f"--port {port}" in banner, "the {port} placeholder was replaced by the port announced"
        assert proc.stdout.readline().startswith("accounts")
        children = [pid for pid in descendants(proc.pid) if pid != proc.pid]
        assert children, "the SMSC runs as the launcher's child"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, "the floor stops cleanly on SIGTERM, and the launcher passes its status on"
        deadline = time.monotonic() + 5
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, children)), "SIGTERM was passed on to the SMSC"
    finally:
        for pid in [proc.pid, *children]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_an_smsc_that_never_listens_is_reported_by_name():
    quits = shlex.join([sys.executable, "-c", "import sys; sys.exit(3)"])
    proc = subprocess.run(launcher("--exec", quits, "--ready-timeout", "5"), cwd=REPO, capture_output=True, check=False,
                          text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stdout == "", "no banner: the bench must not connect to a port nobody listens on"
    assert "did not accept connections" in proc.stderr and "exit status 3" in proc.stderr, proc.stderr


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
