"""The `carrier-sim` command line: serve, mo, scenario and loadtest."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import urllib.error
import urllib.request

from .config import load_config
from .yamlload import ConfigError


def _serve(args: argparse.Namespace) -> int:
    from .app import Simulator, install_uvloop, tune_gc
    from .core.scenario import load_scenario

    try:
        config = load_config(args.config)
        scenario = load_scenario(args.scenario) if args.scenario else None
    except (ConfigError, OSError) as error:
        print(f"carrier-sim: {error}", file=sys.stderr)
        return 2
    if args.workers > 1:
        from .workers import run_workers

        if config.smpp.tls is not None and config.smpp.tls.port == 0:
            print("carrier-sim: with --workers, smpp.tls.port needs a fixed port (every worker listens on it)",
                  file=sys.stderr)
            return 2
        return run_workers(_without_workers(sys.argv[1:]), args.workers,
                           host=args.host or config.smpp.host,
                           port=args.port if args.port is not None else config.smpp.port)
    if args.worker_count > 1:
        for account in config.accounts:
            account.tps /= args.worker_count  # see simulator/workers.py: an account's tps is split
    if args.host:
        config.smpp.host = args.host
        config.control.host = args.host
    if args.port is not None:
        config.smpp.port = args.port
    if args.control_port is not None:
        config.control.port = args.control_port
    if args.no_control:
        config.control.enabled = False
    uvloop = install_uvloop()

    async def main() -> None:
        tune_gc()
        simulator = Simulator(config, scenario=scenario, worker=(args.worker_index, args.worker_count))
        link = balancer = None
        if args.relay:
            from .core.relay import WorkerLink
            from .smpp.balance import Balancer

            simulator.smpp.reuse_port = True
            link = WorkerLink(simulator.carrier, args.relay, args.worker_index)
            await link.start()
            simulator.smpp.relay = link
            balancer = Balancer(os.path.dirname(args.relay), args.worker_index, args.worker_count)
            balancer.start(simulator.smpp.adopt)
            simulator.smpp.balancer = balancer
        announce = (lambda line: print(line, flush=True)) if args.worker_index == 0 else (lambda line: None)
        try:
            await simulator.run_until_signalled(announce)
        finally:
            if balancer is not None:
                balancer.stop()
            if link is not None:
                await link.stop()

    if uvloop:
        logging.getLogger("carrier_sim").debug("using uvloop")
    try:
        asyncio.run(main())
    except OSError as error:
        print(f"carrier-sim: cannot listen: {error}", file=sys.stderr)
        return 1
    return 0


def _mo(args: argparse.Namespace) -> int:
    body = {"from": args.sender, "to": args.to, "text": args.text}
    if args.data_coding is not None:
        body["data_coding"] = args.data_coding
    if args.system_id:
        body["system_id"] = args.system_id
    request = urllib.request.Request(
        args.control.rstrip("/") + "/api/v1/mo", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            message = json.load(response)
    except urllib.error.HTTPError as error:
        print(f"carrier-sim mo: {error.code}: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"carrier-sim mo: cannot reach the control API at {args.control}: {error.reason}", file=sys.stderr)
        return 1
    print(f"MO {message['id']} from {message['from']} to {message['to']} routed to {message.get('routed_to', '?')}")
    return 0


def _scenario_check(args: argparse.Namespace) -> int:
    from .core.scenario import bundled_names, load_scenario

    status = 0
    for name in args.files:
        try:
            scenario = load_scenario(name)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
        else:
            print(f"ok: {name} ({scenario.name}, seed {scenario.spec.seed}, {len(scenario.spec.rules)} rules)")
    print("bundled scenarios: " + ", ".join(bundled_names()))
    return status


def _loadtest(args: argparse.Namespace) -> int:
    from loadtests.cli import run

    return run(args)


def _without_workers(argv: list[str]) -> list[str]:
    """The command line again, minus --workers, for each worker process."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    # Global options (-v) stay before the subcommand, as given.
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carrier-sim", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the carrier: SMPP, provider HTTP APIs and the control API")
    serve.add_argument("--config", help="YAML config file (accounts, listeners, limits)")
    serve.add_argument("--scenario", help="a bundled scenario name or a scenario YAML file")
    serve.add_argument("--host", help="address for every listener (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="SMPP port (default 2775)")
    serve.add_argument("--control-port", type=int, help="control API port (default 8025)")
    serve.add_argument("--no-control", action="store_true", help="do not start the control API")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes sharing the SMPP port (SO_REUSEPORT); receipts cross between them")
    serve.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    serve.add_argument("--worker-count", type=int, default=1, help=argparse.SUPPRESS)
    serve.add_argument("--relay", help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    mo = commands.add_parser("mo", help="send a mobile-originated message from a virtual handset")
    mo.add_argument("--from", dest="sender", required=True, help="the handset's number")
    mo.add_argument("--to", required=True, help="the destination (an account's number or short code)")
    mo.add_argument("--text", required=True)
    mo.add_argument("--data-coding", type=int, choices=(0, 8), help="0 GSM-7 or 8 UCS-2 (default: chosen from the text)")
    mo.add_argument("--system-id", help="deliver to this account instead of the number's owner")
    mo.add_argument("--control", default="http://127.0.0.1:8025", help="the control API's URL")
    mo.set_defaults(func=_mo)

    scenario = commands.add_parser("scenario", help="work with scenario files")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True)
    check = scenario_commands.add_parser("check", help="validate scenario files and list the bundled ones")
    check.add_argument("files", nargs="*", help="scenario files or bundled names")
    check.set_defaults(func=_scenario_check)

    from loadtests.cli import add_arguments as loadtest_arguments

    loadtest = commands.add_parser("loadtest", help="a short Locust load test (embedded carrier by default): "
                                                    "percentiles, throughput, conservation, JSON/CSV/HTML reports")
    loadtest_arguments(loadtest)
    loadtest.set_defaults(func=_loadtest)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
