"""The scenario file's vocabulary: what a YAML scenario may say, as typed dataclasses the loader fills."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from simulator.config import StatusCode
from simulator.smpp.receipts import state_from_word
from simulator.yamlload import Converter

from .distributions import Distribution, parse_distribution, parse_duration


class Delay(Converter):
    """A latency or delay distribution: `10ms`, `{uniform: [2s, 4s]}`, `{mixture: {...}}`, ..."""

    @classmethod
    def from_yaml(cls, value: Any, path: str) -> Distribution:
        return parse_distribution(value)


class Duration(Converter):
    """A time span: `250ms`, `10m`, `1h` or a number of seconds."""

    @classmethod
    def from_yaml(cls, value: Any, path: str) -> float:
        if isinstance(value, bool):
            raise ValueError(f"expected a duration such as 30s or 10m, got {value!r}")
        return parse_duration(value)


class State(Converter):
    """A final state as its receipt word (DELIVRD, UNDELIV, ...) or its long name (DELIVERED)."""

    @classmethod
    def from_yaml(cls, value: Any, path: str):
        return state_from_word(str(value))


def _check_probability(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{name} is a probability from 0 to 1, got {value}")


@dataclass(slots=True)
class StateChoice:
    """One entry of a receipt state mix: the state, its weight, and the err / network_error it carries."""

    state: State
    weight: float = 1.0
    err: int = 0
    network_error: tuple[int, int] | None = None

    def validate(self) -> None:
        if self.weight < 0:
            raise ValueError("weight must not be negative")


@dataclass(slots=True)
class StatusChoice:
    """One entry of a weighted submit status mix."""

    status: StatusCode
    weight: float = 1.0

    def validate(self) -> None:
        if self.weight < 0:
            raise ValueError("weight must not be negative")


@dataclass(slots=True)
class SubmitBehaviour:
    """How a submit is answered. Every field left out keeps the value from below it."""

    status: StatusCode | None = None
    statuses: list[StatusChoice] | None = None  # a weighted mix; replaces `status` when given
    latency: Delay | None = None
    respond: bool | None = None  # false: never answer (the client's request times out)
    nack: bool | None = None  # answer with generic_nack instead of the command's response
    omit_body: bool | None = None  # a response without its body, as some carriers send with 0x45


@dataclass(slots=True)
class ReceiptBehaviour:
    """What happens after an accepted submit: the final state, when, and how its receipt misbehaves."""

    states: list[StateChoice] | None = None
    delay: Delay | None = None
    lost: float | None = None  # probability the receipt never comes
    duplicate: float | None = None  # probability it comes twice
    early: float | None = None  # probability it is sent before the submit response
    out_of_order: float | None = None  # probability it is held back so a later receipt overtakes it
    per_segment: bool | None = None  # one receipt per part of a long message
    wrong_id: str | None = None  # "decimal", "hex", "uppercase" or "mismatch": the id written wrongly

    def validate(self) -> None:
        _check_probability(self, "lost", "duplicate", "early", "out_of_order")
        if self.wrong_id not in (None, "decimal", "hex", "uppercase", "mismatch"):
            raise ValueError("wrong_id must be decimal, hex, uppercase or mismatch")


@dataclass(slots=True)
class Injection:
    """A malformed PDU the server sends on purpose, every N PDUs it receives on a bind."""

    kind: str  # bad_length, unknown_command or bad_sequence
    every_pdus: int = 100

    def validate(self) -> None:
        if self.kind not in ("bad_length", "unknown_command", "bad_sequence"):
            raise ValueError("kind must be bad_length, unknown_command or bad_sequence")
        if self.every_pdus < 1:
            raise ValueError("every_pdus must be at least 1")


@dataclass(slots=True)
class ConnectionBehaviour:
    """What the carrier does to binds (SMPP). Fields left out keep the value from below."""

    disconnect_after_pdus: int | None = None  # drop the TCP connection after N PDUs from the client
    disconnect_at: list[Duration] | None = None  # drop every bind at these times from the scenario's start
    unbind_after_pdus: int | None = None  # send unbind after N PDUs from the client
    rebind_after_messages: int | None = None  # send unbind after N submits, forcing a rebind
    refuse_binds: StatusCode | None = None  # refuse every bind with this status (an outage); 0 = accept
    stall: bool | None = None  # stop reading from binds (half-open): the client's writes back up
    mute_enquire_link: bool | None = None  # leave enquire_link unanswered
    inject: Injection | None = None

    def validate(self) -> None:
        for name in ("disconnect_after_pdus", "unbind_after_pdus", "rebind_after_messages"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass(slots=True)
class Limits:
    """Throughput and queue limits. Each account (and each bind) gets its own bucket of this size."""

    tps: float | None = None  # per account
    tps_status: StatusCode | None = None
    tps_per_bind: float | None = None
    tps_per_bind_status: StatusCode | None = None
    window: int | None = None  # outstanding requests per bind
    window_status: StatusCode | None = None
    queue_size: int | None = None  # messages accepted but not yet final, per account
    queue_status: StatusCode | None = None


@dataclass(slots=True)
class OptOut:
    handset: str
    sender: str = "*"  # "*" = opted out of every sender


@dataclass(slots=True)
class Compliance:
    """Numbers with fixed fates: opted out, always unreachable, landlines and ported numbers (prefixes)."""

    opt_out: list[OptOut] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # absent subscriber: UNDELIV, GSM MAP error 27
    landline: list[str] = field(default_factory=list)  # cannot receive SMS: UNDELIV, MAP error 11
    ported: list[str] = field(default_factory=list)  # ported away, routed to the old network: UNDELIV, MAP error 1


@dataclass(slots=True)
class Behaviour:
    submit: SubmitBehaviour = field(default_factory=SubmitBehaviour)
    receipt: ReceiptBehaviour = field(default_factory=ReceiptBehaviour)
    connection: ConnectionBehaviour = field(default_factory=ConnectionBehaviour)
    limits: Limits = field(default_factory=Limits)


@dataclass(slots=True)
class Match:
    """Which traffic a rule applies to. Every condition named must hold."""

    destination: str | None = None  # a prefix, or a regex written /like this/
    source: str | None = None
    system_id: str | None = None
    text: str | None = None  # a regex searched in the message text
    data_coding: int | None = None
    segments: int | None = None  # exactly this many parts
    min_segments: int | None = None
    channel: str | None = None  # smpp, http or smtp

    def validate(self) -> None:
        for name in ("destination", "source", "text"):
            pattern = getattr(self, name)
            if pattern and (name == "text" or is_regex(pattern)):
                try:
                    re.compile(regex_body(pattern))
                except re.error as error:
                    raise ValueError(f"{name}: not a valid regex: {error}") from None
        if self.channel not in (None, "smpp", "http", "smtp"):
            raise ValueError("channel must be smpp, http or smtp")


@dataclass(slots=True)
class Rule:
    """When `match` holds, the behaviours named here replace the defaults' (only what they name)."""

    match: Match = field(default_factory=Match)
    submit: SubmitBehaviour | None = None
    receipt: ReceiptBehaviour | None = None
    name: str = ""


