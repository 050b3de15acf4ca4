"""Seeded delay/latency distributions, and their parsing from scenario YAML."""

from __future__ import annotations

import bisect
import difflib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

__all__ = [
    "Distribution",
    "Fixed",
    "Uniform",
    "Normal",
    "LogNormal",
    "Exponential",
    "Mixture",
    "parse_duration",
    "format_duration",
    "parse_distribution",
]


@runtime_checkable
class Distribution(Protocol):
    """A delay in seconds. Every draw comes from the caller's RNG so a scenario replays from its seed."""

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds, never negative."""
        ...

    def mean(self) -> float:
        """Expected value of sample(), including the clamp at 0."""
        ...

    def describe(self) -> str:
        """Short human-readable form, e.g. ``uniform 2s..4s``."""
        ...


def _check(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {need}, got {value!r}")


def format_duration(seconds: float) -> str:
    """Render seconds with the unit a person would write (``500us``, ``250ms``, ``1.5s``)."""
    if seconds == 0:
        return "0s"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.6g}us"
    if seconds < 1:
        return f"{seconds * 1e3:.6g}ms"
    return f"{seconds:.6g}s"


@dataclass(frozen=True, slots=True)
class Fixed:
    value: float

    def __post_init__(self) -> None:
        _check("fixed value", self.value)

    def sample(self, rng: random.Random) -> float:
        return self.value

    def mean(self) -> float:
        return self.value

    def describe(self) -> str:
        return f"fixed {format_duration(self.value)}"


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def __post_init__(self) -> None:
        _check("uniform low", self.low)
        _check("uniform high", self.high)
        if self.low > self.high:
            raise ValueError(f"uniform low ({self.low!r}) must not exceed high ({self.high!r})")

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def describe(self) -> str:
        return f"uniform {format_duration(self.low)}..{format_duration(self.high)}"


@dataclass(frozen=True, slots=True)
class Normal:
    """Gaussian delay with mean ``mu``, clamped at 0; mean() accounts for the clamp.

    The field is ``mu`` because a slots dataclass cannot have both a ``mean`` field and the mean() method.
    """

    mu: float
    stddev: float

    def __post_init__(self) -> None:
        _check("normal mean", self.mu)
        _check("normal stddev", self.stddev)

    def sample(self, rng: random.Random) -> float:
        return max(0.0, rng.gauss(self.mu, self.stddev))

    def mean(self) -> float:
        # E[max(X, 0)] for X ~ N(mu, s) is mu*Phi(mu/s) + s*phi(mu/s); with a
        # wide stddev the clamp raises the mean noticeably above mu.
        mu, s = self.mu, self.stddev
        if s == 0:
            return mu
        z = mu / s
        phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        return mu * cdf + s * phi

    def describe(self) -> str:
        return f"normal mean={format_duration(self.mu)} stddev={format_duration(self.stddev)}"


@dataclass(frozen=True, slots=True)
class LogNormal:
    """``median * exp(sigma * N(0, 1))``: parametrised by median so a "typical" delay is stated directly."""

    median: float
    sigma: float

    def __post_init__(self) -> None:
        _check("lognormal median", self.median, positive=True)
        _check("lognormal sigma", self.sigma)

    def sample(self, rng: random.Random) -> float:
        exponent = self.sigma * rng.gauss(0.0, 1.0)
        # A far-tail draw with a large sigma would overflow math.exp; saturate instead of raising mid-scenario.
        return self.median * math.exp(min(exponent, 700.0))

    def mean(self) -> float:
        return self.median * math.exp(self.sigma * self.sigma / 2)

    def describe(self) -> str:
        return f"lognormal median={format_duration(self.median)} sigma={self.sigma:g}"


@dataclass(frozen=True, slots=True)
class Exponential:
    """Memoryless delay with mean ``mu`` (named like Normal.mu for the same reason)."""

    mu: float

    def __post_init__(self) -> None:
        _check("exponential mean", self.mu, positive=True)

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mu)

    def mean(self) -> float:
        return self.mu

    def describe(self) -> str:
        return f"exponential mean={format_duration(self.mu)}"


@dataclass(frozen=True, slots=True)
class Mixture:
    """Pick a part by weight, then sample it. Weights are relative (need not sum to 1 or 100)."""

    parts: tuple[tuple[float, Distribution], ...]
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("mixture needs at least one part")
        for weight, dist in self.parts:
            _check("mixture weight", weight)
            if not isinstance(dist, Distribution):
                raise ValueError(f"mixture part must be a Distribution, got {dist!r}")
        total = math.fsum(w for w, _ in self.parts)
        if total <= 0:
            raise ValueError("mixture weights must not all be 0")
        running, cumulative = 0.0, []
        for weight, _ in self.parts:
            running += weight
            cumulative.append(running / total)
        # Pin the last bound to exactly 1.0 so rounding can never leave rng.random() past the table.
        cumulative[-1] = 1.0
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    def sample(self, rng: random.Random) -> float:
        # bisect_right skips zero-weight parts, whose bound equals their predecessor's.
        index = bisect.bisect_right(self._cumulative, rng.random())
        return self.parts[index][1].sample(rng)

    def mean(self) -> float:
        total = math.fsum(w for w, _ in self.parts)
        return math.fsum(w * d.mean() for w, d in self.parts) / total

    def describe(self) -> str:
        total = math.fsum(w for w, _ in self.parts)
        return "mixture " + ", ".join(f"{100 * w / total:.4g}% {d.describe()}" for w, d in self.parts)


_UNITS: Final[dict[str, float]] = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE: Final = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([a-zµ]*)")


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``"500us"``, ``"250ms"``, ``"1.5s"``, ``"2m"``, ``"1h"`` or a plain number of seconds.

    Negative, infinite or NaN durations raise ValueError.
    """
    # bool is an int subclass; `true` in YAML is a typo, not 1 second.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"invalid duration {value!r}: expected a number of seconds or a string like '250ms'")
    if isinstance(value, str):
        match = _DURATION_RE.fullmatch(value.strip())
        if not match or (match.group(2) and match.group(2) not in _UNITS):
            raise ValueError(
                f"invalid duration {value!r}: expected a number with an optional unit "
                f"(us, ms, s, m, h), e.g. '250ms' or '1.5s'"
            )
        seconds = float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1.0)
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {value!r}: must be finite and not negative")
    return seconds


