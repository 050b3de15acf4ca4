"""The saturation search: the highest rate a server keeps up with inside the latency targets, and each rate's CPU.

A message's CPU depends on the rate: at a low rate every message pays for the server's wake-ups, at a
high one reads and writes batch by themselves. `python -m benchmarks run --mode sweep` runs the
sustained mode (receipts overlapping submits) at rising rates: it doubles the rate while the server
keeps up, then halves the gap between the last rate kept up and the first one missed, `--refine`
times. A rate is kept up when the run passes its checks (every submit answered, every receipt once)
and meets every latency target: the rate itself (97 % of it, send lateness p99 under 100 ms), submit
p99 ≤ 5 ms and max ≤ 50 ms, receipt p99 within 100 ms of the delay. The CPU target is then judged at
the highest rate kept up. At most ceil(log2(max_rate / rate)) + 1 + refine runs, each as long as
`--duration` plus the receipt delay.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

from benchmarks import report
from benchmarks.compare import cpu_ms_per_1k, p99
from benchmarks.smpp_bench import CPU_MS_PER_1K_TARGET

RunOne = Callable[[argparse.Namespace], dict[str, Any]]

# The targets a rate must meet to count as kept up (the CPU target is what the search measures, not a limit).
LATENCY_TARGETS = ("rate_sustained", "submit_p99_at_most_5ms", "submit_max_at_most_50ms",
                   "receipt_p99_within_100ms_of_delay")


def kept_up(result: dict[str, Any]) -> bool:
    """Whether a sustained run passed its checks and met every latency target."""
    targets = result.get("targets", {})
    return bool(result.get("ok")) and all(targets.get(name, False) for name in LATENCY_TARGETS)


def saturation_search(start: int, ceiling: int, refine: int, keeps_up: Callable[[int], bool]) -> list[tuple[int, bool]]:
    """The rates tried, in order, with whether each was kept up: doubling from `start` (never past `ceiling`)
    until one is missed, then `refine` halvings of the gap between the last kept up and the first missed."""
    tried: list[tuple[int, bool]] = []
    rate, highest_kept = start, None
    while True:
        ok = keeps_up(rate)
        tried.append((rate, ok))
        if not ok:
            break
        highest_kept = rate
        if rate >= ceiling:
            return tried  # kept up all the way: the ceiling, not the server, ended the search
        rate = min(rate * 2, ceiling)
    if highest_kept is None:
        return tried  # not even the first rate
    low, high = highest_kept, rate
    for _ in range(refine):
        middle = (low + high) // 2
        if middle in (low, high):
            break
        ok = keeps_up(middle)
        tried.append((middle, ok))
        low, high = (middle, high) if ok else (low, middle)
    return tried


def run_sweep(args: argparse.Namespace, run_one: RunOne) -> dict[str, Any]:
    """Run the saturation search with `run_one` (a sustained run per rate); the runs and what they found."""
    runs: list[dict[str, Any]] = []

    def keeps_up(rate: int) -> bool:
        one = copy.copy(args)
        one.mode, one.rate = "sustained", rate
        result = run_one(one)
        # The rate asked for, kept apart from the run's parameters: a run that could not start has none.
        result["sweep_rate"], result["kept_up"] = rate, kept_up(result)
        runs.append(result)
        return result["kept_up"]

    saturation_search(int(args.rate), int(args.max_rate), args.refine, keeps_up)
    highest = max((r for r in runs if r["kept_up"]), key=lambda r: r["sweep_rate"], default=None)
    cpu_there = cpu_ms_per_1k(highest) if highest is not None else None
    ceiling_reached = highest is not None and highest["sweep_rate"] >= args.max_rate
    return {
        "benchmark": "carrier-sim smpp, saturation search",
        "mode": "sweep",
        "ok": all(r["ok"] for r in runs),  # a missed latency target ends the search; a failed check fails it
        "parameters": {**runs[0].get("parameters", {}), "mode": "sweep", "rate": args.rate,
                       "max_rate": args.max_rate, "refine": args.refine},
        "rates": [_summary(r) for r in runs],
        "saturation": {
            "highest_rate_kept_up": highest["sweep_rate"] if highest else None,
            "submit_per_s": highest["throughput"]["submit_per_s"] if highest else None,
            "cpu_ms_per_1k_msgs": cpu_there,
            "limited_by": "max_rate" if ceiling_reached else ("server or client" if highest else "the first rate"),
        },
        "checks": {"every_run_passed_its_checks": all(r["ok"] for r in runs)},
        "targets": ({"cpu_at_most_25ms_per_1k_msgs": cpu_there <= CPU_MS_PER_1K_TARGET}
                    if cpu_there is not None else {}),
        "runs": runs,
        "errors": [f"{r['sweep_rate']:,}/s: {e}" for r in runs for e in r.get("errors", [])],
    }


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    split = (result.get("server") or {}).get("cpu_split_per_1k_msgs") or {}
    return {
        "rate": result["sweep_rate"],
        "submit_per_s": (result.get("throughput") or {}).get("submit_per_s"),
        "cpu_ms_per_1k_msgs": cpu_ms_per_1k(result),
        "user_ms_per_1k": split.get("user_ms"),
        "system_ms_per_1k": split.get("system_ms"),
        "submit_p99_ms": p99(result, "submit"),
        "submit_max_ms": ((result.get("latency_ms") or {}).get("submit") or {}).get("max"),
        "receipt_minus_delay_p99_ms": p99(result, "receipt_minus_delay"),
        "send_lateness_p99_ms": p99(result, "send_lateness"),
        "client_cores": (result.get("client") or {}).get("cpu_utilisation"),
        "kept_up": result["kept_up"],
        # A run that failed its checks (or never started) is judged on those, not on its latencies.
        "missed": (["its checks"] if not result.get("ok") else
                   [name for name in LATENCY_TARGETS if not result.get("targets", {}).get(name, False)]),
    }


def rows_for(result: dict[str, Any]) -> list[tuple[str, str]]:
    fmt = report.fmt
    rows = []
    for rate in result["rates"]:
        rows.append((f"{fmt(rate['rate'])} msg/s",
                     f"{fmt(rate['submit_per_s'])}/s  {fmt(rate['cpu_ms_per_1k_msgs'])} ms/1k"
                     f" (user {fmt(rate['user_ms_per_1k'])}, system {fmt(rate['system_ms_per_1k'])})"
                     f"  submit p99 {fmt(rate['submit_p99_ms'])} max {fmt(rate['submit_max_ms'])} ms"
                     f"  receipt - delay p99 {fmt(rate['receipt_minus_delay_p99_ms'])} ms"
                     f"  lateness p99 {fmt(rate['send_lateness_p99_ms'])} ms  client {fmt(rate['client_cores'])} core"
                     + ("  kept up" if rate["kept_up"] else f"  MISSED {', '.join(rate['missed'])}")))
    saturation = result["saturation"]
    if saturation["highest_rate_kept_up"] is None:
        rows.append(("highest rate kept up", "none: the first rate was missed"))
    else:
        rows.append(("highest rate kept up", f"{fmt(saturation['highest_rate_kept_up'])} msg/s"
                                             f" ({fmt(saturation['submit_per_s'])}/s achieved),"
                                             f" {fmt(saturation['cpu_ms_per_1k_msgs'])} ms CPU per 1,000"
                                             + ("; the sweep's --max-rate, not the server, ended it"
                                                if saturation["limited_by"] == "max_rate" else "")))
    for name, passed in result.get("targets", {}).items():
        rows.append((f"target {name} (there)", "met" if passed else "MISSED"))
    for error in result.get("errors", [])[:10]:
        rows.append(("error", error))
    return rows
