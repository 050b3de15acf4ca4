"""Correlation with carrier-sim's control API: when each message reached the carrier, and whether all did.

carrier-sim stores every message it accepts with `submitted_at`; the harness wrote `ref:<12 hex>`
into every text. Matching the two gives, per message, the latency a gateway in between added
(harness send -> carrier arrival) and the conservation check: sent = arrived at carrier = receipted,
with the references that fall out of each step listed.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from .ledger import Ledger
from .refs import find_ref

PAGE = 10_000  # the control API's largest page
LISTED = 50  # references listed per difference; the counts are always complete


@dataclass(slots=True)
class Conservation:
    """One process's (or, summed, the run's) message accounting against the carrier's store."""

    correlated: bool = False
    error: str = ""
    sent: int = 0
    accepted: int = 0  # by the gateway (or the carrier)
    arrived: int = 0  # found in the carrier's store
    receipted: int = 0
    not_arrived: int = 0  # accepted by the gateway but never seen by the carrier: lost in the gateway
    arrived_not_receipted: int = 0
    receipted_not_arrived: int = 0  # a receipt for a message the carrier never saw: invented by the gateway
    duplicates_at_carrier: int = 0  # one reference stored more than once: the gateway sent it twice
    uncorrelated: int = 0  # sent after the ledger was full
    not_arrived_refs: list[str] = field(default_factory=list)
    arrived_not_receipted_refs: list[str] = field(default_factory=list)
    receipted_not_arrived_refs: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.not_arrived

    def add(self, other: Conservation) -> None:
        self.correlated = self.correlated or other.correlated
        if other.error and not self.error:
            self.error = other.error
        for name in ("sent", "accepted", "arrived", "receipted", "not_arrived", "arrived_not_receipted",
                     "receipted_not_arrived", "duplicates_at_carrier", "uncorrelated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("not_arrived_refs", "arrived_not_receipted_refs", "receipted_not_arrived_refs"):
            merged = getattr(self, name) + getattr(other, name)
            setattr(self, name, merged[:LISTED])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Conservation:
        return cls(**data)


def parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def fetch_arrivals(control_url: str, since: float, *, timeout: float = 30.0) -> tuple[dict[str, float], int]:
    """ref -> carrier arrival time (wall clock) for every stored message since `since` that carries
    a reference, and how many references were stored more than once. Pages newest first by `until`."""
    arrivals: dict[str, float] = {}
    duplicates = 0
    seen_ids: set[str] = set()
    until: str | None = None
    while True:
        query = {"since": f"{since:.3f}", "limit": str(PAGE), "direction": "mt"}
        if until is not None:
            query["until"] = until
        url = f"{control_url}/api/v1/messages?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            page = json.load(response)["messages"]
        fresh = [message for message in page if message["id"] not in seen_ids]
        for message in fresh:
            seen_ids.add(message["id"])
            ref = find_ref(message.get("text") or "")
            at = parse_iso(message.get("submitted_at"))
            if ref is None or at is None:
                continue
            if ref in arrivals:
                duplicates += 1
                arrivals[ref] = min(arrivals[ref], at)
            else:
                arrivals[ref] = at
        if len(page) < PAGE or not fresh:
            return arrivals, duplicates
        # The store keeps full precision but renders milliseconds: reach one millisecond past the
        # boundary so none of its messages is skipped; those fetched twice are deduplicated by id.
        until = f"{parse_iso(page[-1]['submitted_at']) + 0.001:.3f}"


def correlate(ledger: Ledger, control_url: str, record_gateway: Callable[[float], None]) -> Conservation:
    """Compare this process's ledger with the carrier's store; gateway-added latencies go to record_gateway."""
    result = Conservation(sent=len(ledger.entries) + ledger.overflow, uncorrelated=ledger.overflow)
    entries = ledger.entries
    result.accepted = sum(1 for entry in entries.values() if entry.accepted)
    result.receipted = sum(1 for entry in entries.values() if entry.state is not None)
    first = ledger.first_sent()
    if first is None:
        result.correlated = True
        return result
    try:
        arrivals, duplicates = fetch_arrivals(control_url, first - 1.0)
    except (OSError, ValueError, KeyError) as error:
        result.error = f"cannot read the carrier's messages from {control_url}: {error}"
        return result
    result.correlated = True
    result.duplicates_at_carrier = duplicates
    for ref, entry in entries.items():
        arrived_at = arrivals.get(ref)
        if arrived_at is not None:
            result.arrived += 1
            # carrier-sim stamps arrivals to the millisecond: clamp the truncation below zero away.
            record_gateway(max(0.0, arrived_at - entry.sent_wall))
            if entry.state is None:
                result.arrived_not_receipted += 1
                _note(result.arrived_not_receipted_refs, ref)
        else:
            if entry.accepted:
                result.not_arrived += 1
                _note(result.not_arrived_refs, ref)
            if entry.state is not None:
                result.receipted_not_arrived += 1
                _note(result.receipted_not_arrived_refs, ref)
    return result


def _note(refs: list[str], ref: str) -> None:
    if len(refs) < LISTED:
        refs.append(ref)
