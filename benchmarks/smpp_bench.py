"""The SMPP benchmark: client worker processes driving one `carrier-sim serve`, and what they measured.

Modes: burst, paced, sustained, store, binds-only, startup (see README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

from . import procstat, report
from .server import ServerError, ServerProcess, config_yaml, default_server_command, free_port, raise_nofile, scenario_yaml
from .smpp_client import (
    BIND_TRANSCEIVER,
    ENQUIRE_LINK,
    UNBIND,
    Feed,
    SmppBind,
    Tracker,
    bind_pdu,
    build_templates,
    clock,
    open_bind,
)

MODES = ("sustained", "burst", "paced", "store", "binds-only", "startup", "sweep")

# The performance targets of the issue that asked for this bench: CPU parity with a widely used Go SMSC
# simulator, and a paced run with receipts overlapping submits that never stalls.
CPU_MS_PER_1K_TARGET = 25.0
SUBMIT_P99_LIMIT_MS = 5.0
SUBMIT_MAX_LIMIT_MS = 50.0
RECEIPT_LATE_P99_LIMIT_MS = 100.0  # receipt latency minus the configured delay

# Per-mode defaults; anything given on the command line wins.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sustained": {"rate": 10_000, "duration": 20.0, "receipt_delay": 2.0},
    "paced": {"rate": 20_000, "duration": 5.0, "receipt_delay": 2.0},
    "burst": {"messages": 100_000, "receipt_delay": 2.0},
    "store": {"messages": 1_000_000, "receipt_delay": 36_000.0, "window": 50, "binds": 2},
    "binds-only": {"binds": 10_000, "processes": 2},
    "startup": {},
    "sweep": {"rate": 5_000, "duration": 10.0, "receipt_delay": 2.0},  # sustained runs at rising rates (sweep.py)
}


# ======================================================================== worker process


def _recv(conn) -> Any:
    return asyncio.get_running_loop().run_in_executor(None, conn.recv)


def worker_main(conn, spec: dict[str, Any]) -> None:
    """Entry point of one client process (multiprocessing, spawn)."""
    raise_nofile()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        if spec["kind"] == "binds-only":
            asyncio.run(_binds_only_worker(conn, spec))
        else:
            asyncio.run(_messages_worker(conn, spec))
    except Exception as error:  # report, never hang the parent
        import traceback

        conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


async def _open_binds(spec: dict[str, Any], tracker: Tracker, count: int, bind_type: str,
                      templates: bytes = b"", tlen: int = 0, tcount: int = 1) -> tuple[list[SmppBind], array, list[str]]:
    host, port = spec["host"], spec["port"]
    gate = asyncio.Semaphore(spec.get("connect_concurrency", 200))
    latencies = array("d")
    failures: list[str] = []
    opened: list[SmppBind] = []

    async def one() -> None:
        async with gate:
            started = clock()
            try:
                bind = await open_bind(host, port, tracker, bind_type=bind_type, system_id=spec["system_id"],
                                       password=spec["password"], window=spec.get("window", 1), templates=templates,
                                       template_length=tlen, template_count=tcount,
                                       max_batch=spec.get("max_batch", 64), timeout=spec.get("bind_timeout", 30.0))
            except (OSError, asyncio.TimeoutError, ConnectionError) as error:
                failures.append(f"{type(error).__name__}: {error}")
                return
            latencies.append(clock() - started)
            opened.append(bind)

    await asyncio.gather(*(one() for _ in range(count)))
    return opened, latencies, failures


async def _close_binds(binds: list[SmppBind], timeout: float = 3.0) -> None:
    waiting = []
    for bind in binds:
        if bind.transport is not None and not bind.transport.is_closing() and bind.bound:
            try:
                waiting.append(bind.request(UNBIND))
            except Exception:
                pass
    if waiting:
        await asyncio.wait([asyncio.ensure_future(w) for w in waiting], timeout=timeout)
    for bind in binds:
        if bind.transport is not None:
            bind.transport.close()


def _rusage_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _messages_worker(conn, spec: dict[str, Any]) -> None:
    track = spec["track_receipts"]
    tracker = Tracker(track)
    window = spec["window"]
    max_batch = max(1, min(window, 64))
    spec["max_batch"] = max_batch
    templates, tlen = build_templates(spec.get("destinations", 1000), max_batch, spec["text_length"],
                                      spec["registered_delivery"])
    tcount = spec.get("destinations", 1000)
    quotas: list[int] = spec["quotas"]
    bind_type = "transmitter" if spec["bind_type"] == "pair" else "transceiver"
    senders, bind_lat, failures = await _open_binds(spec, tracker, len(quotas), bind_type, templates, tlen, tcount)
    receivers: list[SmppBind] = []
    if spec["bind_type"] == "pair":
        receivers, more_lat, more_fail = await _open_binds(spec, tracker, len(quotas), "receiver")
        bind_lat.extend(more_lat)
        failures.extend(more_fail)
    conn.send(("ready", {"bound": len(senders) + len(receivers), "failed": failures[:20],
                         "failures": len(failures)}))
    message = await _recv(conn)
    if message[0] != "go":
        await _close_binds(senders + receivers)
        return
    _, start = message[:2]
    cpu_before = _rusage_cpu()
    loop = asyncio.get_running_loop()
    wait = start - clock()
    if wait > 0:
        await asyncio.sleep(wait)
    rate = spec["rate_per_bind"]
    total_binds = spec["total_binds"]
    for index, bind in enumerate(senders):
        global_index = spec["first_bind"] + index
        bind.feed = Feed(quotas[index], rate, start, phase=global_index / total_binds if rate > 0 else 0.0)
        bind.feed.due(clock())
        bind.pump(clock())
    ticker_stop = asyncio.Event()

    async def tick() -> None:  # paced: release what has come due, about every millisecond
        while not ticker_stop.is_set():
            now = clock()
            for bind in senders:
                bind.feed.due(now)  # type: ignore[union-attr]
                bind.pump(now)
            await asyncio.sleep(spec.get("tick", 0.001))

    ticker = loop.create_task(tick()) if rate > 0 else None
    stall_timeout = spec["stall_timeout"]
    receipt_delay = spec["receipt_delay"]
    receipt_timeout = spec["receipt_timeout"]
    expect_receipts = spec["registered_delivery"] == 1 and spec.get("wait_receipts", True)
    outcome = "complete"
    tracker.last_progress = start
    all_sent_at = 0.0
    while True:
        await asyncio.sleep(0.01)
        now = clock()
        alive = [b for b in senders if not b.lost.done()]
        if not alive:
            outcome = "all binds lost"
            break
        submitting_done = all(b.done_submitting for b in senders)
        if not submitting_done:
            in_flight = sum(b.in_flight for b in alive)
            if in_flight and now - tracker.last_progress > stall_timeout:
                outcome = f"stalled: {in_flight} submits unanswered for {stall_timeout:g}s"
                break
            continue
        if ticker is not None:
            ticker_stop.set()
        if not all_sent_at:
            all_sent_at = now
        if not expect_receipts or not track:
            if not expect_receipts or tracker.receipts >= tracker.resp_ok:
                break
        elif not tracker.pending and not tracker.early:
            break
        if now - max(tracker.last_progress, all_sent_at) > receipt_delay + receipt_timeout:
            outcome = f"receipts missing after {receipt_delay + receipt_timeout:g}s without progress"
            break
    ticker_stop.set()
    if ticker is not None:
        await asyncio.gather(ticker, return_exceptions=True)
    finished = clock()
    lost = sum(1 for b in senders + receivers if b.lost.done())
    unbound = sum(1 for b in senders + receivers if b.unbound_by_peer)
    unanswered = sum(max(0, b.in_flight) for b in senders)
    result = {
        "outcome": outcome,
        "finished": finished,
        "submitted": tracker.submitted,
        "resp_ok": tracker.resp_ok,
        "resp_error": dict(tracker.resp_error),
        "unanswered": unanswered,
        "receipts": tracker.receipts,
        "duplicates": tracker.duplicates,
        "missing": len(tracker.pending) if track else max(0, tracker.resp_ok - tracker.receipts) if expect_receipts else 0,
        "unknown_receipts": len(tracker.early),
        "other_deliver": tracker.other_deliver,
        "first_write": tracker.first_write,
        "last_write": tracker.last_write,
        "last_resp": tracker.last_resp,
        "last_receipt": tracker.last_receipt,
        "binds_lost": lost,
        "binds_unbound_by_server": unbound,
        "errors": tracker.errors[:20],
        "client_cpu_s": _rusage_cpu() - cpu_before,
        "submit_latency": tracker.submit_latency.tobytes(),
        "corrected_latency": tracker.corrected_latency.tobytes(),
        "lateness": tracker.lateness.tobytes(),
        "receipt_latency": tracker.receipt_latency.tobytes(),
        "bind_latency": bind_lat.tobytes(),
    }
    conn.send(("result", result))
    await _recv(conn)
    await _close_binds(senders + receivers)


async def _binds_only_worker(conn, spec: dict[str, Any]) -> None:
    tracker = Tracker(False)
    count = spec["count"]
    started = clock()
    binds, bind_lat, failures = await _open_binds(spec, tracker, count, spec["bind_type_name"])
    conn.send(("ready", {"bound": len(binds), "failures": len(failures), "failed": failures[:20],
                         "open_seconds": clock() - started, "bind_latency": bind_lat.tobytes()}))
    message = await _recv(conn)
    if message[0] != "go":
        await _close_binds(binds)
        return
    _, start, spread, rounds, gap, total, offset = message
    loop = asyncio.get_running_loop()
    rtts = array("d")
    failed = Counter()
    outstanding = [0]
    all_sent = asyncio.Event()
    done = asyncio.Event()
    sent_count = [0]
    planned = len(binds) * rounds

    def answered(future: asyncio.Future) -> None:
        outstanding[0] -= 1
        if future.cancelled() or future.exception() is not None:
            failed["lost"] += 1
        else:
            status, rtt, _ = future.result()
            if status:
                failed[f"0x{status:02X}"] += 1
            else:
                rtts.append(rtt)
        if all_sent.is_set() and outstanding[0] == 0:
            done.set()

    def send(bind: SmppBind) -> None:
        sent_count[0] += 1
        if sent_count[0] == planned:
            all_sent.set()
        if bind.lost.done() or bind.transport is None or bind.transport.is_closing():
            failed["lost"] += 1
            if all_sent.is_set() and outstanding[0] == 0:
                done.set()
            return
        outstanding[0] += 1
        bind.request(ENQUIRE_LINK).add_done_callback(answered)

    shift = loop.time() - clock()
    for r in range(rounds):
        for index, bind in enumerate(binds):
            at = start + r * gap + ((offset + index) * spread / max(1, total))
            loop.call_at(at + shift, send, bind)
    if not binds:
        done.set()
    try:
        await asyncio.wait_for(done.wait(), timeout=max(0.0, start - clock()) + rounds * gap + spread + 30)
        outcome = "complete"
    except asyncio.TimeoutError:
        outcome = f"timeout: {outstanding[0]} enquire_link unanswered"
    conn.send(("result", {"outcome": outcome, "rtt": rtts.tobytes(), "failed": dict(failed),
                          "sent": sent_count[0], "binds_lost": sum(1 for b in binds if b.lost.done())}))
    await _recv(conn)
    await _close_binds(binds, timeout=5.0)


# ======================================================================== parent side


class Workers:
    """Client processes (multiprocessing spawn) and their pipes."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for spec in specs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def gather(self, kind: str, timeout: float) -> list[dict[str, Any]]:
        results: list[Any] = [None] * len(self.pipes)
        deadline = time.monotonic() + timeout
        while any(r is None for r in results):
            for i, pipe in enumerate(self.pipes):
                if results[i] is None and pipe.poll(0.02):
                    tag, payload = pipe.recv()
                    if tag == "error":
                        raise RuntimeError(f"client process {i} failed: {payload}")
                    results[i] = payload
                elif results[i] is None and not self.procs[i].is_alive():
                    raise RuntimeError(f"client process {i} died (exit code {self.procs[i].exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"client processes sent no {kind} within {timeout:g}s")
        return results

    def send(self, message: Any) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(message)
            except (BrokenPipeError, OSError):
                pass

    def close(self) -> None:
        self.send(("close",))
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(2)


def _arr(data: bytes) -> array:
    values = array("d")
    values.frombytes(data)
    return values


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class Target:
    """The server under test: one we spawn, or --target host:port with --server-pid."""

    def __init__(self, args: argparse.Namespace, *, receipt_delay: float, window: int) -> None:
        self.server: ServerProcess | None = None
        self.args = args
        if args.target:
            host, _, port = args.target.rpartition(":")
            self.host, self.port = host or "127.0.0.1", int(port)
            self.pid = args.server_pid
        else:
            import yaml

            extra = yaml.safe_load(args.config_extra) if args.config_extra else None
            if extra is not None and not isinstance(extra, dict):
                raise SystemExit("--config-extra must be a YAML mapping")
            server_window = args.server_window if args.server_window is not None else max(window, 10)
            self.server = ServerProcess(
                scenario=scenario_yaml(receipt_delay),
                config=config_yaml(window=server_window, deliver_window=args.deliver_window, extra=extra),
                command=shlex.split(args.server_cmd) if args.server_cmd else None,
                extra_args=shlex.split(args.server_args or ""),
            )
            self.server.spawn()
            self.server.wait_ready()
            self.host, self.port = self.server.smpp
            self.pid = self.server.pid
        self.monitor = procstat.MemoryMonitor(self.pid).start() if self.pid else None

    def alive(self) -> bool:
        if self.server is not None:
            return self.server.alive()
        if self.pid:
            return Path(f"/proc/{self.pid}").exists()
        return True

    def cpu(self) -> procstat.CpuSample | None:
        if not self.pid:
            return None
        try:
            return procstat.sample_cpu(self.pid, tree=True)
        except OSError:
            return None

    def rss_mib(self) -> float | None:
        if not self.monitor:
            return None
        rss = self.monitor.poll()
        return round(rss / 1024, 1) if rss else None

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"spawned": self.server is not None, "smpp": f"{self.host}:{self.port}", "pid": self.pid}
        if self.server is not None:
            info.update(self.server.describe())
        return info

    def gc_pauses(self) -> dict[str, float] | None:
        """The server's garbage-collector pauses, from its /metrics: collections, total and longest (ms)."""
        if self.server is None or "control" not in self.server.listeners:
            return None
        host, port = self.server.listeners["control"]
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in ("carrier_sim_gc_pause_seconds_count", "carrier_sim_gc_pause_seconds_sum",
                        "carrier_sim_gc_pause_max_seconds"):
                values[name] = float(value)
        if not values:
            return None
        return {"collections": int(values.get("carrier_sim_gc_pause_seconds_count", 0)),
                "total_ms": round(values.get("carrier_sim_gc_pause_seconds_sum", 0.0) * 1000, 1),
                "longest_ms": round(values.get("carrier_sim_gc_pause_max_seconds", 0.0) * 1000, 1)}

    def finish(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self.monitor is not None:
            info.update(self.monitor.stop())
        if self.server is not None:
            pauses = self.gc_pauses()
            if pauses is not None:
                info["gc_pauses"] = pauses
            alive = self.server.alive()
            info["status_at_end"] = "running" if alive else self.server.exit_status()
            info["stop"] = self.server.stop()
            tail = self.server.stderr_tail(30)
            if tail:
                info["stderr_tail"] = tail
        return info


def _failed(result: dict[str, Any], error: Exception, target: Target | None, workers: Workers | None) -> dict[str, Any]:
    """The run could not finish: say why, with what the server said and how it ended."""
    result["errors"].append(f"{type(error).__name__}: {error}")
    if workers is not None:
        workers.close()
    if target is not None:
        result["server"] = {**target.describe(), **target.finish()}
    else:
        result["server"] = {"spawned": False}
    result["checks"] = {"run_completed": False}
    return result


class PySpy:
    """`py-spy record --format raw` on the server for part of the run; the top functions by own time."""

    def __init__(self, pid: int, seconds: float, out_dir: Path, stamp: str, rate: int = 100) -> None:
        self.path = out_dir / f"profile-{stamp}.txt"
        self.svg = out_dir / f"profile-{stamp}.svg"
        exe = shutil.which("py-spy")
        self.proc = None
        self.error = None
        if exe is None:
            self.error = "py-spy is not installed (pip install py-spy)"
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                                      "--rate", str(rate), "--format", "raw", "--output", str(self.path), "--nonblocking"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish(self, top: int = 25) -> dict[str, Any]:
        if self.proc is None:
            return {"error": self.error}
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.path.exists():
            return {"error": f"py-spy wrote nothing: {err.strip()[-500:]}"}
        return {"raw": str(self.path), **top_functions(self.path, top)}


def top_functions(path: Path, top: int = 25) -> dict[str, Any]:
    """Own (leaf) and total (inclusive) sample counts per function from py-spy's raw (collapsed) output."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[_frame(frames[-1])] += n
        for frame in set(_frame(f) for f in frames):
            total[frame] += n
    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": name, "samples": n, "percent": round(100.0 * n / max(1, samples), 2)}
                for name, n in counter.most_common(top)]
    return {"samples": samples, "top_own": rows(own), "top_total": rows(total)}


def _frame(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number, keep the file.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})" if file else name


# ------------------------------------------------------------------------ message modes


def run_messages(args: argparse.Namespace) -> dict[str, Any]:
    mode = args.mode
    receipts = not args.no_receipts
    paced = mode in ("paced", "sustained")
    binds = args.binds
    processes = max(1, min(args.processes, binds))
    if paced:
        total = int(round(args.rate * args.duration))
        rate_per_bind = args.rate / binds
    else:
        total = args.messages
        rate_per_bind = 0.0
    quotas = _split(total, binds)
    per_process = _split(binds, processes)
    track = receipts and mode != "store"
    result: dict[str, Any] = {"benchmark": "carrier-sim smpp", "mode": mode, "ok": False, "errors": []}
    workers = None
    profiler = None
    target = None
    try:
        target = Target(args, receipt_delay=args.receipt_delay, window=args.window)
        rss_idle = target.rss_mib()
        specs = []
        first = 0
        for p, count in enumerate(per_process):
            specs.append({
                "kind": "messages", "host": target.host, "port": target.port,
                "system_id": f"{args.system_id}{p + 1}" if processes > 1 else args.system_id,
                "password": args.password, "window": args.window, "bind_type": args.bind_type,
                "quotas": quotas[first:first + count], "first_bind": first, "total_binds": binds,
                "rate_per_bind": rate_per_bind, "track_receipts": track,
                "registered_delivery": 1 if receipts else 0, "wait_receipts": mode != "store",
                "receipt_delay": args.receipt_delay, "receipt_timeout": args.receipt_timeout,
                "stall_timeout": args.stall_timeout, "text_length": args.text_length,
                "destinations": args.destinations, "connect_concurrency": 200,
            })
            first += count
        workers = Workers(specs)
        ready = workers.gather("ready", 120)
        bound = sum(r["bound"] for r in ready)
        failures = sum(r["failures"] for r in ready)
        if failures:
            result["errors"].append(f"{failures} binds failed: {ready[0].get('failed') or ready[-1].get('failed')}")
        if not target.alive():
            raise ServerError("the server died while binding")
        rss_bound = target.rss_mib()
        cpu_start = target.cpu()
        system_start = procstat.system_ticks()
        client_cpu_start = procstat.own_cpu_seconds()
        start = clock() + 0.2
        workers.send(("go", start))
        if args.py_spy and target.pid:
            time.sleep(max(0.0, start - clock() + args.py_spy_delay))
            profiler = PySpy(target.pid, args.py_spy, Path(args.out).parent if args.out else report.RESULTS,
                             report.now_stamp(), rate=args.py_spy_rate)
        budget = (args.duration if paced else 0) + args.receipt_delay * (0 if mode == "store" else 1) + \
            args.receipt_timeout + args.stall_timeout + max(60.0, total / 2000.0)
        results = workers.gather("result", budget)
        cpu_end = target.cpu()
        system_end = procstat.system_ticks()
        rss_end = target.rss_mib()
        if mode == "store":
            time.sleep(1.0)
            rss_end = target.rss_mib()
        server_alive = target.alive()
        workers.close()
        workers = None
    except (ServerError, RuntimeError, TimeoutError, OSError) as error:
        return _failed(result, error, target, workers)
    # ------------------------------------------------------------ merge
    merged: dict[str, Any] = {k: 0 for k in ("submitted", "resp_ok", "unanswered", "receipts", "duplicates", "missing",
                                             "unknown_receipts", "other_deliver", "binds_lost", "binds_unbound_by_server")}
    errors_by_status: Counter[str] = Counter()
    for r in results:
        for key in merged:
            merged[key] += r[key]
        for status, n in r["resp_error"].items():
            errors_by_status[f"0x{int(status):02X}"] += n
        result["errors"].extend(r["errors"])
        if r["outcome"] != "complete":
            result["errors"].append(r["outcome"])
    submit_lat = array("d")
    receipt_lat = array("d")
    corrected = array("d")
    lateness = array("d")
    for r in results:
        submit_lat.extend(_arr(r["submit_latency"]))
        receipt_lat.extend(_arr(r["receipt_latency"]))
        corrected.extend(_arr(r["corrected_latency"]))
        lateness.extend(_arr(r["lateness"]))
    first_write = min((r["first_write"] for r in results if r["first_write"]), default=start)
    last_write = max(r["last_write"] for r in results)
    last_resp = max(r["last_resp"] for r in results)
    last_receipt = max(r["last_receipt"] for r in results)
    submit_window = max(last_resp - first_write, 1e-9)
    delay = args.receipt_delay
    resp_errors = sum(errors_by_status.values())
    counts = {
        "planned": total, "submitted": merged["submitted"], "resp_ok": merged["resp_ok"], "resp_errors": resp_errors,
        "resp_errors_by_status": dict(errors_by_status), "unanswered": merged["unanswered"],
        "receipts": merged["receipts"], "duplicates": merged["duplicates"], "missing": merged["missing"],
        "unknown_receipts": merged["unknown_receipts"], "other_deliver_sm": merged["other_deliver"],
        "binds": bound, "bind_failures": failures, "binds_lost": merged["binds_lost"],
        "binds_unbound_by_server": merged["binds_unbound_by_server"],
    }
    cpu = procstat.cpu_delta(cpu_start, cpu_end) if cpu_start and cpu_end else None
    messages = merged["submitted"]
    server: dict[str, Any] = target.describe()
    if cpu:
        server["cpu"] = cpu
        server["cpu_ms_per_1k_msgs"] = round(cpu["cpu_ms"] / max(1, messages) * 1000, 2)
        server["cpu_ms_per_1k_msgs_schedstat"] = round(cpu["cpu_ms_schedstat"] / max(1, messages) * 1000, 2)
        per_1k = 1000 / max(1, messages)
        # Where it goes: the interpreter (user) or the kernel (system: syscalls, loopback TCP), and how
        # many reads and writes each 1,000 messages cost -- the I/O batching the server achieved.
        server["cpu_split_per_1k_msgs"] = {
            "user_ms": round(cpu["user_ms"] * per_1k, 2), "system_ms": round(cpu["system_ms"] * per_1k, 2),
            "read_syscalls": round(cpu["read_syscalls"] * per_1k, 1),
            "write_syscalls": round(cpu["write_syscalls"] * per_1k, 1),
        }
    server["rss_idle_mib"] = rss_idle
    server["rss_bound_mib"] = rss_bound
    server["rss_end_mib"] = rss_end
    server["alive_after_run"] = server_alive
    server.update(target.finish())
    client_cpu = sum(r["client_cpu_s"] for r in results)
    wall_run = max(max(r["finished"] for r in results) - start, 1e-9)
    if cpu:
        busy = procstat.busy_cores(system_start, system_end, cpu["wall_s"])
        result["machine_load"] = {
            "busy_cores": busy,
            # Whatever else ran meanwhile (other processes on a shared machine) skews the figures: say how much.
            "other_busy_cores": round(max(0.0, busy - cpu["cpu_utilisation"] - client_cpu / cpu["wall_s"]), 3),
            "loadavg_at_end": list(os.getloadavg()),
        }
    result.update({
        "parameters": _parameters(args, total=total, rate_per_bind=rate_per_bind, processes=processes),
        "counts": counts,
        "throughput": {
            "offered_rate": args.rate if paced else None,
            "submit_per_s": round(messages / max(last_write - first_write, 1e-9), 1) if messages > 1 else None,
            "resp_per_s": round((merged["resp_ok"] + resp_errors) / submit_window, 1),
            "receipt_per_s": round(merged["receipts"] / max(last_receipt - first_write, 1e-9), 1)
            if merged["receipts"] else None,
            "submit_phase_s": round(submit_window, 3),
            "first_submit_to_last_receipt_s": round(max(last_receipt, last_resp) - first_write, 3),
        },
        "latency_ms": {
            "submit": report.percentiles(submit_lat),
            "submit_from_schedule": report.percentiles(corrected) if paced else None,
            "send_lateness": report.percentiles(lateness) if paced else None,
            "receipt": report.percentiles(receipt_lat),
            "receipt_minus_delay": report.percentiles([v - delay for v in receipt_lat]) if receipt_lat else None,
        },
        "lateness": {
            "late_over_1ms": sum(1 for v in lateness if v > 0.001),
            "late_over_10ms": sum(1 for v in lateness if v > 0.010),
            "late_over_100ms": sum(1 for v in lateness if v > 0.100),
        } if paced else None,
        "server": server,
        "client": {"processes": processes, "cpu_s": round(client_cpu, 3),
                   "cpu_utilisation": round(client_cpu / wall_run, 3),
                   "parent_cpu_s": round(procstat.own_cpu_seconds() - client_cpu_start, 3)},
    })
    if profiler is not None:
        result["profile"] = profiler.finish()
    if mode == "store":
        grown = (rss_end or 0) - (rss_bound or 0)
        server["store_messages"] = merged["resp_ok"]
        server["store_bytes_per_message"] = round(grown * 1024 * 1024 / max(1, merged["resp_ok"]), 1)
    checks = {
        "every_submit_answered": merged["unanswered"] == 0 and merged["resp_ok"] + resp_errors == merged["submitted"],
        "all_planned_submitted": merged["submitted"] == total,
        "no_submit_errors": resp_errors == 0,
        "server_alive": server_alive,
    }
    if receipts and mode != "store":
        checks["every_receipt_once"] = (merged["receipts"] == merged["resp_ok"] and merged["duplicates"] == 0
                                        and merged["missing"] == 0 and merged["unknown_receipts"] == 0)
    checks["no_stall_or_lost_bind"] = not any("stalled" in e or "lost" in e for e in result["errors"])
    targets = performance_targets(result, rate=args.rate, paced=paced, receipts=receipts)
    result["checks"] = checks
    result["targets"] = targets
    result["ok"] = all(checks.values())
    return result


def performance_targets(result: dict[str, Any], *, rate: float, paced: bool, receipts: bool) -> dict[str, bool]:
    """Which of the issue's targets this run met, among those that apply to its mode."""
    mode, latency, server = result["mode"], result["latency_ms"], result["server"]
    targets: dict[str, bool] = {}
    if paced:
        achieved = result["throughput"]["submit_per_s"] or 0.0
        late_p99 = (latency["send_lateness"] or {}).get("p99")
        targets["rate_sustained"] = achieved >= 0.97 * rate and late_p99 is not None and late_p99 < 100.0
        submit = latency["submit"]
        targets["submit_p99_at_most_5ms"] = submit["p99"] is not None and submit["p99"] <= SUBMIT_P99_LIMIT_MS
        targets["submit_max_at_most_50ms"] = submit["max"] is not None and submit["max"] <= SUBMIT_MAX_LIMIT_MS
        if receipts:
            late = (latency["receipt_minus_delay"] or {}).get("p99")
            targets["receipt_p99_within_100ms_of_delay"] = late is not None and late <= RECEIPT_LATE_P99_LIMIT_MS
    if mode == "store":
        targets["rss_under_1gib"] = (server.get("rss_peak_mib") or 0) < 1024
    elif receipts and server.get("cpu_ms_per_1k_msgs") is not None:
        targets["cpu_at_most_25ms_per_1k_msgs"] = server["cpu_ms_per_1k_msgs"] <= CPU_MS_PER_1K_TARGET
    return targets


# ------------------------------------------------------------------------ binds-only


def run_binds_only(args: argparse.Namespace) -> dict[str, Any]:
    binds = args.binds
    processes = max(1, min(args.processes, binds))
    result: dict[str, Any] = {"benchmark": "carrier-sim smpp", "mode": "binds-only", "ok": False, "errors": []}
    workers = None
    target = None
    try:
        target = Target(args, receipt_delay=args.receipt_delay, window=args.window)
        time.sleep(0.3)
        rss_idle = target.rss_mib()
        cpu_idle_start = target.cpu()
        per_process = _split(binds, processes)
        specs = [{"kind": "binds-only", "host": target.host, "port": target.port,
                  "system_id": f"{args.system_id}{p + 1}", "password": args.password, "count": count,
                  "bind_type_name": "transceiver" if args.bind_type == "transceiver" else args.bind_type,
                  "connect_concurrency": args.connect_concurrency, "bind_timeout": 60.0}
                 for p, count in enumerate(per_process)]
        opened_at = clock()
        workers = Workers(specs)
        ready = workers.gather("ready", 300)
        # Bind time as the client processes saw it (their own start-up excluded).
        open_seconds = max((r["open_seconds"] for r in ready), default=clock() - opened_at)
        cpu_bound = target.cpu()
        bound = sum(r["bound"] for r in ready)
        failures = sum(r["failures"] for r in ready)
        if failures:
            result["errors"].append(f"{failures} binds failed, e.g. {next(r['failed'] for r in ready if r['failed'])}")
        bind_lat = array("d")
        for r in ready:
            bind_lat.extend(_arr(r["bind_latency"]))
        time.sleep(0.5)
        rss_bound = target.rss_mib()
        # What 10,000 idle binds cost the server: its housekeeping tick walks every connection each second.
        idle_a = target.cpu()
        time.sleep(args.idle_seconds)
        idle_b = target.cpu()
        start = clock() + 0.3
        offsets = [sum(per_process[:p]) for p in range(processes)]
        for p, pipe in enumerate(workers.pipes):
            pipe.send(("go", start, args.enquire_spread, args.enquire_rounds, args.enquire_gap, bound, offsets[p]))
        cpu_start = target.cpu()
        results = workers.gather("result", args.enquire_rounds * args.enquire_gap + args.enquire_spread + 120)
        cpu_end = target.cpu()
        rss_end = target.rss_mib()
        alive = target.alive()
        workers.close()
        workers = None
    except (ServerError, RuntimeError, TimeoutError, OSError) as error:
        return _failed(result, error, target, workers)
    rtt = array("d")
    failed: Counter[str] = Counter()
    for r in results:
        rtt.extend(_arr(r["rtt"]))
        failed.update(r["failed"])
        if r["outcome"] != "complete":
            result["errors"].append(r["outcome"])
    server = target.describe()
    server.update({
        "rss_idle_mib": rss_idle, "rss_bound_mib": rss_bound, "rss_end_mib": rss_end,
        "rss_per_bind_kib": round(((rss_bound or 0) - (rss_idle or 0)) * 1024 / max(1, bound), 2),
        "cpu_binding": procstat.cpu_delta(cpu_idle_start, cpu_bound) if cpu_idle_start and cpu_bound else None,
        "cpu_idle_with_binds": procstat.cpu_delta(idle_a, idle_b) if idle_a and idle_b else None,
        "cpu_enquire_phase": procstat.cpu_delta(cpu_start, cpu_end) if cpu_start and cpu_end else None,
        "alive_after_run": alive,
    })
    server.update(target.finish())
    enquire = report.percentiles(rtt)
    result.update({
        "parameters": _parameters(args, processes=processes),
        "counts": {"binds_planned": binds, "binds": bound, "bind_failures": failures,
                   "enquire_sent": sum(r["sent"] for r in results), "enquire_answered": len(rtt),
                   "enquire_failed": dict(failed), "binds_lost": sum(r["binds_lost"] for r in results)},
        "binding": {"open_seconds": round(open_seconds, 3),
                    "binds_per_s": round(bound / max(open_seconds, 1e-9), 1),
                    "bind_latency_ms": report.percentiles(bind_lat)},
        "latency_ms": {"enquire_link": enquire},
        "server": server,
    })
    limit = args.enquire_limit_ms
    checks = {
        "all_bound": bound == binds,
        "every_enquire_answered": len(rtt) == bound * args.enquire_rounds and not failed,
        "server_alive": alive,
    }
    result["targets"] = {
        f"enquire_p50_under_{limit:g}ms": enquire["p50"] is not None and enquire["p50"] < limit,
        f"enquire_p99_under_{limit:g}ms": enquire["p99"] is not None and enquire["p99"] < limit,
        f"enquire_max_under_{limit:g}ms": enquire["max"] is not None and enquire["max"] < limit,
        "rss_under_1gib": (server.get("rss_peak_mib") or 0) < 1024,
    }
    result["checks"] = checks
    result["ok"] = all(checks.values())
    return result


# ------------------------------------------------------------------------ startup


def _try_bind(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            sock.sendall(bind_pdu(BIND_TRANSCEIVER, 1, "startup", "startup"))
            data = b""
            while len(data) < 16:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                data += chunk
            import struct

            _, command, status, _ = struct.unpack(">IIII", data[:16])
            return command == BIND_TRANSCEIVER | 0x80000000 and status == 0
    except OSError:
        return False


def run_startup(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "carrier-sim smpp", "mode": "startup", "ok": False, "errors": []}
    times: list[float] = []
    banner: list[float] = []
    rss: list[float] = []
    command = shlex.split(args.server_cmd) if args.server_cmd else default_server_command()
    for attempt in range(args.repeat):
        port = free_port()
        server = ServerProcess(scenario=scenario_yaml(args.receipt_delay),
                               config=config_yaml(window=max(args.window, 10)), command=command,
                               extra_args=shlex.split(args.server_args or ""))
        server.spawn(port=port, control_port=0)
        spawned = server.spawned_at
        bound_at = None
        deadline = spawned + args.startup_timeout
        while clock() < deadline:
            if not server.alive():
                break
            if _try_bind("127.0.0.1", port, 1.0):
                bound_at = clock()
                break
            time.sleep(0.002)
        if bound_at is None:
            result["errors"].append(f"attempt {attempt + 1}: no successful bind within {args.startup_timeout:g}s "
                                    f"({server.exit_status()}): {server.stderr_tail(10)}")
        else:
            times.append(bound_at - spawned)
            server.wait_ready(5)
            if server._last_line_at:
                banner.append(server._last_line_at - spawned)
            try:
                rss.append(procstat.status_kib(server.pid, "VmRSS")["VmRSS"] / 1024)
            except OSError:
                pass
        server.stop()
    stats = report.percentiles(times)
    result.update({
        "parameters": _parameters(args),
        "startup_ms": stats,
        "attempts_ms": [round(t * 1000, 1) for t in times],
        "banner_printed_ms": report.percentiles(banner),
        "server": {"command": " ".join(command) + " serve --port P --control-port 0 --scenario S --config C",
                   "rss_after_start_mib": round(max(rss), 1) if rss else None},
        "counts": {"attempts": args.repeat, "successful": len(times)},
    })
    result["checks"] = {"all_started": len(times) == args.repeat}
    result["targets"] = {"startup_under_1s": bool(times) and max(times) < 1.0}
    result["ok"] = all(result["checks"].values())
    return result


def _parameters(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    params = {k: v for k, v in vars(args).items() if k not in ("func",)}
    params.update(extra)
    return params
