"""`carrier-sim loadtest`: a bounded, headless Locust run against an embedded carrier or a given target.

This process never imports Locust (whose gevent monkey-patching must stay out of the CLI): it starts
the embedded simulator and Locust as child processes, relays Locust's progress lines, then prints
the summary table and where the reports are.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

GATEWAYS = {"smpp": "SmppUser", "kannel": "KannelUser", "twilio": "TwilioUser", "infobip": "InfobipUser",
            "clicksend": "ClickSendUser", "generic": "GatewayUser"}
PROVIDERS = ("twilio", "infobip", "clicksend")  # carrier-sim emulates these APIs
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `loadtest` subcommand's options (kept light: importing this must not need Locust)."""
    add = parser.add_argument
    add("--target", help="smpp://[system_id:password@]host:port or an HTTP gateway's base URL "
                         "(default: an embedded carrier-sim)")
    add("--gateway", choices=sorted(GATEWAYS), help="which user talks to the target (default: smpp for smpp:// "
                                                   "targets and the embedded carrier, generic for http targets)")
    add("--scenario", default="happy-path", help="the embedded carrier's scenario: a bundled name or a YAML file")
    add("--config", help="the embedded carrier's config file (accounts, window, limits)")
    add("--control-url", help="carrier-sim's control API behind a target, to check conservation and measure "
                              "the latency the gateway adds (the embedded carrier's is used automatically)")
    add("--duration", default="20s", help="how long to send (default 20s); then receipts are drained")
    add("--users", type=int, default=4, help="users: SMPP binds, or concurrent HTTP senders (default 4)")
    add("--rate", type=float, default=0.0, help="open model: messages per second in total, with lateness reported "
                                                "against each intended send time (default 0: as fast as windows allow)")
    add("--messages", type=int, default=0, help="campaign burst: send this many messages as fast as allowed")
    add("--shape", default="constant", choices=("constant", "ramp", "step", "spike", "soak", "burst"))
    add("--window", type=int, default=10, help="outstanding submit_sm per bind (default 10)")
    add("--mix", help="message mix, weight:encoding:length,... (default 45:gsm7:25,45:gsm7:150,10:ucs2:70)")
    add("--destinations", help="destination pools, first+count[:weight],...")
    add("--drain", default="10s", help="longest wait for receipts after sending stops (default 10s)")
    add("--receipt-timeout", default="30s", help="receipts later than this count as missing (default 30s)")
    add("--request-timeout", default="10s")
    add("--system-id", help="SMPP system_id (default loadtest)")
    add("--password", help="SMPP password")
    add("--seed", type=int, default=1)
    add("--processes", type=int, default=1, help="Locust worker processes on this machine (default 1)")
    add("--thresholds", help="YAML file of CI thresholds")
    add("--max-submit-p95", help="e.g. 5ms")
    add("--max-submit-p99")
    add("--max-receipt-p95", help="e.g. 1s")
    add("--max-error-ratio", help="e.g. 0.01")
    add("--min-throughput", help="accepted messages per second")
    add("--max-missing", help="missing receipts allowed")
    add("--reports", help="report directory (default reports/<timestamp>/)")
    add("--locust-args", default="", help="more Locust options, quoted, e.g. \"--loglevel DEBUG\"")


def _locust_command(args: argparse.Namespace, target: str, control_url: str, reports: Path) -> list[str]:
    user_class = GATEWAYS[args.gateway]
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), user_class, "--headless", "--only-summary",
               "-u", str(args.users), "-r", str(max(args.users, 1)), "--host", target,
               "--duration", args.duration, "--drain", args.drain, "--shape", args.shape,
               "--arrival-rate", str(args.rate), "--messages", str(args.messages), "--window", str(args.window),
               "--receipt-timeout", args.receipt_timeout, "--request-timeout", args.request_timeout,
               "--seed", str(args.seed), "--label", args.scenario if not args.target else args.target,
               "--summary-json", str(reports / "summary.json"), "--timeseries-csv", str(reports / "timeseries.csv"),
               "--csv", str(reports / "locust"), "--html", str(reports / "report.html")]
    if control_url:
        command += ["--control-url", control_url]
    for flag in ("mix", "destinations", "system_id", "password", "thresholds", "max_submit_p95", "max_submit_p99",
                 "max_receipt_p95", "max_error_ratio", "min_throughput", "max_missing"):
        value = getattr(args, flag)
        if value:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    return command + shlex.split(args.locust_args)


