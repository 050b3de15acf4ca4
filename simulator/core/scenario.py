"""Scenarios at run time: the one place that decides outcomes, from a seeded RNG, rules and timed phases."""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import msgspec

from simulator.config import StatusCode
from simulator.smpp.status import Status
from simulator.yamlload import ConfigError, load_file, load_text

from .clock import Clock, SystemClock
from .distributions import Fixed, parse_distribution
from .records import MessageState
from .scenario_model import (
    Behaviour,
    Compliance,
    ConnectionBehaviour,
    Limits,
    Match,
    Phase,
    ReceiptBehaviour,
    Rule,
    ScenarioFile,
    StateChoice,
    SubmitBehaviour,
    is_regex,
    regex_body,
)

# The bundled library: the top-level scenarios/ folder, which simulator/scenarios links to so that
# installed wheels carry it too.
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

# Network error codes (GSM MAP) the compliance lists produce.
ABSENT_SUBSCRIBER = (3, 27)
TELESERVICE_NOT_PROVISIONED = (3, 11)
UNKNOWN_SUBSCRIBER = (3, 1)

BASE = Behaviour(
    submit=SubmitBehaviour(status=StatusCode(0), statuses=[], latency=Fixed(0.0), respond=True, nack=False,
                           omit_body=False),
    receipt=ReceiptBehaviour(
        # Realistic by default: mostly delivered, within about a second.
        states=[
            StateChoice(MessageState.DELIVERED, 97.0),
            StateChoice(MessageState.UNDELIVERABLE, 2.0, err=1, network_error=ABSENT_SUBSCRIBER),
            StateChoice(MessageState.EXPIRED, 0.5, err=3),
            StateChoice(MessageState.REJECTED, 0.5, err=2),
        ],
        delay=parse_distribution({"lognormal": {"median": "400ms", "sigma": 0.5}}),
        lost=0.0, duplicate=0.0, early=0.0, out_of_order=0.0, per_segment=False, wrong_id=None,
    ),
    connection=ConnectionBehaviour(refuse_binds=StatusCode(0), stall=False, mute_enquire_link=False),
    limits=Limits(tps_status=StatusCode(Status.ESME_RTHROTTLED), tps_per_bind_status=StatusCode(Status.ESME_RTHROTTLED),
                  window_status=StatusCode(Status.ESME_RMSGQFUL), queue_status=StatusCode(Status.ESME_RMSGQFUL)),
)


class Traffic(msgspec.Struct, gc=False):
    """What a rule can match on: one submitted message as the carrier sees it (one is made per submit).

    The text is decoded only if a rule asks for it: most scenarios never look at it. `decoded` is the
    text when the caller already has it (a long message's parts, joined).
    """

    system_id: str
    channel: str
    source: str
    destination: str
    data_coding: int
    segments: int
    payload: bytes = b""
    decoded: str | None = None

    @property
    def text(self) -> str:
        if self.decoded is None:
            from simulator.smpp.text import decode

            self.decoded = decode(self.payload, self.data_coding)
        return self.decoded


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


def _merge(base: Any, over: Any) -> Any:
    """`base` with every field `over` names (is not None) replaced: a rule changes only what it names."""
    if over is None:
        return base
    changes = {f.name: getattr(over, f.name) for f in fields(over) if getattr(over, f.name) is not None}
    if isinstance(over, SubmitBehaviour) and over.status is not None and over.statuses is None:
        changes["statuses"] = []  # naming one status overrides an inherited mix
    return replace(base, **changes) if changes else base


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
    if is_regex(pattern):
        compiled = re.compile(regex_body(pattern))
        return lambda value: compiled.search(value) is not None
    prefix = pattern.lstrip("+")
    return lambda value: value.lstrip("+").startswith(prefix)


