"""Benchmark: SmppUser submit_sm/s in one Locust process against carrier-sim, receipts on.

    python -m loadtests.bench --users 8 --duration 15s [--profile profile.svg]

Starts carrier-sim (a child process) and one headless Locust process, then prints the submit and
receipt rates and how busy each process's CPU was, which says whether the load generator or the
carrier was the limit. On a 2-core machine both share the cores, so the figure per *worker process*
is also projected as rate / (harness CPU share). --profile samples the Locust process with py-spy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .durations import parse_duration
from .embedded import EmbeddedSimulator

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8, help="binds in the one Locust process")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--scenario", default="happy-path")
    parser.add_argument("--mix", default="", help="message mix (default: the harness's 45/45/10 mix)")
    parser.add_argument("--profile", help="write a py-spy flame graph of the Locust process here (SVG)")
    parser.add_argument("--json", help="write the figures here as JSON")
    args = parser.parse_args(argv)
    seconds = parse_duration(args.duration)
    workdir = Path(tempfile.mkdtemp(prefix="carrier-sim-bench-"))
    with EmbeddedSimulator(args.scenario) as sim:
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "SmppUser", "--headless", "--only-summary",
                   "-u", str(args.users), "-r", str(args.users), "--host", sim.smpp_url, "--window", str(args.window),
                   "--duration", args.duration, "--drain", "10s", "--progress-interval", "0",
                   "--summary-json", str(workdir / "summary.json")]
        if args.mix:
            command += ["--mix", args.mix]
        locust = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert sim.process is not None
        sim_pid = sim.process.pid
        time.sleep(2.0)  # imports, binds and warm-up stay out of the measured window
        profiler = None
        if args.profile:
            if not shutil.which("py-spy"):
                print("py-spy is not installed: pip install py-spy", file=sys.stderr)
                return 2
            profiler = subprocess.Popen(["py-spy", "record", "-p", str(locust.pid), "-o", args.profile, "-d",
                                         str(max(1, int(seconds) - 4)), "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        cpu_locust, cpu_sim = _cpu_seconds(locust.pid), _cpu_seconds(sim_pid)
        time.sleep(max(1.0, seconds - 4.0))
        elapsed = time.monotonic() - started
        locust_share = (_cpu_seconds(locust.pid) - cpu_locust) / elapsed
        sim_share = (_cpu_seconds(sim_pid) - cpu_sim) / elapsed
        locust.wait(timeout=seconds + 60)
        if profiler is not None:
            profiler.wait(timeout=60)
    summary = json.loads((workdir / "summary.json").read_text())
    rate = summary["throughput"]["segments_per_s"] or 0.0
    figures = {
        "users": args.users, "window": args.window, "submit_sm_per_s": rate,
        "receipts_per_s": summary["throughput"]["receipts_per_s"],
        "receipts_received": summary["receipts"]["received"], "receipts_missing": summary["receipts"]["missing"],
        "submit_p50_ms": summary["latency"]["submit"]["p50"], "submit_p99_ms": summary["latency"]["submit"]["p99"],
        "receipt_p50_ms": summary["latency"]["receipt"]["p50"],
        "locust_cpu": round(locust_share, 2), "simulator_cpu": round(sim_share, 2), "cores": os.cpu_count(),
        "projected_submit_sm_per_s_per_busy_worker": round(rate / locust_share) if locust_share > 0.05 else None,
    }
    print(f"SmppUser x {args.users} (window {args.window}), receipts on: {rate:,.0f} submit_sm/s, "
          f"{figures['receipts_per_s']:,.0f} receipts/s ({figures['receipts_missing']} missing)")
    print(f"  submit p50 {figures['submit_p50_ms']:.3f} ms, p99 {figures['submit_p99_ms']:.3f} ms; "
          f"receipt p50 {figures['receipt_p50_ms']:.1f} ms")
    print(f"  CPU: Locust process {locust_share:.0%} of a core, carrier-sim {sim_share:.0%} "
          f"({os.cpu_count()} cores in all)")
    if figures["projected_submit_sm_per_s_per_busy_worker"]:
        print(f"  per worker process at 100% of a core: ~{figures['projected_submit_sm_per_s_per_busy_worker']:,} "
              "submit_sm/s (rate / Locust CPU share)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
