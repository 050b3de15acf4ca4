"""Two servers under the same load, run in turns: each one's CPU per 1,000 messages, and their ratio.

The machine's speed drifts by 10-20 % between runs and hours, more than most changes move the figure,
so a comparison is only fair when its runs alternate in one sitting. The order flips every turn
(A B, B A, A B, ...) so that a drift during the sitting does not always favour the same server.
"""

from __future__ import annotations

import argparse
import copy
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks import report

RunOne = Callable[[argparse.Namespace], dict[str, Any]]


def name_of(command: str | None) -> str:
    return command or "carrier-sim (this tree)"


def turn_order(turns: int) -> list[tuple[int, str]]:
    """(turn, "A" or "B") in the order to run them: A B, B A, A B, ..."""
    order = []
    for turn in range(1, turns + 1):
        pair = ("A", "B") if turn % 2 else ("B", "A")
        order += [(turn, label) for label in pair]
    return order


def run_in_turns(args: argparse.Namespace, run_one: RunOne) -> dict[str, Any]:
    """Run `run_one` with `args.server_cmd` (A) and `args.versus` (B) in turns; the runs and their summary."""
    commands = {"A": args.server_cmd, "B": args.versus}
    runs: list[dict[str, Any]] = []
    for turn, label in turn_order(args.turns):
        one = copy.copy(args)
        one.server_cmd = commands[label]
        result = run_one(one)
        result["turn"], result["server_label"] = turn, label
        runs.append(result)
        if not result["ok"]:
            break  # a server that fails its checks has no figure worth comparing
    servers = {label: summarise(command, [r for r in runs if r["server_label"] == label])
               for label, command in commands.items()}
    ok = len(runs) == 2 * args.turns and all(r["ok"] for r in runs)
    targets_a = [r.get("targets", {}) for r in runs if r["server_label"] == "A"]
    return {
        "benchmark": "carrier-sim smpp, two servers in turns",
        "mode": f"compare-{args.mode}",
        "ok": ok,
        "parameters": {**runs[0].get("parameters", {}), "turns": args.turns, "versus": args.versus},
        "servers": servers,
        "ratio": ratios(runs, servers),
        "checks": {"every_run_passed_its_checks": ok},
        # A is the server under test: its targets must hold in every turn.
        "targets": {name: all(t.get(name, False) for t in targets_a) for name in (targets_a[0] if targets_a else {})},
        "runs": runs,
        "errors": [f"turn {r['turn']} {r['server_label']}: {e}" for r in runs for e in r.get("errors", [])],
    }


def cpu_ms_per_1k(result: dict[str, Any]) -> float | None:
    """CPU ms per 1,000 messages from schedstat (ns): at full scale it equals the headline figure from clock
    ticks, and in a short run a tick (10 ms) would be most of a fast server's figure."""
    server = result.get("server") or {}
    precise = server.get("cpu_ms_per_1k_msgs_schedstat")
    return precise if precise is not None else server.get("cpu_ms_per_1k_msgs")


def p99(result: dict[str, Any], name: str) -> float | None:
    return ((result.get("latency_ms") or {}).get(name) or {}).get("p99")


def summarise(command: str | None, runs: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = [v for v in map(cpu_ms_per_1k, runs) if v is not None]
    split = [(r.get("server") or {}).get("cpu_split_per_1k_msgs") or {} for r in runs]
    return {
        "command": name_of(command),
        "cpu_ms_per_1k_msgs": cpu,
        "cpu_ms_per_1k_median": round(statistics.median(cpu), 2) if cpu else None,
        "user_ms_per_1k": [s.get("user_ms") for s in split],
        "system_ms_per_1k": [s.get("system_ms") for s in split],
        "submit_p99_ms": [p99(r, "submit") for r in runs],
        "receipt_minus_delay_p99_ms": [p99(r, "receipt_minus_delay") for r in runs],
        "other_busy_cores": [(r.get("machine_load") or {}).get("other_busy_cores") for r in runs],
    }


def ratios(runs: list[dict[str, Any]], servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A's CPU over B's: of the medians (from `summarise`), and within each turn (the two runs next to each other)."""
    by_turn: dict[int, dict[str, float | None]] = {}
    for result in runs:
        by_turn.setdefault(result["turn"], {})[result["server_label"]] = cpu_ms_per_1k(result)
    per_turn = [round(pair["A"] / pair["B"], 3) for _, pair in sorted(by_turn.items())
                if pair.get("A") and pair.get("B")]
    a, b = servers["A"]["cpu_ms_per_1k_msgs"], servers["B"]["cpu_ms_per_1k_msgs"]
    of_medians = round(statistics.median(a) / statistics.median(b), 3) if a and b and statistics.median(b) else None
    return {"cpu_a_over_b_of_medians": of_medians, "cpu_a_over_b_per_turn": per_turn}


def rows_for(result: dict[str, Any]) -> list[tuple[str, str]]:
    fmt = report.fmt
    servers = result["servers"]
    rows = [(label, server["command"]) for label, server in servers.items()]
    for run in result["runs"]:
        split = (run.get("server") or {}).get("cpu_split_per_1k_msgs") or {}
        rows.append((f"turn {run['turn']} {run['server_label']}",
                     f"{fmt(cpu_ms_per_1k(run))} ms/1k"
                     f" (user {fmt(split.get('user_ms'))}, system {fmt(split.get('system_ms'))})"
                     f"  submit p99 {fmt(p99(run, 'submit'))} ms"
                     f"  receipt - delay p99 {fmt(p99(run, 'receipt_minus_delay'))} ms"
                     f"  other processes {fmt((run.get('machine_load') or {}).get('other_busy_cores'))} cores"
                     + ("" if run["ok"] else f"  FAILED {[k for k, v in run['checks'].items() if not v]}")))
    for label, server in servers.items():
        cpu = server["cpu_ms_per_1k_msgs"]
        rows.append((f"median {label}", f"{fmt(server['cpu_ms_per_1k_median'])} ms/1k"
                                        + (f" ({fmt(min(cpu))}-{fmt(max(cpu))})" if cpu else "")))
    ratio = result["ratio"]
    rows.append(("CPU A / B", f"{fmt(ratio['cpu_a_over_b_of_medians'])} of the medians; per turn "
                              + ", ".join(fmt(v) for v in ratio["cpu_a_over_b_per_turn"])))
    for name, passed in result.get("targets", {}).items():
        rows.append((f"target {name} (A)", "met in every turn" if passed else "MISSED"))
    for error in result.get("errors", [])[:10]:
        rows.append(("error", error))
    return rows
