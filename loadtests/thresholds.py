"""CI gating: limits from command-line flags or a YAML file, checked against a run summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from .durations import parse_duration


@dataclass(slots=True)
class Thresholds:
    """Limits; None is unchecked. Times in milliseconds, throughput in accepted messages per second."""

    submit_p95: float | None = None
    submit_p99: float | None = None
    receipt_p95: float | None = None
    error_ratio: float | None = None
    min_throughput: float | None = None
    max_missing: int | None = None

    def merged(self, over: Thresholds) -> Thresholds:
        """These limits with every limit `over` sets taking precedence (flags over the file)."""
        return Thresholds(**{f.name: getattr(over, f.name) if getattr(over, f.name) is not None
                             else getattr(self, f.name) for f in fields(self)})

    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


# name in YAML / in the summary -> (flag, kind). Kind says how a value is written.
LIMITS = {
    "submit_p95": ("--max-submit-p95", "time"),
    "submit_p99": ("--max-submit-p99", "time"),
    "receipt_p95": ("--max-receipt-p95", "time"),
    "error_ratio": ("--max-error-ratio", "ratio"),
    "min_throughput": ("--min-throughput", "rate"),
    "max_missing": ("--max-missing", "count"),
}


def _value(name: str, raw: object) -> float | int:
    kind = LIMITS[name][1]
    if kind == "time":
        # A bare number is milliseconds here: latency limits are written in ms far more often than in s.
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        return parse_duration(str(raw)) * 1000.0
    if kind == "ratio":
        text = str(raw).strip()
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be a ratio from 0 to 1 (or a percentage), got {raw!r}")
        return value
    if kind == "rate":
        return float(str(raw).strip().removesuffix("/s"))
    return int(raw)  # type: ignore[call-overload]


def from_flags(values: dict[str, str]) -> Thresholds:
    """Limits from flag values keyed by limit name; empty strings are unset."""
    limits = Thresholds()
    for name, raw in values.items():
        if raw not in ("", None):
            try:
                setattr(limits, name, _value(name, raw))
            except ValueError as error:
                raise ValueError(f"{LIMITS[name][0]}: {error}") from None
    return limits


def load(path: str | Path) -> Thresholds:
    """A YAML file: `thresholds: {submit_p95: 5ms, receipt_p95: 1s, error_ratio: 0.01, ...}` (or the
    mapping at the top level)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if isinstance(data, dict) and "thresholds" in data:
        data = data["thresholds"] or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of thresholds")
    unknown = sorted(set(data) - set(LIMITS))
    if unknown:
        raise ValueError(f"{path}: unknown threshold(s) {', '.join(unknown)}; known: {', '.join(LIMITS)}")
    limits = Thresholds()
    for name, raw in data.items():
        try:
            setattr(limits, name, _value(name, raw))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {name}: {error}") from None
    return limits


@dataclass(frozen=True, slots=True)
class Verdict:
    """One checked limit."""

    name: str
    flag: str
    limit: float
    measured: float | None
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "nothing measured"
    kind = LIMITS[name][1]
    if kind == "time":
        return f"{value:.3f} ms"
    if kind == "ratio":
        return f"{value:.4f}"
    if kind == "rate":
        return f"{value:.1f} msg/s"
    return str(int(value))


def check(limits: Thresholds, measured: dict[str, float | None]) -> list[Verdict]:
    """Each set limit against its measured value. A minimum must be reached; everything else must not
    be exceeded. A limit with nothing measured fails: a gate that cannot see must not pass."""
    verdicts = []
    for name, (flag, _) in LIMITS.items():
        limit = getattr(limits, name)
        if limit is None:
            continue
        value = measured.get(name)
        if value is None:
            passed = False
        elif name == "min_throughput":
            passed = value >= limit
        else:
            passed = value <= limit
        relation = ("at least" if name == "min_throughput" else "at most")
        word = "ok" if passed else "BROKEN"
        message = (f"{word}: {name} ({flag}) measured {_fmt(name, value)}, limit {relation} {_fmt(name, limit)}")
        verdicts.append(Verdict(name, flag, float(limit), value, passed, message))
    return verdicts
