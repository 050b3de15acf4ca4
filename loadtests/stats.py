"""The harness's own statistics: per-process counters and time series, and their aggregate at the master.

Workers send a ProcessReport with every Locust stats report (events.report_to_master) and a final
one when they have drained; the master (or, in a local run, the same process) folds them into an
Aggregate. Counters travel cumulatively, so a repeated or lost report does no harm; histograms and
time-series samples travel as deltas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .histograms import Histograms
from .tracker import ReceiptCounts


@dataclass(slots=True)
class SubmitCounts:
    """The send side: messages, segments (submit_sm PDUs or HTTP requests) and how they were answered."""

    messages: int = 0
    segments: int = 0
    segments_ok: int = 0
    segments_failed: int = 0  # refused for good, timed out, lost with a dropped bind, or retries exhausted
    timeouts: int = 0
    late_responses: int = 0  # answers that came after their request had timed out
    retries: int = 0
    throttled: int = 0  # 0x58 answers (or HTTP 429)
    queue_full: int = 0  # 0x14 answers
    generic_nacks: int = 0
    rebinds: int = 0
    bind_failures: int = 0
    connection_drops: int = 0
    mo_received: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # final failures by status name

    def error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1

    def add(self, other: SubmitCounts) -> None:
        for item in fields(self):
            if item.name == "errors":
                for name, count in other.errors.items():
                    self.errors[name] = self.errors.get(name, 0) + count
            else:
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @classmethod
    def from_dict(cls, data: dict) -> SubmitCounts:
        return cls(**{key: (dict(value) if key == "errors" else value) for key, value in data.items()})


@dataclass(slots=True)
class BindSample:
    """One second of one bind (or HTTP user): throughput, window occupancy and flow control."""

    t: float  # seconds since the run started
    bind: str
    submitted: int = 0  # submit_sm PDUs (or HTTP requests) written in this second
    answered_ok: int = 0
    throttled: int = 0
    queue_full: int = 0
    retries: int = 0
    timeouts: int = 0
    receipts: int = 0
    window_max: int = 0
    window_mean: float = 0.0

    @classmethod
    def from_dict(cls, data: dict) -> BindSample:
        return cls(**data)


@dataclass(slots=True)
class ProcessReport:
    """What one Locust process (local or worker) tells the aggregate."""

    node: str
    submits: SubmitCounts
    receipts: ReceiptCounts
    histograms: dict[str, str]  # deltas, encoded
    samples: list[BindSample]  # new since the last report
    awaiting: int  # messages in flight (waiting for an answer or a receipt)
    first_send: float | None  # wall clock
    last_send: float | None
    draining: bool = False
    final: bool = False
    conservation: dict | None = None  # set in the final report when correlated with the carrier

    def to_dict(self) -> dict:
        data = asdict(self)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ProcessReport:
        return cls(
            node=data["node"], submits=SubmitCounts.from_dict(data["submits"]),
            receipts=ReceiptCounts.from_dict(data["receipts"]), histograms=dict(data["histograms"]),
            samples=[BindSample.from_dict(s) for s in data["samples"]], awaiting=data["awaiting"],
            first_send=data["first_send"], last_send=data["last_send"], draining=data["draining"],
            final=data["final"], conservation=data.get("conservation"),
        )


@dataclass(slots=True)
class _NodeState:
    submits: SubmitCounts
    receipts: ReceiptCounts
    awaiting: int
    first_send: float | None
    last_send: float | None
    draining: bool
    final: bool
    conservation: dict | None


class Aggregate:
    """Every process's reports folded together: totals, histograms and the per-bind time series."""

    def __init__(self) -> None:
        self.histograms = Histograms()
        self.samples: list[BindSample] = []
        self.nodes: dict[str, _NodeState] = {}

    def merge(self, report: ProcessReport) -> None:
        self.histograms.merge_encoded(report.histograms)
        self.samples.extend(report.samples)
        previous = self.nodes.get(report.node)
        self.nodes[report.node] = _NodeState(
            report.submits, report.receipts, report.awaiting, report.first_send, report.last_send,
            report.draining, report.final or bool(previous and previous.final),
            report.conservation if report.conservation is not None else (previous.conservation if previous else None),
        )

    @property
    def submits(self) -> SubmitCounts:
        total = SubmitCounts()
        for node in self.nodes.values():
            total.add(node.submits)
        return total

    @property
    def receipts(self) -> ReceiptCounts:
        total = ReceiptCounts()
        for node in self.nodes.values():
            total.add(node.receipts)
        return total

    @property
    def awaiting(self) -> int:
        return sum(node.awaiting for node in self.nodes.values())

    def send_window(self) -> tuple[float | None, float | None]:
        firsts = [n.first_send for n in self.nodes.values() if n.first_send is not None]
        lasts = [n.last_send for n in self.nodes.values() if n.last_send is not None]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def all_final(self, expected_nodes: set[str]) -> bool:
        return all(name in self.nodes and self.nodes[name].final for name in expected_nodes)

    def conservations(self) -> list[dict]:
        return [node.conservation for node in self.nodes.values() if node.conservation is not None]

    def per_second(self) -> list[dict]:
        """The bind samples summed per second, for the summary (the per-bind rows go to a CSV)."""
        seconds: dict[int, dict] = {}
        for sample in self.samples:
            row = seconds.setdefault(int(sample.t), {"t": int(sample.t), "binds": 0, "submitted": 0,
                                                     "answered_ok": 0, "throttled": 0, "queue_full": 0,
                                                     "retries": 0, "timeouts": 0, "receipts": 0,
                                                     "window_max": 0})
            row["binds"] += 1
            for name in ("submitted", "answered_ok", "throttled", "queue_full", "retries", "timeouts", "receipts"):
                row[name] += getattr(sample, name)
            row["window_max"] = max(row["window_max"], sample.window_max)
        return [seconds[key] for key in sorted(seconds)]
