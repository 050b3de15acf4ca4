"""The harness's Locust command-line options (synced from master to workers) and their typed form."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .durations import parse_duration
from .workload import DEFAULT_DESTINATIONS, DEFAULT_MIX

SHAPES = ("constant", "ramp", "step", "spike", "soak", "burst")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the harness's options on Locust's parser (called from events.init_command_line_parser)."""
    group = parser.add_argument_group("carrier-sim harness")
    add = group.add_argument
    add("--duration", default="", help="sending time (e.g. 20s); then the harness drains receipts and stops the run")
    add("--drain", default="10s", help="longest wait for outstanding answers and receipts after sending stops")
    add("--shape", default="constant", choices=SHAPES, help="how the user count moves over --duration")
    add("--arrival-rate", type=float, default=0.0,
        help="open model: messages/s in total, each with an intended send time (0: closed, as fast as windows allow)")
    add("--messages", type=int, default=0, help="campaign burst: send this many messages in total, then drain")
    add("--window", type=int, default=10, help="outstanding submit_sm per bind")
    add("--system-id", default="loadtest{worker}", help="SMPP system_id ({worker}: the worker's index, empty locally)")
    add("--password", default="secret")
    add("--system-type", default="")
    add("--bind-type", default="transceiver", choices=("transceiver", "transmitter+receiver"))
    add("--source", default="12345", help="source address of every message")
    add("--mix", default=DEFAULT_MIX, help="message mix: weight:encoding:length,... (gsm7, gsm7-escapes, ucs2, ucs2-emoji)")
    add("--destinations", default=DEFAULT_DESTINATIONS, help="destination pools: first+count[:weight],...")
    add("--seed", type=int, default=1, help="workload seed (each worker adds its index)")
    add("--registered-delivery", type=int, default=1, help="registered_delivery on submit_sm (0: no receipts)")
    add("--request-timeout", default="10s", help="time to wait for a submit answer")
    add("--receipt-timeout", default="30s", help="time to wait for a receipt before counting it missing")
    add("--max-retries", type=int, default=10, help="resubmissions after 0x58/0x14 (or HTTP 429) before failing")
    add("--control-url", default="", help="carrier-sim's control API: correlate messages that reached the carrier")
    add("--summary-json", default="", help="write the run summary (JSON) here")
    add("--timeseries-csv", default="", help="write the per-bind time series (CSV) here")
    add("--thresholds", default="", help="YAML file of CI thresholds")
    add("--max-submit-p95", default="", help="fail the run when submit p95 exceeds this (e.g. 5ms)")
    add("--max-submit-p99", default="")
    add("--max-receipt-p95", default="")
    add("--max-error-ratio", default="", help="fail when failed submits / submits exceeds this (e.g. 0.01)")
    add("--min-throughput", default="", help="fail below this many accepted messages per second")
    add("--max-missing", default="", help="fail when more receipts than this are missing")
    add("--progress-interval", default="2s", help="how often the master prints a progress line (0: never)")
    add("--webhook-host", default="127.0.0.1", help="address of the built-in receipt webhook")
    add("--webhook-port", type=int, default=0, help="port of the webhook (0: any free port)")
    add("--http-url", default="", help="generic gateway: URL template ({to} {text} {ref} {from} {dlr_url})")
    add("--http-method", default="POST")
    add("--http-body", default="", help="generic gateway: body template")
    add("--http-content-type", default="application/json")
    add("--http-auth", default="", help="basic:USER:PASS, bearer:TOKEN or header:NAME:VALUE")
    add("--http-success", default="2xx", help="success rule: status list/range (2xx, 200,201) [;body regex]")
    add("--http-id", default="", help="message id: json:path.0.to.id or regex:PATTERN")
    add("--webhook-format", default="generic", help="receipt format for the generic gateway's webhook")
    add("--account", default="AC00000000000000000000000000000000", help="Twilio account SID / ClickSend user")
    add("--token", default="secret", help="Twilio auth token / Infobip API key / ClickSend API key")
    add("--kannel-user", default="loadtest")
    add("--kannel-password", default="secret")
    add("--label", default="", help="free text stored in the summary (e.g. the scenario)")


@dataclass(slots=True)
class HarnessOptions:
    """The parsed options a process works from."""

    duration: float | None
    drain: float
    shape: str
    arrival_rate: float
    messages: int
    window: int
    system_id: str
    password: str
    system_type: str
    bind_type: str
    source: str
    mix: str
    destinations: str
    seed: int
    registered_delivery: int
    request_timeout: float
    receipt_timeout: float
    max_retries: int
    control_url: str
    summary_json: str
    timeseries_csv: str
    progress_interval: float
    webhook_host: str
    webhook_port: int
    label: str

    @classmethod
    def from_parsed(cls, ns: argparse.Namespace) -> HarnessOptions:
        duration = parse_duration(ns.duration) if getattr(ns, "duration", "") else None
        return cls(
            duration=duration or None, drain=parse_duration(ns.drain), shape=ns.shape,
            arrival_rate=float(ns.arrival_rate), messages=int(ns.messages), window=max(1, int(ns.window)),
            system_id=ns.system_id, password=ns.password, system_type=ns.system_type, bind_type=ns.bind_type,
            source=ns.source, mix=ns.mix, destinations=ns.destinations, seed=int(ns.seed),
            registered_delivery=int(ns.registered_delivery), request_timeout=parse_duration(ns.request_timeout),
            receipt_timeout=parse_duration(ns.receipt_timeout), max_retries=int(ns.max_retries),
            control_url=ns.control_url.rstrip("/"), summary_json=ns.summary_json, timeseries_csv=ns.timeseries_csv,
            progress_interval=parse_duration(ns.progress_interval), webhook_host=ns.webhook_host,
            webhook_port=int(ns.webhook_port), label=ns.label,
        )
