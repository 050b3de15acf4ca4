"""The run summary: built from the aggregate at the end of a run, written as JSON, printed as a table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .correlate import Conservation
from .durations import format_ms
from .stats import Aggregate
from .thresholds import Thresholds, check

# Histograms shown in the summary, in this order (receipt:<STATE> ones follow "receipt").
LATENCIES = ("submit", "http_submit", "window_wait", "lateness", "submit_intended", "receipt", "gateway",
             "carrier_ack", "enquire_link")


@dataclass(slots=True)
class RunInfo:
    """What was run, for the record."""

    started_at: str
    finished_at: str
    label: str
    target: str
    user_classes: list[str]
    users: int
    processes: int
    send_seconds: float  # first send to last send
    drained: bool  # every answer and receipt was in (or given up) before the drain time ran out
    drain_seconds: float = 0.0  # from the end of sending until the last answer and receipt
    interrupted: bool = False
    locust_version: str = ""
    options: dict = field(default_factory=dict)


def measured_values(summary: dict) -> dict[str, float | None]:
    """The figures thresholds are checked against, from a summary dict."""
    latency = summary["latency"]

    def pick(name: str, percentile: str) -> float | None:
        block = latency.get(name)
        return block[percentile] if block else None

    # Over HTTP, a "submit" is the gateway's answer to the HTTP request.
    submit = "submit" if latency.get("submit") else "http_submit"
    return {
        "submit_p95": pick(submit, "p95"),
        "submit_p99": pick(submit, "p99"),
        "receipt_p95": pick("receipt", "p95"),
        "error_ratio": summary["error_ratio"],
        "min_throughput": summary["throughput"]["messages_per_s"],
        "max_missing": summary["receipts"]["missing"],
    }


def build(aggregate: Aggregate, info: RunInfo, limits: Thresholds) -> dict:
    submits = aggregate.submits
    receipts = aggregate.receipts
    first, last = aggregate.send_window()
    seconds = max(info.send_seconds, (last - first) if first is not None and last is not None else 0.0)
    accepted = receipts.accepted
    decided = submits.segments_ok + submits.segments_failed
    latency = {}
    names = list(LATENCIES) + [n for n in aggregate.histograms.names() if n.startswith("receipt:")]
    for name in names:
        block = aggregate.histograms.summary(name)
        if block is not None:
            latency[name] = block.to_dict()
    conservation = Conservation()
    for part in aggregate.conservations():
        conservation.add(Conservation.from_dict(part))
    summary = {
        "run": asdict(info),
        "throughput": {
            "messages_per_s": round(accepted / seconds, 1) if seconds > 0 else None,
            "segments_per_s": round(submits.segments_ok / seconds, 1) if seconds > 0 else None,
            "receipts_per_s": round(receipts.received / seconds, 1) if seconds > 0 else None,
            "send_seconds": round(seconds, 3),
        },
        "error_ratio": round(submits.segments_failed / decided, 6) if decided else None,
        "submits": asdict(submits),
        "receipts": receipts.to_dict(),
        "latency": latency,
        "conservation": conservation.to_dict() | {"lost": conservation.lost},
        "timeseries": aggregate.per_second(),
    }
    verdicts = check(limits, measured_values(summary))
    summary["thresholds"] = [verdict.to_dict() for verdict in verdicts]
    summary["verdict"] = "fail" if any(not v.passed for v in verdicts) else "pass"
    return summary


def broken(summary: dict) -> list[str]:
    return [v["message"] for v in summary.get("thresholds", []) if not v["passed"]]


def write(summary: dict, path: str | Path) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")


def _row(label: str, block: dict | None) -> str:
    if not block:
        return f"  {label:<22} {'-':>12} {'-':>12} {'-':>12} {'-':>12} {'':>10}"
    return (f"  {label:<22} {format_ms(block['p50']):>12} {format_ms(block['p95']):>12} "
            f"{format_ms(block['p99']):>12} {format_ms(block['max']):>12} {block['count']:>10,}")


def table(summary: dict) -> str:
    """The human summary of a run, as printed at the end of `carrier-sim loadtest`."""
    run, latency, receipts, submits = summary["run"], summary["latency"], summary["receipts"], summary["submits"]
    throughput = summary["throughput"]
    lines = [
        f"carrier-sim loadtest: {run['target']}  ({', '.join(run['user_classes'])}, {run['users']} users, "
        f"{run['processes']} process{'es' if run['processes'] != 1 else ''}, {throughput['send_seconds']:.1f} s of sending)",
        "",
        f"  {'latency':<22} {'p50':>12} {'p95':>12} {'p99':>12} {'max':>12} {'count':>10}",
    ]
    labels = {"submit": "submit (submit_sm_resp)", "http_submit": "submit (HTTP answer)",
              "receipt": "receipt (submit->DLR)", "gateway": "gateway-added", "window_wait": "window wait",
              "lateness": "lateness (open model)", "submit_intended": "submit from intended",
              "carrier_ack": "carrier ack (gateway)", "enquire_link": "enquire_link"}
    for name in LATENCIES:
        if name in latency or name in ("submit", "receipt"):
            if name == "submit" and "submit" not in latency and "http_submit" in latency:
                continue
            lines.append(_row(labels[name], latency.get(name)))
    for name in sorted(n for n in latency if n.startswith("receipt:")):
        lines.append(_row(f"  {name.split(':', 1)[1]}", latency[name]))
    rate = throughput["messages_per_s"]
    lines += [
        "",
        f"  throughput      {rate if rate is not None else '-'} msg/s accepted, "
        f"{throughput['segments_per_s'] if throughput['segments_per_s'] is not None else '-'} segments/s, "
        f"{throughput['receipts_per_s'] if throughput['receipts_per_s'] is not None else '-'} receipts/s",
        f"  submits         {submits['messages']:,} messages, {submits['segments']:,} segments: "
        f"{submits['segments_ok']:,} ok, {submits['segments_failed']:,} failed, {submits['timeouts']:,} timed out, "
        f"{submits['retries']:,} retries (0x58 {submits['throttled']:,}, 0x14 {submits['queue_full']:,}), "
        f"{submits['rebinds']:,} rebinds",
        f"  error ratio     {summary['error_ratio'] if summary['error_ratio'] is not None else '-'}",
        f"  receipts        {receipts['received']:,} of {receipts['accepted']:,} expected; missing {receipts['missing']:,}, "
        f"duplicate {receipts['duplicate']:,}, orphan {receipts['orphan']:,}, early {receipts['early']:,}, "
        f"late {receipts['late']:,}, per-segment {receipts['segment']:,}",
        "  states          " + (", ".join(f"{k} {v:,}" for k, v in sorted(receipts["states"].items())) or "-"),
    ]
    conservation = summary["conservation"]
    if conservation["correlated"]:
        lines.append(
            f"  conservation    sent {conservation['sent']:,} = accepted {conservation['accepted']:,} = "
            f"at carrier {conservation['arrived']:,} = receipted {conservation['receipted']:,}; "
            f"lost {conservation['not_arrived']:,}, arrived without receipt {conservation['arrived_not_receipted']:,}, "
            f"receipt without arrival {conservation['receipted_not_arrived']:,}")
        for name in ("not_arrived_refs", "arrived_not_receipted_refs", "receipted_not_arrived_refs"):
            if conservation[name]:
                lines.append(f"    {name.removesuffix('_refs').replace('_', ' ')}: {' '.join(conservation[name][:10])}"
                             + (" ..." if len(conservation[name]) > 10 else ""))
    else:
        reason = conservation.get("error") or "no control API to correlate with (--control-url)"
        lines.append(f"  conservation    sent {receipts['sent']:,} = receipted {receipts['received']:,} "
                     f"(carrier side not checked: {reason})")
    if run.get("interrupted"):
        lines.append("  note            the run was interrupted: what was still outstanding counts as missing")
    elif not run["drained"]:
        lines.append("  note            the drain time ran out with answers or receipts still outstanding")
    if summary["thresholds"]:
        lines.append("")
        lines += [f"  {v['message']}" for v in summary["thresholds"]]
    lines += ["", f"  verdict: {summary['verdict'].upper()}"]
    return "\n".join(lines)