_KINDS: Final = ("fixed", "uniform", "normal", "lognormal", "exponential", "mixture")


def _suggest(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fields(kind: str, body: object, names: tuple[str, ...]) -> list[object]:
    if not isinstance(body, Mapping):
        example = ", ".join(f"{n}: ..." for n in names)
        raise ValueError(f"{kind} expects a mapping {{{example}}}; got {body!r}")
    for key in body:
        if key not in names:
            raise ValueError(f"{kind} expects keys {', '.join(names)}; got unknown key {key!r}{_suggest(key, names)}")
    missing = [n for n in names if n not in body]
    if missing:
        raise ValueError(f"{kind} is missing {', '.join(repr(m) for m in missing)}")
    return [body[n] for n in names]


def _duration(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{name}: expected a duration such as '250ms' or a number of seconds, got {value!r}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a plain number (no unit), got {value!r}") from None
    _check(name, number)
    return number


def _weight(value: object) -> float:
    # "80%" and 80 mean the same: weights are relative, the percent sign is decoration.
    if isinstance(value, str) and value.strip().endswith("%"):
        return _number("mixture weight", value.strip()[:-1])
    return _number("mixture weight", value)


def _mixture(body: object) -> Mixture:
    parts: list[tuple[float, Distribution]] = []
    if isinstance(body, Mapping):
        # Short form {"80%": 10ms, ...}; YAML keeps only one of two equal keys, so equal weights need the list form.
        for key, spec in body.items():
            parts.append((_weight(key), _at(f"mixture[{key!r}]", spec)))
    elif isinstance(body, Sequence) and not isinstance(body, str):
        for i, item in enumerate(body):
            weight, spec = _fields(f"mixture[{i}]", item, ("weight", "value"))
            parts.append((_weight(weight), _at(f"mixture[{i}].value", spec)))
    else:
        raise ValueError(
            "mixture expects a list of {weight: ..., value: ...} or a mapping like {'80%': 10ms, '20%': 1s}; "
            f"got {body!r}"
        )
    return Mixture(tuple(parts))


def _at(path: str, spec: object) -> Distribution:
    try:
        return parse_distribution(spec)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def parse_distribution(spec: object) -> Distribution:
    """Build a Distribution from YAML-shaped data.

    A scalar (``10ms``, ``0.5``) is Fixed. Otherwise a one-key mapping:
    ``{fixed: 10ms}``, ``{uniform: [2s, 4s]}`` / ``{uniform: {low: 2s, high: 4s}}``,
    ``{normal: {mean: 100ms, stddev: 20ms}}``, ``{lognormal: {median: 1s, sigma: 0.5}}``
    (sigma is unitless), ``{exponential: {mean: 200ms}}``, and
    ``{mixture: [{weight: 80, value: <spec>}, ...]}`` or ``{mixture: {"80%": <spec>, ...}}``.
    Raises ValueError saying what was expected.
    """
    if isinstance(spec, (str, int, float)) and not isinstance(spec, bool):
        return Fixed(parse_duration(spec))
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ValueError(
            f"expected a duration or a mapping with one key, one of {', '.join(_KINDS)}; got {spec!r}"
        )
    ((kind, body),) = spec.items()
    if kind not in _KINDS:
        raise ValueError(f"expected one of {', '.join(_KINDS)}; got {kind!r}{_suggest(kind, _KINDS)}")
    if kind == "fixed":
        return Fixed(_duration("fixed", body))
    if kind == "uniform":
        if isinstance(body, Sequence) and not isinstance(body, str):
            if len(body) != 2:
                raise ValueError(f"uniform expects [low, high]; got {body!r}")
            low, high = body
        else:
            low, high = _fields("uniform", body, ("low", "high"))
        return Uniform(_duration("uniform low", low), _duration("uniform high", high))
    if kind == "normal":
        mean, stddev = _fields("normal", body, ("mean", "stddev"))
        return Normal(_duration("normal mean", mean), _duration("normal stddev", stddev))
    if kind == "lognormal":
        median, sigma = _fields("lognormal", body, ("median", "sigma"))
        return LogNormal(_duration("lognormal median", median), _number("lognormal sigma", sigma))
    if kind == "exponential":
        (mean,) = _fields("exponential", body, ("mean",))
        return Exponential(_duration("exponential mean", mean))
    return _mixture(body)
