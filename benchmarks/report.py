"""Percentiles, the machine description, the printed table and the JSON file."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(values: Iterable[float], scale: float = 1000.0) -> dict[str, float | int | None]:
    """p50/p90/p99/p99.9/max/mean of seconds, in ms (scale), or None fields when there are none."""
    data = values if isinstance(values, list) else list(values)
    count = len(data)
    if not count:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "p999": None, "max": None, "mean": None}
    try:
        import numpy as np

        arr = np.asarray(data, dtype=float) * scale
        p50, p90, p99, p999 = np.percentile(arr, [50, 90, 99, 99.9])
        return {"count": count, "p50": _r(p50), "p90": _r(p90), "p99": _r(p99), "p999": _r(p999),
                "max": _r(arr.max()), "mean": _r(arr.mean()), "min": _r(arr.min())}
    except ImportError:
        ordered = sorted(v * scale for v in data)

        def at(q: float) -> float:
            return ordered[min(count - 1, max(0, int(round(q * (count - 1)))))]

        return {"count": count, "p50": _r(at(.5)), "p90": _r(at(.9)), "p99": _r(at(.99)), "p999": _r(at(.999)),
                "max": _r(ordered[-1]), "mean": _r(sum(ordered) / count), "min": _r(ordered[0])}


def _r(value: float) -> float:
    return round(float(value), 3)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mib() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _git_commit() -> dict[str, Any]:
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read-only: never refresh the index
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                timeout=5, env=env).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10, env=env).stdout.strip()
        return {"commit": commit or None, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def machine() -> dict[str, Any]:
    try:
        import uvloop

        uvloop_version = uvloop.__version__
    except ImportError:
        uvloop_version = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "nproc": os.cpu_count(),
        "cpus_available": affinity,
        "cpu_model": _cpu_model(),
        "mem_total_mib": _mem_total_mib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "uvloop": uvloop_version,
        "loadavg_at_start": list(os.getloadavg()),
        "carrier_sim": _git_commit(),
    }


def now_stamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def default_out(mode: str) -> Path:
    return RESULTS / f"{mode}-{now_stamp()}.json"


def write_json(result: dict[str, Any], out: str | Path | None, mode: str) -> Path:
    path = Path(out) if out else default_out(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")
    return path


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip()


def lat_line(stats: dict[str, Any] | None) -> str:
    if not stats or not stats.get("count"):
        return "-"
    return (f"p50 {fmt(stats['p50'])}  p99 {fmt(stats['p99'])}  max {fmt(stats['max'])} ms"
            f"  (n={stats['count']:,})")


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max((len(k) for k, _ in rows), default=10)
    print()
    print(title)
    print("-" * max(len(title), width + 40))
    for key, value in rows:
        if key == "":
            print()
            continue
        print(f"{key:<{width}}  {value}")
    print()
