"""`python -m benchmarks run` (or `python benchmarks/run.py`): the SMPP benchmark's command line.

With no flags it runs the headline target: 2 transceiver binds x window 10, receipts 2 s after each
submit, a sustained rate long enough that receipts overlap submits; it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks import compare, report, sweep  # noqa: E402
from benchmarks.smpp_bench import MODE_DEFAULTS, MODES, run_binds_only, run_messages, run_startup  # noqa: E402

GLOBAL_DEFAULTS: dict[str, Any] = {
    "binds": 2, "window": 10, "processes": 1, "receipt_delay": 2.0, "rate": 10_000, "duration": 20.0,
    "messages": 100_000,
}


def seconds(text: str) -> float:
    """`2`, `2s`, `100ms`, `1m`, `1h` -> seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration such as 2s or 100ms, got {text!r}")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def count(text: str) -> int:
    """`10000`, `10_000`, `10k`, `1m` -> int."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = 1
    if text.endswith("k"):
        scale, text = 1000, text[:-1]
    elif text.endswith("m"):
        scale, text = 1_000_000, text[:-1]
    try:
        return int(float(text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count such as 20000 or 20k, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("what to run")
    g.add_argument("--mode", choices=MODES, default=None,
                   help="sustained (default), burst, paced, store, binds-only, startup, or sweep (the highest "
                        "sustained rate kept up inside the latency targets, and the CPU at each rate tried)")
    g.add_argument("--binds-only", type=count, metavar="N", default=None,
                   help="shorthand for --mode binds-only --binds N")
    g.add_argument("--binds", type=count, help="binds (default 2; binds-only 10,000; with --bind-type pair, "
                                               "each bind is a transmitter plus a receiver)")
    g.add_argument("--window", type=int, help="outstanding submit_sm per bind (default 10; store 50)")
    g.add_argument("--bind-type", choices=("transceiver", "pair", "transmitter", "receiver"), default="transceiver",
                   help="transceiver binds (default) or pair: a transmitter and a receiver per bind")
    g.add_argument("--messages", type=count, help="burst/store: messages in all (burst 100,000; store 1,000,000)")
    g.add_argument("--rate", type=count, help="paced/sustained: total msg/s across binds (sustained 10,000; "
                                             "paced 20,000); sweep: the first rate tried (5,000)")
    g.add_argument("--duration", type=seconds, help="paced/sustained/sweep: how long to send (sustained 20s; paced 5s; "
                                                    "sweep 10s at each rate)")
    g.add_argument("--receipt-delay", type=seconds, help="the scenario's receipt delay (default 2s; store 10h)")
    g.add_argument("--no-receipts", action="store_true", help="registered_delivery 0: no receipts asked for")
    g.add_argument("--text-length", type=int, default=40, help="short_message octets (GSM-7 text, default 40)")
    g.add_argument("--destinations", type=int, default=1000, help="distinct destination numbers (default 1000)")
    g.add_argument("--processes", type=int, help="client processes (default 1; binds-only 2)")
    g.add_argument("--system-id", default="bench", help="system_id prefix (each client process binds its own)")
    g.add_argument("--password", default="bench")

    g = parser.add_argument_group("timeouts")
    g.add_argument("--receipt-timeout", type=seconds, default=10.0,
                   help="how long past the receipt delay to wait for the last receipts (default 10s)")
    g.add_argument("--stall-timeout", type=seconds, default=10.0,
                   help="submits outstanding with no response for this long = the server stalled (default 10s)")

    g = parser.add_argument_group("the server")
    g.add_argument("--target", metavar="HOST:PORT", help="drive an already running server instead of spawning one")
    g.add_argument("--server-pid", type=int, help="with --target: the server's pid, for CPU and RSS")
    g.add_argument("--server-cmd", help="the command to spawn (default: this python -m simulator.cli); "
                                        "'carrier-sim' to go through the installed entry point")
    g.add_argument("--server-args", default="",
                   help="extra arguments for `serve`, e.g. '--workers 2' (CPU and RSS are summed over its process tree)")
    g.add_argument("--config-extra", metavar="YAML",
                   help="YAML mapping merged into the server config the bench writes, e.g. "
                        "'{smpp: {deliver_window: 50}}'")
    g.add_argument("--deliver-window", type=int, help="smpp.deliver_window (default: the server's own, 10)")
    g.add_argument("--server-window", type=int, help="smpp.window (default: max(--window, 10))")

    g = parser.add_argument_group("two servers in turns")
    g.add_argument("--versus", metavar="CMD",
                   help="also run this server command (e.g. 'python -m benchmarks.floor') under the same load, "
                        "in turns with the server under test, and report both and the ratio of their CPU")
    g.add_argument("--turns", type=int, default=3, help="with --versus: runs of each server (default 3)")

    g = parser.add_argument_group("sweep")
    g.add_argument("--max-rate", type=count, default=160_000,
                   help="the sweep doubles the rate up to this at most (default 160,000)")
    g.add_argument("--refine", type=int, default=3,
                   help="halvings of the gap between the last rate kept up and the first missed (default 3)")

    g = parser.add_argument_group("binds-only")
    g.add_argument("--enquire-spread", type=seconds, default=1.0,
                   help="each round's enquire_link are spread evenly over this long (default 1s; 0 = all at once)")
    g.add_argument("--enquire-rounds", type=int, default=3, help="enquire_link per bind (default 3)")
    g.add_argument("--enquire-gap", type=seconds, default=2.0, help="time between rounds (default 2s)")
    g.add_argument("--enquire-limit-ms", type=float, default=100.0, help="pass mark for p50/p99/max (default 100)")
    g.add_argument("--connect-concurrency", type=int, default=200, help="binds being opened at once per process")
    g.add_argument("--idle-seconds", type=seconds, default=3.0,
                   help="server CPU is measured this long with every bind idle (default 3s)")

    g = parser.add_argument_group("startup")
    g.add_argument("--repeat", type=int, default=5, help="server starts to time (default 5)")
    g.add_argument("--startup-timeout", type=seconds, default=10.0)

    g = parser.add_argument_group("output")
    g.add_argument("--out", help="JSON file (default benchmarks/results/<mode>-<timestamp>.json)")
    g.add_argument("--py-spy", type=seconds, metavar="SECONDS",
                   help="profile the server with py-spy record for this long during the run (raw output + top functions)")
    g.add_argument("--py-spy-delay", type=seconds, default=2.0, help="start profiling this long after the first submit")
    g.add_argument("--py-spy-rate", type=int, default=100, help="py-spy samples per second (default 100)")
    g.add_argument("--quiet", action="store_true", help="no table, just the JSON path")


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    if args.binds_only is not None:
        args.mode = "binds-only"
        args.binds = args.binds_only
    args.mode = args.mode or "sustained"
    defaults = {**GLOBAL_DEFAULTS, **MODE_DEFAULTS.get(args.mode, {})}
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.bind_type in ("transmitter", "receiver") and args.mode not in ("binds-only", "startup"):
        raise SystemExit("--bind-type transmitter/receiver only makes sense with binds-only; use pair")
    if args.target and not args.server_pid:
        print("note: --target without --server-pid: server CPU and RSS are not measured", file=sys.stderr)
    if args.window < 1:
        raise SystemExit("--window must be at least 1")
    if args.mode == "sweep" and not 0 < args.rate <= args.max_rate:
        raise SystemExit("--mode sweep needs 0 < --rate <= --max-rate")
    if args.versus is not None:
        if args.mode not in ("sustained", "paced", "burst", "store"):
            raise SystemExit("--versus compares CPU per message: use it with sustained, paced, burst or store")
        if args.target or args.py_spy:
            raise SystemExit("--versus spawns both servers itself: it takes neither --target nor --py-spy")
        if args.turns < 1:
            raise SystemExit("--turns must be at least 1")
    return args


def rows_for(result: dict[str, Any]) -> list[tuple[str, str]]:
    fmt, lat = report.fmt, report.lat_line
    mode = result["mode"]
    p = result.get("parameters", {})
    server = result.get("server", {})
    rows: list[tuple[str, str]] = []
    if mode != "startup" and "counts" not in result:
        pass  # the run did not finish: checks, errors and the server's end below
    elif mode == "startup":
        s = result.get("startup_ms", {})
        rows += [("starts", f"{result['counts']['successful']}/{result['counts']['attempts']}"),
                 ("spawn -> first bind", f"median {fmt(s.get('p50'))} ms  max {fmt(s.get('max'))} ms"),
                 ("each attempt (ms)", ", ".join(f"{t:g}" for t in result.get("attempts_ms", []))),
                 ("RSS after start", fmt(server.get("rss_after_start_mib"), "MiB"))]
    elif mode == "binds-only":
        c, b = result["counts"], result["binding"]
        rows += [("binds", f"{fmt(c['binds'])} of {fmt(c['binds_planned'])} ({c['bind_failures']} failed)"),
                 ("open all binds", f"{fmt(b['open_seconds'])} s ({fmt(b['binds_per_s'])} binds/s)"),
                 ("bind latency", lat(b["bind_latency_ms"])),
                 ("enquire_link RTT", lat(result["latency_ms"]["enquire_link"])),
                 ("enquire_link answered", f"{fmt(c['enquire_answered'])} of {fmt(c['enquire_sent'])}"
                                           f"  failed {c['enquire_failed'] or 0}"),
                 ("server RSS", f"idle {fmt(server.get('rss_idle_mib'))}  bound {fmt(server.get('rss_bound_mib'))}"
                                f"  peak {fmt(server.get('rss_peak_mib'))} MiB"
                                f"  ({fmt(server.get('rss_per_bind_kib'))} KiB/bind)"),
                 ("server CPU idle w/ binds", fmt((server.get("cpu_idle_with_binds") or {}).get("cpu_utilisation"))),
                 ]
    else:
        c, t, l = result["counts"], result["throughput"], result["latency_ms"]
        rows += [("binds x window", f"{p.get('binds')} x {p.get('window')} ({p.get('bind_type')}),"
                                    f" {p.get('processes')} client process(es)"),
                 ("receipt delay", f"{p.get('receipt_delay'):g} s" + ("" if not p.get("no_receipts") else " (off)"))]
        if t.get("offered_rate"):
            rows.append(("offered rate", f"{fmt(t['offered_rate'])} msg/s for {p.get('duration'):g} s"))
        rows += [("submit throughput", f"{fmt(t.get('submit_per_s'))} msg/s (responses {fmt(t.get('resp_per_s'))}/s)"),
                 ("receipt throughput", f"{fmt(t.get('receipt_per_s'))} /s"),
                 ("submit latency", lat(l.get("submit")))]
        if l.get("submit_from_schedule"):
            rows.append(("  from scheduled time", lat(l["submit_from_schedule"])))
            rows.append(("send lateness", lat(l["send_lateness"]) +
                         f"  >10ms: {fmt(result['lateness']['late_over_10ms'])}"))
        rows += [("receipt latency", lat(l.get("receipt"))),
                 ("receipt - delay", lat(l.get("receipt_minus_delay"))),
                 ("server CPU / 1k msgs", f"{fmt(server.get('cpu_ms_per_1k_msgs'))} ms"
                                          f"  (schedstat {fmt(server.get('cpu_ms_per_1k_msgs_schedstat'))} ms;"
                                          f" utilisation {fmt((server.get('cpu') or {}).get('cpu_utilisation'))})"),
                 ("  user / system", "{user_ms} / {system_ms} ms; syscalls per 1k: {read_syscalls} reads,"
                                     " {write_syscalls} writes".format(**{k: fmt(v) for k, v in
                                                                           server.get("cpu_split_per_1k_msgs", {}).items()})
                  if server.get("cpu_split_per_1k_msgs") else "-"),
                 ("server RSS", f"peak {fmt(server.get('rss_peak_mib'))} MiB  end {fmt(server.get('rss_end_mib'))} MiB"),
                 ("server GC pauses", "{collections} collections, {total_ms} ms in all, longest {longest_ms} ms".format(
                     **{k: fmt(v) for k, v in server["gc_pauses"].items()}) if server.get("gc_pauses") else "-"),
                 ("client CPU", f"{fmt(result['client']['cpu_utilisation'])} of a core"
                                + (f"; other processes {fmt(result['machine_load']['other_busy_cores'])} cores"
                                   if result.get("machine_load") else "")),
                 ("counts", f"submitted {fmt(c['submitted'])}  ok {fmt(c['resp_ok'])}  errors {fmt(c['resp_errors'])}"
                            f"  unanswered {fmt(c['unanswered'])}"),
                 ("receipts", f"{fmt(c['receipts'])}  duplicates {fmt(c['duplicates'])}  missing {fmt(c['missing'])}"
                              f"  unknown {fmt(c['unknown_receipts'])}")]
        if mode == "store":
            rows.append(("store", f"{fmt(server.get('store_messages'))} messages held,"
                                  f" ~{fmt(server.get('store_bytes_per_message'))} bytes each"))
    if result.get("profile", {}).get("top_own"):
        rows.append(("py-spy samples", f"{result['profile']['samples']} -> {result['profile']['raw']}"))
        for row in result["profile"]["top_own"][:15]:
            rows.append((f"  {row['percent']:5.1f}%", row["function"]))
    for name, passed in result.get("checks", {}).items():
        rows.append((f"check {name}", fmt(passed)))
    for name, passed in result.get("targets", {}).items():
        rows.append((f"target {name}", "met" if passed else "MISSED"))
    for error in result.get("errors", [])[:10]:
        rows.append(("error", error))
    if server.get("status_at_end") and server.get("status_at_end") != "running":
        rows.append(("server", server["status_at_end"]))
        for line in (server.get("stderr_tail") or "").splitlines()[-8:]:
            rows.append(("  stderr", line))
    return rows


def run(args: argparse.Namespace) -> int:
    args = resolve(args)
    started = report.now_stamp()
    machine = report.machine()
    if args.versus is not None:
        return finish(compare.run_in_turns(args, run_messages), args, started, machine, rows=compare.rows_for)
    if args.mode == "sweep":
        return finish(sweep.run_sweep(args, run_messages), args, started, machine, rows=sweep.rows_for)
    if args.mode == "startup":
        result = run_startup(args)
    elif args.mode == "binds-only":
        result = run_binds_only(args)
    else:
        result = run_messages(args)
    return finish(result, args, started, machine)


def verdict(result: dict[str, Any]) -> tuple[str, int]:
    """PASS (0); FAIL when a correctness check failed (1); TARGET MISSED when only a performance target was (3)."""
    if result.get("skipped"):
        return "SKIPPED", 0
    if not result["ok"]:
        return "FAIL", 1
    if not all(result.get("targets", {}).values()):
        return "TARGET MISSED", 3
    return "PASS", 0


def finish(result: dict[str, Any], args: argparse.Namespace, started: str, machine: dict[str, Any],
           rows=None) -> int:
    result = {"benchmark": result.pop("benchmark"), "mode": result.pop("mode"), "started": started,
              "ok": result.pop("ok"), "machine": machine, **result}
    word, code = verdict(result)
    result["verdict"] = word
    path = report.write_json(result, args.out, result["mode"])
    if not args.quiet:
        report.print_table(f"carrier-sim benchmark: {result['mode']}  ({word})", (rows or rows_for)(result))
    print(f"results: {path}")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