def _relay(process: subprocess.Popen[str], log: Path, deadline: float) -> int:
    """Copy Locust's output to the log; show progress, warnings and errors as they come."""
    assert process.stdout is not None
    with log.open("w") as handle:
        while True:
            try:
                for line in process.stdout:
                    handle.write(line)
                    if line.startswith("[loadtest]") or "/ERROR/" in line or "/CRITICAL/" in line or \
                            line.startswith(("Traceback", "locust: error", "usage:")):
                        print(line.rstrip(), file=sys.stderr, flush=True)
                    if time.monotonic() > deadline:
                        process.kill()
                        print("carrier-sim loadtest: Locust overran its time and was stopped", file=sys.stderr)
                break
            except KeyboardInterrupt:
                # Ctrl-C reached Locust too: it stops, writes its reports and the summary; keep reading.
                print("carrier-sim loadtest: interrupted; waiting for Locust's reports", file=sys.stderr)
    return process.wait()


def run(args: argparse.Namespace) -> int:
    """Run the load test; the exit code is the verdict (0 pass, 1 a threshold broken, 2 could not run)."""
    from . import summary as summaries
    from . import thresholds
    from .durations import parse_duration
    from .embedded import EmbeddedSimulator, EmbeddedSimulatorError

    try:
        duration, drain = parse_duration(args.duration), parse_duration(args.drain)
        thresholds.from_flags({name: getattr(args, flag.removeprefix("--").replace("-", "_")) or ""
                               for name, (flag, _) in thresholds.LIMITS.items()})
        if args.thresholds:
            thresholds.load(args.thresholds)
    except (ValueError, OSError) as error:
        print(f"carrier-sim loadtest: {error}", file=sys.stderr)
        return 2
    if args.gateway is None:
        args.gateway = "generic" if args.target and args.target.startswith(("http://", "https://")) else "smpp"
    reports = Path(args.reports or Path("reports") / datetime.now().strftime("%Y%m%d-%H%M%S"))
    reports.mkdir(parents=True, exist_ok=True)
    simulator = None
    target, control_url = args.target, args.control_url or ""
    if not target:
        simulator = EmbeddedSimulator(args.scenario, config=args.config, log=reports / "simulator.log")
        try:
            simulator.start()
        except EmbeddedSimulatorError as error:
            print(f"carrier-sim loadtest: {error}", file=sys.stderr)
            return 2
        control_url = control_url or simulator.control_url
        # Provider APIs are served on their own listener when configured so, else beside the control API.
        target = simulator.listeners.get(args.gateway) or (
            simulator.listeners.get("providers") or control_url if args.gateway in PROVIDERS else "")
        if not target:
            simulator.stop()
            print(f"carrier-sim loadtest: the embedded carrier has no {args.gateway} listener "
                  f"(it has {', '.join(simulator.listeners)}); give --target", file=sys.stderr)
            return 2
        print(f"carrier-sim loadtest: embedded carrier-sim (scenario {args.scenario}) at {target}", file=sys.stderr)
    command = _locust_command(args, target, control_url, reports)
    print(f"carrier-sim loadtest: {GATEWAYS[args.gateway]} x {args.users} for {args.duration} "
          f"(+ up to {args.drain} drain) -> {reports}/", file=sys.stderr, flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # An upper bound on the whole run: sending, draining, correlation and Locust's own shutdown.
    budget = (duration or 600.0) + drain + 120.0
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    # A SIGTERM to this launcher becomes a Ctrl-C for Locust: it stops, drains nothing more, writes its reports.
    previous = signal.signal(signal.SIGTERM, lambda *_: process.send_signal(signal.SIGINT))
    try:
        code = _relay(process, reports / "locust.log", time.monotonic() + budget)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.kill()
        if simulator is not None:
            simulator.stop()
    summary_path = reports / "summary.json"
    if not summary_path.exists():
        print(f"carrier-sim loadtest: Locust exited with {code} and wrote no summary; see {reports / 'locust.log'}",
              file=sys.stderr)
        return 2
    import json

    summary = json.loads(summary_path.read_text())
    print(summaries.table(summary))
    print("\nreports:")
    for name in ("summary.json", "report.html", "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
                 "timeseries.csv", "locust.log", "simulator.log"):
        path = reports / name
        if path.exists():
            print(f"  {path}")
    if summary["verdict"] == "fail":
        print("\nFAIL: " + "; ".join(summaries.broken(summary)))
        return 1
    return code
