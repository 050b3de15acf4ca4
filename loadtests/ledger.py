"""Every message a process sent, by reference: what the harness knows of it, for the conservation check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class LedgerEntry:
    sent_wall: float  # time.time() when its first part (or its HTTP request) went out
    accepted: bool = False  # the gateway (or carrier) accepted every part
    state: str | None = None  # the final receipt's state, once it came


class Ledger:
    """References to entries, capped so a long soak cannot exhaust memory (the cap is reported)."""

    def __init__(self, capacity: int = 2_000_000) -> None:
        self.capacity = capacity
        self.entries: dict[str, LedgerEntry] = {}
        self.overflow = 0  # messages sent after the ledger was full: not correlated

    def sent(self, ref: str, sent_wall: float) -> None:
        if len(self.entries) >= self.capacity:
            self.overflow += 1
            return
        self.entries[ref] = LedgerEntry(sent_wall)

    def accepted(self, ref: str) -> None:
        entry = self.entries.get(ref)
        if entry is not None:
            entry.accepted = True

    def receipted(self, ref: str, state: str) -> None:
        entry = self.entries.get(ref)
        if entry is not None and entry.state is None:
            entry.state = state

    def first_sent(self) -> float | None:
        return min((entry.sent_wall for entry in self.entries.values()), default=None)