@dataclass(slots=True)
class Phase:
    """A time window, from the scenario's start or from a control-API trigger, with its own behaviour."""

    name: str
    start: Duration | None = None  # from the scenario's start; or
    trigger: str | None = None  # from `POST /api/v1/scenario/triggers/<trigger>`
    duration: Duration | None = None  # open-ended when left out
    submit: SubmitBehaviour | None = None
    receipt: ReceiptBehaviour | None = None
    connection: ConnectionBehaviour | None = None
    limits: Limits | None = None
    rules: list[Rule] = field(default_factory=list)

    def validate(self) -> None:
        if (self.start is None) == (self.trigger is None):
            raise ValueError("a phase needs exactly one of start (a time) or trigger (a name)")


@dataclass(slots=True)
class ScenarioFile:
    """The YAML shape of a scenario file."""

    name: str = ""
    description: str = ""
    seed: int = 1
    defaults: Behaviour = field(default_factory=Behaviour)
    rules: list[Rule] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    compliance: Compliance = field(default_factory=Compliance)

    def validate(self) -> None:
        names = [phase.name for phase in self.phases]
        if len(names) != len(set(names)):
            raise ValueError("phase names must be unique")


def is_regex(pattern: str) -> bool:
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def regex_body(pattern: str) -> str:
    return pattern[1:-1] if is_regex(pattern) else pattern