class Scenario:
    """A loaded scenario with its own seeded RNG. The carrier asks it about every message.

    Every random choice is drawn from `rng`, seeded from the file, so the same traffic in the same
    order gets the same outcomes. `log` keeps the decisions (without message ids, which differ
    from run to run) so two runs can be compared.
    """

    def __init__(self, spec: ScenarioFile | None = None, *, source: str = "<default>") -> None:
        self.spec = spec or ScenarioFile(name="default")
        self.source = source
        self.rng = random.Random(self.spec.seed)
        self.clock: Clock = SystemClock()
        self.started = 0.0
        self.triggered: dict[str, float] = {}
        self.log: deque[tuple] = deque(maxlen=100_000)  # the newest decisions, for replay comparisons
        self._rules = [(_CompiledMatch(rule.match), rule) for rule in self.spec.rules]
        self._phase_rules = {
            phase.name: [(_CompiledMatch(rule.match), rule) for rule in phase.rules] for phase in self.spec.phases
        }
        self._effective: dict[tuple[str, ...], Behaviour] = {}
        self._merged: dict[tuple[tuple[str, ...], int], tuple[SubmitBehaviour, ReceiptBehaviour]] = {}
        self._weights: dict[int, tuple[list[float], list[Any]]] = {}
        # Per behaviour (by id): its one outcome and log entry when nothing in it is random, else None.
        self._fixed_submits: dict[int, tuple[SubmitOutcome, tuple] | None] = {}
        self._fixed_deliveries: dict[int, tuple[DeliveryOutcome, tuple] | None] = {}
        self._compliance = _CompiledCompliance(self.spec.compliance)
        self._static = self.effective([])
        plain = not self.spec.rules and not self.spec.phases
        self._plain: tuple[SubmitBehaviour, ReceiptBehaviour] | None = None
        if plain:
            defaults = self.effective([])
            self._plain = (defaults.submit, defaults.receipt)

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.source).stem

    # ------------------------------------------------------------------ time and phases

    def start(self, clock: Clock) -> None:
        """Start the scenario's timeline now: phases with `start` count from here."""
        self.clock = clock
        self.started = clock.now()
        self.triggered.clear()

    def trigger(self, name: str) -> list[str]:
        """Start the phases waiting on this trigger; returns their names (empty if none wait on it)."""
        phases = [phase.name for phase in self.spec.phases if phase.trigger == name]
        if phases:
            self.triggered[name] = self.clock.now()
        return phases

    def _phase_window(self, phase: Phase) -> tuple[float, float] | None:
        if phase.trigger is not None:
            began = self.triggered.get(phase.trigger)
            if began is None:
                return None
        else:
            began = self.started + (phase.start or 0.0)
        end = began + phase.duration if phase.duration is not None else float("inf")
        return began, end

    def active_phases(self, now: float | None = None) -> list[Phase]:
        if not self.spec.phases:
            return []
        now = self.clock.now() if now is None else now
        active = []
        for phase in self.spec.phases:
            window = self._phase_window(phase)
            if window is not None and window[0] <= now < window[1]:
                active.append(phase)
        return active

    def boundaries(self) -> list[float]:
        """Every known moment (carrier clock) at which the set of active phases changes."""
        moments: set[float] = set()
        for phase in self.spec.phases:
            window = self._phase_window(phase)
            if window is not None:
                moments.add(window[0])
                if window[1] != float("inf"):
                    moments.add(window[1])
        for at in self.effective().connection.disconnect_at or ():
            moments.add(self.started + at)
        return sorted(moments)

    def effective(self, phases: list[Phase] | None = None) -> Behaviour:
        """The defaults with every active phase's overrides applied, in file order."""
        phases = self.active_phases() if phases is None else phases
        key = tuple(phase.name for phase in phases)
        behaviour = self._effective.get(key)
        if behaviour is None:
            base, over = BASE, self.spec.defaults
            behaviour = Behaviour(
                submit=_merge(base.submit, over.submit), receipt=_merge(base.receipt, over.receipt),
                connection=_merge(base.connection, over.connection), limits=_merge(base.limits, over.limits),
            )
            for phase in phases:
                behaviour = Behaviour(
                    submit=_merge(behaviour.submit, phase.submit), receipt=_merge(behaviour.receipt, phase.receipt),
                    connection=_merge(behaviour.connection, phase.connection),
                    limits=_merge(behaviour.limits, phase.limits),
                )
            self._effective[key] = behaviour
        return behaviour

    def connection(self) -> ConnectionBehaviour:
        if not self.spec.phases:
            return self._static.connection
        return self.effective().connection

    def limits(self) -> Limits:
        if not self.spec.phases:
            return self._static.limits  # asked on every submit: skip the phase bookkeeping
        return self.effective().limits

    # ------------------------------------------------------------------ decisions

    def _behaviours(self, traffic: Traffic) -> tuple[SubmitBehaviour, ReceiptBehaviour]:
        if self._plain is not None:
            return self._plain  # no rules, no phases: every message gets the defaults
        phases = self.active_phases()
        key = tuple(phase.name for phase in phases)
        index = -1
        rule: Rule | None = None
        position = 0
        for phase in phases:
            for test, candidate in self._phase_rules[phase.name]:
                if test(traffic):
                    rule, index = candidate, position
                    break
                position += 1
            if rule is not None:
                break
        if rule is None:
            position = 10_000
            for test, candidate in self._rules:
                if test(traffic):
                    rule, index = candidate, position
                    break
                position += 1
        cached = self._merged.get((key, index))
        if cached is None:
            behaviour = self.effective(phases)
            cached = (_merge(behaviour.submit, rule.submit if rule else None),
                      _merge(behaviour.receipt, rule.receipt if rule else None))
            self._merged[(key, index)] = cached
        return cached

    def submit_outcome(self, traffic: Traffic) -> SubmitOutcome:
        plain = self._plain  # (read here too: a call saved on every submit)
        submit = plain[0] if plain is not None else self._behaviours(traffic)[0]
        fixed = self._fixed_submits.get(id(submit), False)
        if fixed is None or fixed is False:
            outcome = self._draw_submit(submit)
            tail = _submit_log(outcome)
            if fixed is False:  # the first time: is there anything random to draw?
                self._fixed_submits[id(submit)] = (
                    (outcome, tail) if not submit.statuses and isinstance(submit.latency, Fixed) else None)
        else:
            outcome, tail = fixed  # nothing random: the same immutable answer (and log entry) every time
        self.log.append(("submit", traffic.system_id, traffic.channel, traffic.destination) + tail)
        return outcome

    def _draw_submit(self, submit: SubmitBehaviour) -> SubmitOutcome:
        status = int(submit.status) if not submit.statuses else int(self._choose(submit.statuses).status)
        return SubmitOutcome(
            status=status,
            latency=submit.latency.sample(self.rng),
            respond=bool(submit.respond),
            nack=bool(submit.nack),
            omit_body=bool(submit.omit_body),
        )

    def delivery_outcome(self, traffic: Traffic) -> DeliveryOutcome:
        plain = self._plain
        receipt = plain[1] if plain is not None else self._behaviours(traffic)[1]
        if self._compliance.empty:
            fixed = self._fixed_deliveries.get(id(receipt), False)
            if fixed is False:
                outcome = _fixed_delivery(receipt)
                fixed = self._fixed_deliveries[id(receipt)] = (
                    (outcome, _delivery_log(outcome)) if outcome is not None else None)
            if fixed is not None:
                # Nothing random to draw: the same immutable outcome (and log entry) every time.
                self.log.append(("delivery", traffic.system_id, traffic.channel, traffic.destination) + fixed[1])
                return fixed[0]
        rng = self.rng
        choice = self._choose(receipt.states)
        state, err, network_error = choice.state, choice.err, choice.network_error
        fate = self._compliance.fate(traffic.destination)
        if fate is not None:
            state, err, network_error = fate
        outcome = DeliveryOutcome(
            state=state,
            err=err,
            network_error=tuple(network_error) if network_error else None,
            delay=receipt.delay.sample(rng),
            lost=bool(receipt.lost) and rng.random() < receipt.lost,
            duplicate=bool(receipt.duplicate) and rng.random() < receipt.duplicate,
            early=bool(receipt.early) and rng.random() < receipt.early,
            out_of_order=bool(receipt.out_of_order) and rng.random() < receipt.out_of_order,
            per_segment=bool(receipt.per_segment),
            wrong_id=receipt.wrong_id,
        )
        self.log.append(("delivery", traffic.system_id, traffic.channel, traffic.destination) + _delivery_log(outcome))
        return outcome

    def _choose(self, states: list[Any]) -> Any:
        """A weighted choice (of states or statuses) drawn from the scenario's RNG."""
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

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "source": self.source, "seed": self.spec.seed,
            "phases": [
                {"name": p.name, "active": p in self.active_phases(), "trigger": p.trigger,
                 "start": p.start, "duration": p.duration}
                for p in self.spec.phases
            ],
            "rules": len(self.spec.rules),
            "decisions": len(self.log),
        }


