"""Scenarios: the one place that decides outcomes. A seeded RNG, defaults, first-match rules and timed phases."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from simulator.config import StatusCode
from simulator.smpp.receipts import state_from_word
from simulator.smpp.status import Status
from simulator.yamlload import ConfigError, Converter, load_file, load_text

from .distributions import Distribution, Fixed, parse_distribution
from .records import MessageState

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"



class Delay(Converter):
    """A latency or delay distribution: `10ms`, `{uniform: [2s, 4s]}`, `{mixture: {...}}`, ..."""

    @classmethod
    def from_yaml(cls, value: Any, path: str) -> Distribution:
        return parse_distribution(value)


class State(Converter):
    """A final state as its receipt word (DELIVRD, UNDELIV, ...) or its long name (DELIVERED)."""

    @classmethod
    def from_yaml(cls, value: Any, path: str) -> MessageState:
        return state_from_word(str(value))


@dataclass(slots=True)
class StateChoice:
    """One entry of a receipt state mix."""

    state: State
    weight: float = 1.0
    err: int = 0
    network_error: tuple[int, int] | None = None

    def validate(self) -> None:
        if self.weight < 0:
            raise ValueError("weight must not be negative")


@dataclass(slots=True)
class SubmitBehaviour:
    """How the submit is answered. Every field left out keeps the value from below it."""

    status: StatusCode | None = None
    latency: Delay | None = None
    respond: bool | None = None  # false: never answer (the client's request times out)
    nack: bool | None = None  # answer with generic_nack instead of the command's response
    omit_body: bool | None = None  # a response without its body, as some carriers send with 0x45


@dataclass(slots=True)
class ReceiptBehaviour:
    """What happens after an accepted submit: the final state and its receipt."""

    states: list[StateChoice] | None = None
    delay: Delay | None = None
    lost: float | None = None  # probability the receipt never comes
    duplicate: float | None = None  # probability it comes twice
    early: float | None = None  # probability it is sent before the submit response
    out_of_order: float | None = None  # probability it is held back and sent after a later one
    per_segment: bool | None = None  # one receipt per part of a long message
    wrong_id: str | None = None  # "decimal", "hex", "uppercase" or "mismatch": write the id wrongly

    def validate(self) -> None:
        for name in ("lost", "duplicate", "early", "out_of_order"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} is a probability from 0 to 1")
        if self.wrong_id not in (None, "decimal", "hex", "uppercase", "mismatch"):
            raise ValueError("wrong_id must be decimal, hex, uppercase or mismatch")


@dataclass(slots=True)
class Behaviour:
    submit: SubmitBehaviour = field(default_factory=SubmitBehaviour)
    receipt: ReceiptBehaviour = field(default_factory=ReceiptBehaviour)


@dataclass(slots=True)
class Match:
    """Which traffic a rule applies to. Every named condition must hold."""

    destination: str | None = None  # a prefix, or a regex when written /like this/
    source: str | None = None
    system_id: str | None = None
    text: str | None = None  # regex
    data_coding: int | None = None
    segments: int | None = None  # exactly this many; or use min_segments
    min_segments: int | None = None
    channel: str | None = None  # smpp, http, smtp

    def validate(self) -> None:
        for name in ("destination", "source", "text"):
            pattern = getattr(self, name)
            if pattern and (name == "text" or _is_regex(pattern)):
                try:
                    re.compile(_regex_body(pattern))
                except re.error as error:
                    raise ValueError(f"{name}: not a valid regex: {error}") from None
        if self.channel not in (None, "smpp", "http", "smtp"):
            raise ValueError("channel must be smpp, http or smtp")


@dataclass(slots=True)
class Rule:
    match: Match = field(default_factory=Match)
    submit: SubmitBehaviour | None = None
    receipt: ReceiptBehaviour | None = None
    name: str = ""


@dataclass(slots=True)
class ScenarioFile:
    """The YAML shape of a scenario file."""

    name: str = ""
    description: str = ""
    seed: int = 1
    defaults: Behaviour = field(default_factory=Behaviour)
    rules: list[Rule] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Traffic:
    """What a rule can match on: one submitted message as the carrier sees it."""

    system_id: str
    channel: str
    source: str
    destination: str
    text: str
    data_coding: int
    segments: int


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    status: int
    latency: float
    respond: bool
    nack: bool
    omit_body: bool


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    state: MessageState
    err: int
    network_error: tuple[int, int] | None
    delay: float
    lost: bool
    duplicate: bool
    early: bool
    out_of_order: bool
    per_segment: bool
    wrong_id: str | None


BASE = Behaviour(
    submit=SubmitBehaviour(status=StatusCode(0), latency=Fixed(0.0), respond=True, nack=False, omit_body=False),
    receipt=ReceiptBehaviour(
        # Realistic by default: mostly delivered, within about a second.
        states=[
            StateChoice(State.from_yaml("DELIVRD", ""), 97.0),
            StateChoice(State.from_yaml("UNDELIV", ""), 2.0, err=1, network_error=(3, 1)),
            StateChoice(State.from_yaml("EXPIRED", ""), 0.5, err=3),
            StateChoice(State.from_yaml("REJECTD", ""), 0.5, err=2),
        ],
        delay=parse_distribution({"lognormal": {"median": "400ms", "sigma": 0.5}}),
        lost=0.0, duplicate=0.0, early=0.0, out_of_order=0.0, per_segment=False, wrong_id=None,
    ),
)


def _is_regex(pattern: str) -> bool:
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def _regex_body(pattern: str) -> str:
    return pattern[1:-1] if _is_regex(pattern) else pattern


class _CompiledMatch:
    __slots__ = ("match", "destination", "source", "text")

    def __init__(self, match: Match) -> None:
        self.match = match
        self.destination = _address_test(match.destination)
        self.source = _address_test(match.source)
        self.text = re.compile(match.text) if match.text else None

    def __call__(self, traffic: Traffic) -> bool:
        m = self.match
        if m.system_id is not None and traffic.system_id != m.system_id:
            return False
        if m.channel is not None and traffic.channel != m.channel:
            return False
        if m.data_coding is not None and traffic.data_coding != m.data_coding:
            return False
        if m.segments is not None and traffic.segments != m.segments:
            return False
        if m.min_segments is not None and traffic.segments < m.min_segments:
            return False
        if self.destination is not None and not self.destination(traffic.destination):
            return False
        if self.source is not None and not self.source(traffic.source):
            return False
        if self.text is not None and not self.text.search(traffic.text):
            return False
        return True


def _address_test(pattern: str | None):
    if pattern is None:
        return None
    if _is_regex(pattern):
        compiled = re.compile(_regex_body(pattern))
        return lambda value: compiled.search(value) is not None
    prefix = pattern.lstrip("+")
    return lambda value: value.lstrip("+").startswith(prefix)


def _merge(base: Any, over: Any) -> Any:
    if over is None:
        return base
    changes = {f.name: getattr(over, f.name) for f in fields(over) if getattr(over, f.name) is not None}
    return replace(base, **changes) if changes else base


class Scenario:
    """A loaded scenario with its own seeded RNG. The carrier asks it about every message."""

    def __init__(self, spec: ScenarioFile | None = None, *, source: str = "<default>") -> None:
        self.spec = spec or ScenarioFile(name="default")
        self.source = source
        self.rng = random.Random(self.spec.seed)
        self.defaults = Behaviour(
            submit=_merge(BASE.submit, self.spec.defaults.submit),
            receipt=_merge(BASE.receipt, self.spec.defaults.receipt),
        )
        self._rules = [(_CompiledMatch(rule.match), rule) for rule in self.spec.rules]
        self._weights: dict[int, tuple[list[float], list[StateChoice]]] = {}

    @property
    def name(self) -> str:
        return self.spec.name or self.source

    def _rule_for(self, traffic: Traffic) -> Rule | None:
        for test, rule in self._rules:
            if test(traffic):
                return rule
        return None

    def submit_outcome(self, traffic: Traffic) -> SubmitOutcome:
        rule = self._rule_for(traffic)
        behaviour = _merge(self.defaults.submit, rule.submit if rule else None)
        return SubmitOutcome(
            status=int(behaviour.status),
            latency=behaviour.latency.sample(self.rng),
            respond=bool(behaviour.respond),
            nack=bool(behaviour.nack),
            omit_body=bool(behaviour.omit_body),
        )

    def delivery_outcome(self, traffic: Traffic) -> DeliveryOutcome:
        rule = self._rule_for(traffic)
        behaviour: ReceiptBehaviour = _merge(self.defaults.receipt, rule.receipt if rule else None)
        choice = self._choose_state(behaviour.states)
        rng = self.rng
        return DeliveryOutcome(
            state=choice.state,
            err=choice.err,
            network_error=tuple(choice.network_error) if choice.network_error else None,
            delay=behaviour.delay.sample(rng),
            lost=bool(behaviour.lost) and rng.random() < behaviour.lost,
            duplicate=bool(behaviour.duplicate) and rng.random() < behaviour.duplicate,
            early=bool(behaviour.early) and rng.random() < behaviour.early,
            out_of_order=bool(behaviour.out_of_order) and rng.random() < behaviour.out_of_order,
            per_segment=bool(behaviour.per_segment),
            wrong_id=behaviour.wrong_id,
        )

    def _choose_state(self, states: list[StateChoice]) -> StateChoice:
        if len(states) == 1:
            return states[0]
        cached = self._weights.get(id(states))
        if cached is None:
            total = sum(s.weight for s in states) or 1.0
            running, cumulative = 0.0, []
            for choice in states:
                running += choice.weight / total
                cumulative.append(running)
            cached = self._weights[id(states)] = (cumulative, states)
        point = self.rng.random()
        for edge, choice in zip(*cached):
            if point < edge:
                return choice
        return states[-1]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A bundled scenario by name (see `scenarios/`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.exists():
        bundled = SCENARIO_DIR / f"{name_or_path}.yaml"
        if not bundled.exists():
            names = ", ".join(bundled_names()) or "none"
            raise ConfigError(f"no scenario file or bundled scenario called {str(name_or_path)!r} (bundled: {names})",
                              file=str(name_or_path))
        path = bundled
    spec = load_file(path, ScenarioFile)
    return Scenario(spec, source=str(path))


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    return Scenario(load_text(text, ScenarioFile, file=file), source=file)


def bundled_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


OK = Status.ESME_ROK
