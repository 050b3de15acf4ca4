"""Receipt bookkeeping for one process: match receipts to sent messages and count what went wrong.

Every sent message is tracked by its reference until its receipt comes. Receipts are matched by
carrier message id (the receipted_message_id TLV first, then the `id:` in the text, in the spellings
carriers use), or by reference for gateways that echo it. What cannot be matched yet is parked
briefly, because a receipt may overtake its own submit_sm_resp (an *early* receipt); what is still
unmatched after that is an *orphan*. A message without a receipt after `receipt_timeout` is
*missing* (and *late* if its receipt turns up after all); a second receipt for one id is a
*duplicate*; a receipt for another part of a long message already receipted is a *segment* receipt.

The tracker is process-wide rather than per bind: a carrier may deliver a receipt on any receiver
bind of the same system_id, not only the one that submitted the message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .receipts import is_final


def id_key(message_id: str) -> str:
    """One spelling per id: case and leading zeros differ between submit_sm_resp and receipts."""
    return message_id.strip().lower().lstrip("0") or "0"


def key_variants(message_id: str) -> list[str]:
    """Keys to try for an id seen in a receipt: as written, then read as decimal or hex (Vonage-style)."""
    keys = [id_key(message_id)]
    text = message_id.strip()
    if text.isdigit():
        keys.append(id_key(format(int(text), "x")))
    try:
        keys.append(id_key(str(int(text, 16))))
    except ValueError:
        pass
    return list(dict.fromkeys(keys))


@dataclass(slots=True)
class Tracked:
    """One logical message from its first submit until its receipt (or until it is given up)."""

    ref: str
    kind: str
    parts: int
    sent_at: float  # perf_counter when its first part was written
    sent_wall: float  # time.time() at the same moment, to compare with the carrier's clock
    ids: list[str] = field(default_factory=list)
    accepted: int = 0
    failed: bool = False
    receipted: bool = False
    missing: bool = False
    acked_at: float | None = None  # a gateway's "accepted by the carrier" report (Kannel DLR type 8)
    receipted_ids: set[str] | None = None

    @property
    def expected(self) -> bool:
        """Every part was accepted, so a receipt is due."""
        return not self.failed and self.accepted >= self.parts


@dataclass(slots=True)
class ReceiptCounts:
    """What the tracker saw; summed across processes for the report."""

    sent: int = 0
    accepted: int = 0  # messages whose every part was accepted
    failed: int = 0  # messages with a part refused or timed out: no receipt expected
    received: int = 0  # first final receipt per message
    missing: int = 0
    duplicate: int = 0
    orphan: int = 0
    early: int = 0
    late: int = 0
    segment: int = 0
    intermediate: int = 0
    by_tlv: int = 0
    by_text: int = 0
    by_ref: int = 0
    acked: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def add(self, other: ReceiptCounts) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            if name == "states":
                for state, count in other.states.items():
                    self.states[state] = self.states.get(state, 0) + count
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]

    @classmethod
    def from_dict(cls, data: dict) -> ReceiptCounts:
        return cls(**{key: (dict(value) if key == "states" else value) for key, value in data.items()})


@dataclass(slots=True)
class _Parked:
    keys: list[str]
    state: str
    at: float
    matched_by: str
    claimed: bool = False


FinalCallback = Callable[[Tracked, str, float], None]  # (message, state word, latency in seconds)
MissingCallback = Callable[[Tracked, float], None]  # (message, seconds waited)
AckCallback = Callable[[Tracked, float], None]  # (message, seconds from send to the gateway's carrier ack)


def _ignore(*args: object) -> None:
    pass


class ReceiptTracker:
    """Sent messages by reference and by carrier id; receipts matched, parked, or counted as anomalies."""

    def __init__(self, *, receipt_timeout: float = 30.0, park_time: float = 5.0, remember: float = 60.0,
                 on_final: FinalCallback = _ignore, on_missing: MissingCallback = _ignore,
                 on_ack: AckCallback = _ignore, clock: Callable[[], float] = time.perf_counter) -> None:
        self.receipt_timeout = receipt_timeout
        self.park_time = park_time
        self.remember = remember  # how long receipted ids are kept to recognise duplicates
        self.on_final = on_final
        self.on_missing = on_missing
        self.on_ack = on_ack
        self.clock = clock
        self.counts = ReceiptCounts()
        self._awaiting: dict[str, Tracked] = {}  # ref -> message, in send order
        self._by_id: dict[str, Tracked] = {}  # id key -> message awaiting its receipt
        self._done: dict[str, tuple[float, Tracked]] = {}  # id key -> (when, message) after its receipt
        self._done_refs: dict[str, tuple[float, Tracked]] = {}
        self._parked: dict[str, _Parked] = {}

    # ------------------------------------------------------------------ the send side

    @property
    def awaiting(self) -> int:
        """Messages still in flight: not refused, not receipted, not yet given up."""
        return len(self._awaiting)

    def sent(self, ref: str, kind: str, parts: int, now: float | None = None) -> Tracked:
        message = Tracked(ref, kind, parts, self.clock() if now is None else now, time.time())
        self._awaiting[ref] = message
        self.counts.sent += 1
        return message

    def accepted(self, message: Tracked, message_id: str | None) -> None:
        """A part was accepted; with its carrier id when the answer had one."""
        message.accepted += 1
        if message_id:
            message.ids.append(message_id)
            key = id_key(message_id)
            if message.receipted or message.missing:
                self._done[key] = (self.clock(), message)
            else:
                self._by_id[key] = message
            parked = self._parked.get(key)
            if parked is not None and not parked.claimed:
                parked.claimed = True
                self.counts.early += 1
                self._match(message, key, parked.state, parked.at, parked.matched_by)
        if message.accepted == message.parts and not message.failed:
            self.counts.accepted += 1

    def refused(self, message: Tracked) -> None:
        """A part was refused for good or never answered: no receipt will be due for this message."""
        if message.failed or message.receipted:
            return
        message.failed = True
        self.counts.failed += 1
        self._awaiting.pop(message.ref, None)
        for message_id in message.ids:
            self._by_id.pop(id_key(message_id), None)

    def no_receipt_due(self, message: Tracked) -> None:
        """Accepted without a receipt requested (registered_delivery 0): nothing more to wait for."""
        self._awaiting.pop(message.ref, None)
        for message_id in message.ids:
            self._by_id.pop(id_key(message_id), None)

    def carrier_ack(self, ref: str, now: float | None = None) -> None:
        """A gateway reported the carrier accepted the message (Kannel's DLR type 8)."""
        message = self._awaiting.get(ref) or self._done_refs.get(ref, (0.0, None))[1]
        if message is None or message.acked_at is not None:
            return
        message.acked_at = self.clock() if now is None else now
        self.counts.acked += 1
        self.on_ack(message, message.acked_at - message.sent_at)

    # ------------------------------------------------------------------ the receipt side

    def receipt(self, state: str, *, tlv_id: str | None = None, text_id: str | None = None,
                ref: str | None = None, message_id: str | None = None, now: float | None = None) -> str:
        """Account for one receipt; returns what it was: matched, duplicate, segment, late, parked,
        intermediate or orphan."""
        now = self.clock() if now is None else now
        if not is_final(state):
            self.counts.intermediate += 1
            return "intermediate"
        if tlv_id:  # the common case first: the TLV, exactly as submit_sm_resp had it
            message = self._by_id.get(id_key(tlv_id))
            if message is not None:
                return self._match(message, id_key(tlv_id), state, now, "tlv")
        candidates: list[tuple[str, str]] = []
        if ref:
            message = self._awaiting.get(ref)
            if message is not None:
                return self._match(message, None, state, now, "ref")
            done = self._done_refs.get(ref)
            if done is not None:
                return self._again(done[1], None, state, now, "ref")
        for source, value in (("tlv", tlv_id), ("tlv", message_id), ("text", text_id)):
            if value:
                candidates.extend((source, key) for key in key_variants(value))
        for source, key in candidates:
            message = self._by_id.get(key)
            if message is not None:
                return self._match(message, key, state, now, source)
        for source, key in candidates:
            done = self._done.get(key)
            if done is not None:
                return self._again(done[1], key, state, now, source)
        if not candidates:
            self.counts.orphan += 1
            return "orphan"
        parked = _Parked([key for _, key in candidates], state, now, candidates[0][0])
        for key in parked.keys:
            self._parked.setdefault(key, parked)
        return "parked"

    def _match(self, message: Tracked, key: str | None, state: str, at: float, source: str) -> str:
        counts = self.counts
        if message.failed:
            counts.orphan += 1
            return "orphan"
        message.receipted = True
        counts.received += 1
        counts.states[state] = counts.states.get(state, 0) + 1
        if source == "tlv":
            counts.by_tlv += 1
        elif source == "text":
            counts.by_text += 1
        else:
            counts.by_ref += 1
        self._retire(message, at, key)
        self.on_final(message, state, at - message.sent_at)
        return "matched"

    def _again(self, message: Tracked, key: str | None, state: str, at: float, source: str) -> str:
        """A receipt for a message that already had one, or was given up as missing."""
        counts = self.counts
        if message.missing and not message.receipted:
            message.missing = False
            counts.missing -= 1
            counts.late += 1
            self._match(message, key, state, at, source)
            return "late"
        if key is not None and message.parts > 1 and key not in (message.receipted_ids or ()):
            counts.segment += 1
            message.receipted_ids = (message.receipted_ids or set()) | {key}
            return "segment"
        counts.duplicate += 1
        return "duplicate"

    def _retire(self, message: Tracked, at: float, key: str | None) -> None:
        self._awaiting.pop(message.ref, None)
        self._done_refs[message.ref] = (at, message)
        for message_id in message.ids:
            k = id_key(message_id)
            self._by_id.pop(k, None)
            self._done[k] = (at, message)
        if key is not None and message.parts > 1:
            message.receipted_ids = {key}

    # ------------------------------------------------------------------ time passing

    def sweep(self, now: float | None = None) -> None:
        """Give up on overdue messages, turn stale parked receipts into orphans, forget old ids."""
        now = self.clock() if now is None else now
        overdue = []
        for message in self._awaiting.values():  # in send order: stop at the first young one
            if now - message.sent_at < self.receipt_timeout:
                break
            overdue.append(message)
        for message in overdue:
            self._give_up(message, now)
        self._expire_parked(now - self.park_time)
        horizon = now - self.remember
        for store in (self._done, self._done_refs):
            stale = []
            for key, (at, _) in store.items():
                if at >= horizon:
                    break
                stale.append(key)
            for key in stale:
                del store[key]

    def _give_up(self, message: Tracked, now: float) -> None:
        self._awaiting.pop(message.ref, None)
        if not message.expected:
            # Still waiting for a submit answer after the receipt timeout: the bind will time it out.
            if not message.failed:
                self.refused(message)
            return
        message.missing = True
        self.counts.missing += 1
        self._done_refs[message.ref] = (now, message)
        for message_id in message.ids:
            k = id_key(message_id)
            self._by_id.pop(k, None)
            self._done[k] = (now, message)
        self.on_missing(message, now - message.sent_at)

    def _expire_parked(self, before: float) -> None:
        for key, parked in list(self._parked.items()):
            if parked.at >= before:
                continue
            del self._parked[key]
            if not parked.claimed:
                parked.claimed = True
                self.counts.orphan += 1

    def finish(self) -> None:
        """The run is over: whatever is still awaited is missing, whatever is parked is an orphan."""
        now = self.clock()
        for message in list(self._awaiting.values()):
            self._give_up(message, now)
        self._expire_parked(float("inf"))