def _submit_log(outcome: SubmitOutcome) -> tuple:
    """An outcome's part of its decision-log entry (after kind, system_id, channel, destination)."""
    return outcome.status, round(outcome.latency, 6), outcome.respond, outcome.nack


def _delivery_log(outcome: DeliveryOutcome) -> tuple:
    return (outcome.state.name, outcome.err, round(outcome.delay, 6), outcome.lost, outcome.duplicate, outcome.early,
            outcome.out_of_order)


def _fixed_delivery(receipt: ReceiptBehaviour) -> DeliveryOutcome | None:
    """The one outcome a receipt behaviour always gives, or None if it draws anything at random."""
    if (len(receipt.states) != 1 or not isinstance(receipt.delay, Fixed) or receipt.lost or receipt.duplicate
            or receipt.early or receipt.out_of_order):
        return None
    choice = receipt.states[0]
    return DeliveryOutcome(
        state=choice.state, err=choice.err,
        network_error=tuple(choice.network_error) if choice.network_error else None,
        delay=receipt.delay.value, lost=False, duplicate=False, early=False, out_of_order=False,
        per_segment=bool(receipt.per_segment), wrong_id=receipt.wrong_id,
    )


class _CompiledCompliance:
    __slots__ = ("lists", "empty")

    def __init__(self, compliance: Compliance) -> None:
        self.lists = [
            (tuple(p.lstrip("+") for p in compliance.unreachable), (MessageState.UNDELIVERABLE, 27, ABSENT_SUBSCRIBER)),
            (tuple(p.lstrip("+") for p in compliance.landline),
             (MessageState.UNDELIVERABLE, 11, TELESERVICE_NOT_PROVISIONED)),
            (tuple(p.lstrip("+") for p in compliance.ported), (MessageState.UNDELIVERABLE, 1, UNKNOWN_SUBSCRIBER)),
        ]
        self.empty = not any(prefixes for prefixes, _ in self.lists)

    def fate(self, destination: str):
        if self.empty:
            return None
        number = destination.lstrip("+")
        for prefixes, fate in self.lists:
            if prefixes and number.startswith(prefixes):
                return fate
        return None


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
