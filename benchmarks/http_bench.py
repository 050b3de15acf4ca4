"""The Twilio HTTP benchmark: Message creates per second, with status callbacks to a receiver the bench runs.

`python -m benchmarks http` (or `python benchmarks/http_bench.py`) spawns `carrier-sim serve` (or uses
`--url` and `--server-pid`), POSTs form-encoded creates to /2010-04-01/Accounts/{AccountSid}/Messages.json
over keep-alive connections from a raw asyncio HTTP/1.1 client, and counts the StatusCallback POSTs that
come back to its own asyncio HTTP server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import shlex
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

if __package__ in (None, ""):  # run as a script: python benchmarks/http_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks import procstat, report  # noqa: E402
from benchmarks.run import count, finish, seconds  # noqa: E402
from benchmarks.server import ServerError, ServerProcess, config_yaml, raise_nofile, scenario_yaml  # noqa: E402

clock = time.monotonic
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "benchtoken"
SENDER = "+14155550100"
FINAL = ("delivered", "undelivered", "failed")
_SID = re.compile(rb'"sid"\s*:\s*"([A-Z]{2}[0-9a-fA-F]{32})"')
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.IGNORECASE)


# ------------------------------------------------------------------------ the status callback receiver


class Callbacks:
    """Every status callback, by MessageSid, with its arrival time."""

    def __init__(self) -> None:
        self.by_sid: dict[str, dict[str, float]] = {}
        self.total = 0
        self.duplicates = 0
        self.by_status: Counter[str] = Counter()
        self.malformed = 0
        self.last = 0.0
        self.finals = 0  # final statuses of the run's messages (the probe's are not counted)
        self.ignored: set[str] = set()  # the probe's sid: its callbacks must not end the wait early

    def add(self, body: bytes, now: float) -> None:
        sid = status = ""
        for pair in body.split(b"&"):
            key, _, value = pair.partition(b"=")
            if key == b"MessageSid":
                sid = value.decode()
            elif key == b"MessageStatus":
                status = value.decode()
        if not sid or not status:
            self.malformed += 1
            return
        self.total += 1
        self.last = now
        self.by_status[status] += 1
        seen = self.by_sid.setdefault(sid, {})
        if status in seen:
            self.duplicates += 1
            return
        seen[status] = now
        if status in FINAL and sid not in self.ignored:
            self.finals += 1


class CallbackServer(asyncio.Protocol):
    """A minimal HTTP/1.1 server: every request is answered 200 with an empty body, keep-alive."""

    OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ncontent-type: text/plain\r\n\r\n"

    def __init__(self, callbacks: Callbacks) -> None:
        self.callbacks = callbacks
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = clock()
        buffer = self.buffer + data if self.buffer else data
        answers = 0
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            match = _CONTENT_LENGTH.search(buffer, 0, head_end + 2)
            length = int(match.group(1)) if match else 0
            end = head_end + 4 + length
            if len(buffer) < end:
                break
            self.callbacks.add(buffer[head_end + 4:end], now)
            buffer = buffer[end:]
            answers += 1
        self.buffer = buffer
        if answers:
            self.transport.write(self.OK * answers)  # type: ignore[union-attr]


# ------------------------------------------------------------------------ the create client


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request at a time; responses parsed by Content-Length (or chunks)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def request(self, data: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)  # type: ignore[union-attr]
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end + 2]
        match = _CONTENT_LENGTH.search(head)
        if match:
            end = head_end + 4 + int(match.group(1))
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4:end]
            self.buffer = self.buffer[end:]
        elif _CHUNKED.search(head):
            body, rest = _dechunk(self.buffer[head_end + 4:])
            if body is None:
                return
            self.buffer = rest
        else:
            return
        status = int(head[9:12])
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))


def _dechunk(data: bytes) -> tuple[bytes | None, bytes]:
    body, pos = [], 0
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None, data
        size = int(data[pos:line_end].split(b";")[0], 16)
        start = line_end + 2
        if len(data) < start + size + 2:
            return None, data
        if size == 0:
            return b"".join(body), data[start + 2:]
        body.append(data[start:start + size])
        pos = start + size + 2


def create_request(host: str, port: int, account: str, token: str, callback: str, to: str, text: str) -> bytes:
    form = f"To={quote(to)}&From={quote(SENDER)}&Body={quote(text)}&StatusCallback={quote(callback, safe='')}"
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    return (f"POST /2010-04-01/Accounts/{account}/Messages.json HTTP/1.1\r\nhost: {host}:{port}\r\n"
            f"authorization: Basic {auth}\r\ncontent-type: application/x-www-form-urlencoded\r\n"
            f"accept: application/json\r\ncontent-length: {len(form)}\r\n\r\n{form}").encode()


# ------------------------------------------------------------------------ the run


async def drive(args: argparse.Namespace, host: str, port: int, on_start, on_creates_done) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    callbacks = Callbacks()
    receiver = await loop.create_server(lambda: CallbackServer(callbacks), "127.0.0.1", 0, backlog=1024)
    callback_url = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/status"
    requests = [create_request(host, port, args.account_sid, args.auth_token, callback_url,
                               f"+1415{n % 10_000_000:07d}", "carrier-sim http benchmark")
                for n in range(1000)]
    # Probe: is the Twilio API there at all?
    _, probe = await loop.create_connection(HttpConnection, host, port)
    status, body = await asyncio.wait_for(probe.request(requests[0]), 30)
    probe.transport.close()
    probe_sid = _SID.search(body)
    if probe_sid is not None:
        callbacks.ignored.add(probe_sid.group(1).decode())
    if status == 404:
        receiver.close()
        return {"skipped": f"the Twilio API answered 404 at http://{host}:{port}"
                           f"/2010-04-01/Accounts/{{sid}}/Messages.json (not mounted in this build)"}
    if status != 201:
        receiver.close()
        return {"error": f"the probe create answered {status}: {body[:300]!r}"}
    connections = []
    for _ in range(args.concurrency):
        _, conn = await loop.create_connection(HttpConnection, host, port)
        connections.append(conn)
    paced = args.mode == "paced"
    total = int(args.rate * args.duration) if paced else args.creates
    created: dict[str, float] = {}
    latency = array("d")
    lateness = array("d")
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    next_index = [0]
    first_write = [0.0]
    last_response = [0.0]
    await asyncio.sleep(0.1)
    on_start()
    start = clock()

    async def worker(conn: HttpConnection) -> None:
        while True:
            index = next_index[0]
            if index >= total:
                return
            next_index[0] += 1
            if paced:
                due = start + index / args.rate
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            written = clock()
            if paced:
                lateness.append(written - due)
            if not first_write[0]:
                first_write[0] = written
            try:
                status, body = await conn.request(requests[index % len(requests)])
            except ConnectionError as error:
                errors.append(str(error))
                statuses[-1] += 1
                return
            now = clock()
            latency.append(now - written)
            last_response[0] = now
            statuses[status] += 1
            if status == 201:
                match = _SID.search(body)
                if match:
                    created[match.group(1).decode()] = written
                else:
                    errors.append(f"201 without a sid: {body[:200]!r}")
            elif len(errors) < 20:
                errors.append(f"{status}: {body[:200]!r}")

    await asyncio.gather(*(worker(c) for c in connections))
    creates_done = clock()
    on_creates_done()
    outcome = "complete"
    deadline = creates_done + args.receipt_delay + args.callback_timeout
    while callbacks.finals < len(created):
        await asyncio.sleep(0.02)
        if clock() > deadline and clock() - callbacks.last > args.callback_timeout:
            outcome = f"final status callbacks missing after {args.receipt_delay + args.callback_timeout:g}s"
            break
    finished = clock()
    for conn in connections:
        conn.transport.close()
    receiver.close()
    if probe_sid is not None:  # the probe's own callbacks are not part of the run
        for status in callbacks.by_sid.pop(probe_sid.group(1).decode(), {}):
            callbacks.total -= 1
            callbacks.by_status[status] -= 1
    # Callback latencies: from the create's write to each status's callback.
    sent_latency = array("d")
    final_latency = array("d")
    unknown = 0
    missing_final = 0
    for sid, written in created.items():
        seen = callbacks.by_sid.get(sid)
        if not seen:
            missing_final += 1
            continue
        if "sent" in seen:
            sent_latency.append(seen["sent"] - written)
        final = next((seen[s] for s in FINAL if s in seen), None)
        if final is None:
            missing_final += 1
        else:
            final_latency.append(final - written)
    unknown = sum(1 for sid in callbacks.by_sid if sid not in created)
    ok = statuses.get(201, 0)
    window = max(last_response[0] - first_write[0], 1e-9)
    return {
        "outcome": outcome, "errors": errors[:20], "start": start, "finished": finished,
        "counts": {"planned": total, "creates": sum(statuses.values()), "created_201": ok,
                   "errors_by_status": {str(k): v for k, v in statuses.items() if k != 201},
                   "callbacks": callbacks.total, "callbacks_by_status": dict(callbacks.by_status),
                   "callback_duplicates": callbacks.duplicates, "callbacks_unknown_sid": unknown,
                   "callbacks_malformed": callbacks.malformed, "missing_final_callback": missing_final},
        "throughput": {"offered_rate": args.rate if paced else None, "creates_per_s": round(ok / window, 1),
                       "callbacks_per_s": round(callbacks.total / max(callbacks.last - first_write[0], 1e-9), 1)
                       if callbacks.total else None,
                       "create_phase_s": round(window, 3),
                       "first_create_to_last_callback_s": round(max(callbacks.last, last_response[0]) - first_write[0], 3)},
        "latency_ms": {"create": report.percentiles(latency),
                       "send_lateness": report.percentiles(lateness) if paced else None,
                       "callback_sent": report.percentiles(sent_latency),
                       "callback_final": report.percentiles(final_latency),
                       "callback_final_minus_delay": report.percentiles([v - args.receipt_delay for v in final_latency])},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_nofile()
    result: dict[str, Any] = {"benchmark": "carrier-sim http (twilio)", "mode": f"http-{args.mode}", "ok": False,
                              "errors": []}
    server: ServerProcess | None = None
    pid = args.server_pid
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
    else:
        import yaml

        extra = {"providers": {"twilio": {"mps": {k: 1_000_000 for k in
                                                  ("long_code", "toll_free", "short_code", "alphanumeric")}}}}
        if args.config_extra:
            from .server import deep_merge

            deep_merge(extra, yaml.safe_load(args.config_extra) or {})
        server = ServerProcess(scenario=scenario_yaml(args.receipt_delay), config=config_yaml(window=10, extra=extra),
                               command=shlex.split(args.server_cmd) if args.server_cmd else None,
                               extra_args=shlex.split(args.server_args or ""))
        try:
            server.spawn()
            server.wait_ready()
        except ServerError as error:
            result["errors"].append(str(error))
            server.stop()
            return result
        base = server.http_base()
        if base is None:
            result["errors"].append(f"the server announced no HTTP listener: {server.lines}")
            server.stop()
            return result
        parts = urlsplit(base)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        pid = server.pid
    monitor = procstat.MemoryMonitor(pid).start() if pid else None
    samples: dict[str, Any] = {}

    def on_start() -> None:
        samples["cpu_start"] = procstat.sample_cpu(pid) if pid else None
        samples["client_cpu_start"] = procstat.own_cpu_seconds()

    def on_creates_done() -> None:
        samples["cpu_creates_done"] = procstat.sample_cpu(pid) if pid else None

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        measured = runner(drive(args, host, port, on_start, on_creates_done))
    except (OSError, asyncio.TimeoutError) as error:
        measured = {"error": f"{type(error).__name__}: {error}"}
    cpu_end = procstat.sample_cpu(pid) if pid and Path(f"/proc/{pid}").exists() else None
    client_cpu = procstat.own_cpu_seconds() - samples.get("client_cpu_start", 0.0)
    info: dict[str, Any] = {"spawned": server is not None, "url": f"http://{host}:{port}", "pid": pid}
    if server is not None:
        info.update(server.describe())
    if monitor is not None:
        info.update(monitor.stop())
    if server is not None:
        info["status_at_end"] = "running" if server.alive() else server.exit_status()
        info["stop"] = server.stop()
        tail = server.stderr_tail(20)
        if tail:
            info["stderr_tail"] = tail
    result["server"] = info
    result["parameters"] = {k: v for k, v in vars(args).items() if k != "auth_token"}
    if "skipped" in measured:
        result["skipped"] = measured["skipped"]
        result["ok"] = True
        result["checks"] = {}
        return result
    if "error" in measured:
        result["errors"].append(measured["error"])
        return result
    counts = measured["counts"]
    cpu_start = samples.get("cpu_start")
    if cpu_start and cpu_end:
        cpu = procstat.cpu_delta(cpu_start, cpu_end)
        info["cpu"] = cpu
        info["cpu_ms_per_1k_creates"] = round(cpu["cpu_ms"] / max(1, counts["creates"]) * 1000, 2)
        if samples.get("cpu_creates_done"):
            info["cpu_create_phase"] = procstat.cpu_delta(cpu_start, samples["cpu_creates_done"])
            info["cpu_callback_phase"] = procstat.cpu_delta(samples["cpu_creates_done"], cpu_end)
    wall = max(measured["finished"] - measured["start"], 1e-9)
    result.update({k: measured[k] for k in ("counts", "throughput", "latency_ms")})
    result["client"] = {"processes": 1, "cpu_s": round(client_cpu, 3), "cpu_utilisation": round(client_cpu / wall, 3)}
    result["errors"].extend(measured["errors"])
    if measured["outcome"] != "complete":
        result["errors"].append(measured["outcome"])
    checks = {
        "every_create_answered": counts["creates"] == counts["planned"],
        "every_create_201": counts["created_201"] == counts["planned"],
        "one_final_callback_each": counts["missing_final_callback"] == 0 and counts["callback_duplicates"] == 0
        and counts["callbacks_unknown_sid"] == 0,
        "server_alive": info.get("status_at_end", "running") == "running",
    }
    result["checks"] = checks
    achieved = result["throughput"]["creates_per_s"] or 0.0
    if args.mode == "paced":
        # An open model can only reach what it offers: the offer must be the target, and be kept up
        # (the SMPP bench's rule: 97 % of it, sends less than 100 ms late at p99).
        late_p99 = (result["latency_ms"].get("send_lateness") or {}).get("p99")
        met = (args.rate >= args.target_rate and achieved >= 0.97 * args.rate
               and late_p99 is not None and late_p99 < 100.0)
    else:
        met = achieved >= args.target_rate
    result["targets"] = {f"creates_at_least_{args.target_rate:g}_per_s": met}
    result["ok"] = all(checks.values())
    return result


def rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    fmt, lat = report.fmt, report.lat_line
    if result.get("skipped"):
        return [("skipped", result["skipped"])]
    out: list[tuple[str, str]] = []
    p, server = result.get("parameters", {}), result.get("server", {})
    if "counts" in result:
        c, t, l = result["counts"], result["throughput"], result["latency_ms"]
        out += [("connections", f"{p.get('concurrency')} keep-alive"),
                ("receipt delay", f"{p.get('receipt_delay'):g} s"),
                ("creates", f"{fmt(t['creates_per_s'])} /s  ({fmt(c['created_201'])} of {fmt(c['planned'])} -> 201)"),
                ("create latency", lat(l["create"]))]
        if l.get("send_lateness"):
            out.append(("send lateness", lat(l["send_lateness"])))
        out += [("callbacks", f"{fmt(c['callbacks'])} ({fmt(t['callbacks_per_s'])} /s) {c['callbacks_by_status']}"),
                ("'sent' callback after", lat(l["callback_sent"])),
                ("final callback - delay", lat(l["callback_final_minus_delay"])),
                ("server CPU / 1k creates", f"{fmt(server.get('cpu_ms_per_1k_creates'))} ms, first create to last"
                                            f" callback (utilisation {fmt((server.get('cpu') or {}).get('cpu_utilisation'))})"),
                ("  create phase only", f"{fmt((server.get('cpu_create_phase') or {}).get('cpu_ms'))} ms CPU in"
                                        f" {fmt((server.get('cpu_create_phase') or {}).get('wall_s'))} s"),
                ("server RSS", f"peak {fmt(server.get('rss_peak_mib'))} MiB"),
                ("client CPU", f"{fmt(result['client']['cpu_utilisation'])} of a core"),
                ("missing / duplicate", f"{c['missing_final_callback']} / {c['callback_duplicates']}"
                                        f"  errors {c['errors_by_status'] or 0}")]
    for name, passed in result.get("checks", {}).items():
        out.append((f"check {name}", fmt(passed)))
    for name, passed in result.get("targets", {}).items():
        out.append((f"target {name}", "met" if passed else "MISSED"))
    for error in result.get("errors", [])[:10]:
        out.append(("error", error))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("burst", "paced"), default="burst",
                        help="burst: --creates as fast as --concurrency connections allow; paced: --rate for --duration")
    parser.add_argument("--creates", type=count, default=20_000, help="burst: creates in all (default 20,000)")
    parser.add_argument("--rate", type=count, default=2_000, help="paced: creates/s (default 2,000)")
    parser.add_argument("--duration", type=seconds, default=10.0, help="paced: seconds (default 10)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--receipt-delay", type=seconds, default=2.0, help="the scenario's receipt delay (default 2s)")
    parser.add_argument("--callback-timeout", type=seconds, default=15.0,
                        help="wait this long past the delay for the last callbacks (default 15s)")
    parser.add_argument("--target-rate", type=float, default=2000.0, help="pass mark in creates/s (default 2,000)")
    parser.add_argument("--url", help="an already running server's provider API base URL, e.g. http://127.0.0.1:8025")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's pid, for CPU and RSS")
    parser.add_argument("--server-cmd", help="the command to spawn (default: this python -m simulator.cli)")
    parser.add_argument("--server-args", default="", help="extra arguments for `serve`, e.g. '--workers 2'")
    parser.add_argument("--config-extra", metavar="YAML", help="YAML mapping merged into the server config")
    parser.add_argument("--account-sid", default=ACCOUNT_SID)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)
    parser.add_argument("--out", help="JSON file (default benchmarks/results/http-<mode>-<timestamp>.json)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = report.now_stamp()
    machine = report.machine()
    result = run(args)
    code = finish(result, args, started, machine, rows=rows)
    return 0 if code == 0 else code


if __name__ == "__main__":
    sys.exit(main())
