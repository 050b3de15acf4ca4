"""What the server process costs: CPU from /proc/<pid>/stat, memory from /proc/<pid>/status (Linux only)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    return raw[raw.rindex(b")") + 2:].decode().split()  # fields from 3 (state) on


def user_system_ticks(pid: int) -> tuple[int, int]:
    """(utime, stime) of one process, in clock ticks: Python's work against the kernel's (syscalls, TCP)."""
    fields = _stat_fields(pid)
    return int(fields[11]), int(fields[12])


def syscall_counts(pid: int) -> tuple[int, int]:
    """(read-type, write-type) system calls the process has made, from /proc/<pid>/io (0, 0 if unreadable)."""
    counts = {}
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                key, _, value = line.partition(":")
                counts[key] = int(value)
    except (OSError, ValueError):
        return 0, 0
    return counts.get("syscr", 0), counts.get("syscw", 0)


def cpu_ns_precise(pid: int) -> int:
    """On-CPU time of every thread of the process from /proc/<pid>/task/*/schedstat, in ns (finer than ticks)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def descendants(pid: int) -> list[int]:
    """pid and every process below it (for servers started with --workers)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(name))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def status_kib(pid: int, *keys: str) -> dict[str, int]:
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                found[key] = int(value.split()[0])
    return found


@dataclass
class CpuSample:
    at: float
    ticks: int
    ns: int
    pids: int
    user_ticks: int = 0
    system_ticks: int = 0
    read_calls: int = 0
    write_calls: int = 0

    @property
    def ms(self) -> float:
        return self.ticks * 1000.0 / CLK_TCK


def sample_cpu(pid: int, tree: bool = True) -> CpuSample:
    pids = descendants(pid) if tree else [pid]
    user = system = ns = reads = writes = 0
    for p in pids:
        try:
            utime, stime = user_system_ticks(p)
            ns += cpu_ns_precise(p)
        except OSError:
            continue
        user += utime
        system += stime
        calls = syscall_counts(p)
        reads += calls[0]
        writes += calls[1]
    return CpuSample(time.monotonic(), user + system, ns, len(pids), user, system, reads, writes)


def cpu_delta(start: CpuSample, end: CpuSample) -> dict[str, float]:
    wall = max(end.at - start.at, 1e-9)
    ms = (end.ticks - start.ticks) * 1000.0 / CLK_TCK
    precise = (end.ns - start.ns) / 1e6
    return {"cpu_ms": ms, "cpu_ms_schedstat": round(precise, 3), "wall_s": round(wall, 4),
            "cpu_utilisation": round(ms / 1000.0 / wall, 4), "processes": end.pids,
            "user_ms": (end.user_ticks - start.user_ticks) * 1000.0 / CLK_TCK,
            "system_ms": (end.system_ticks - start.system_ticks) * 1000.0 / CLK_TCK,
            "read_syscalls": end.read_calls - start.read_calls,
            "write_syscalls": end.write_calls - start.write_calls}


class MemoryMonitor:
    """Polls VmRSS (summed over the process tree) every `interval` seconds and keeps the peak; VmHWM too."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss_kib = 0
        self.last_rss_kib = 0
        self.hwm_kib = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-monitor", daemon=True)
        self._tree = [pid]
        self._tree_at = 0.0

    def start(self) -> MemoryMonitor:
        self._thread.start()
        return self

    def poll(self) -> int:
        now = time.monotonic()
        if now - self._tree_at > 1.0:
            try:
                self._tree = descendants(self.pid)
            except OSError:
                pass
            self._tree_at = now
        rss = hwm = 0
        for pid in self._tree:
            try:
                values = status_kib(pid, "VmRSS", "VmHWM")
            except OSError:
                continue
            rss += values.get("VmRSS", 0)
            hwm += values.get("VmHWM", 0)
        if rss:
            self.last_rss_kib = rss
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.hwm_kib = max(self.hwm_kib, hwm)
            if not self.samples or now - self.samples[-1][0] >= 1.0:
                self.samples.append((now, rss))
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.poll()
        return self.report()

    def report(self) -> dict[str, float]:
        return {"rss_peak_mib": round(self.peak_rss_kib / 1024, 1), "rss_last_mib": round(self.last_rss_kib / 1024, 1),
                "vmhwm_mib": round(self.hwm_kib / 1024, 1)}


def own_cpu_seconds() -> float:
    """CPU seconds of this process alone (the client side, for sanity checks).

    Not its children: once the bench has stopped and reaped the server, their times include the server's.
    """
    times = os.times()
    return times.user + times.system


def system_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks over every CPU, from /proc/stat: to see what else ran during a measurement."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def busy_cores(start: tuple[int, int], end: tuple[int, int], wall: float) -> float:
    """How many CPUs were busy on average between two system_ticks() samples."""
    return round((end[0] - start[0]) / CLK_TCK / max(wall, 1e-9), 3)
