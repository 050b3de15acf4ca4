"""The workload: a weighted message mix (encoding and length) and weighted destination pools, seeded."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from typing import Final

from . import text as sms
from .refs import RefSource, tag

# Default mix from a real SMSC project's performance test: 45 % 25-char GSM-7, 45 % 150-char
# GSM-7, 10 % 70-char UCS-2. Lengths include the ` ref:` tag, so every default message is one segment.
DEFAULT_MIX: Final = "45:gsm7:25,45:gsm7:150,10:ucs2:70"
DEFAULT_DESTINATIONS: Final = "447700900000+10000"

ENCODINGS: Final = ("gsm7", "gsm7-escapes", "ucs2", "ucs2-emoji")

_GSM_WORDS: Final = ("your", "code", "is", "ready", "order", "shipped", "today", "thanks", "for", "booking",
                     "reply", "STOP", "to", "opt", "out", "delivery", "at", "noon", "see", "you", "soon")
_GSM_ESCAPES: Final = ("€5", "{x}", "[ok]", "a|b", "~", "^")
_UCS2_WORDS: Final = ("Привет", "мир", "доставка", "сообщение", "заказ", "готов", "спасибо", "Ελλάδα", "こんにちは")
_EMOJI: Final = ("😀", "🚚", "📦", "✅")


@dataclass(frozen=True, slots=True)
class MixEntry:
    """One kind of message: its share, its encoding and its length in units (septets or UTF-16 units)."""

    weight: float
    encoding: str
    length: int

    @property
    def name(self) -> str:
        return f"{self.encoding}-{self.length}"

    @property
    def coding(self) -> int:
        return sms.UCS2 if self.encoding.startswith("ucs2") else sms.GSM7


@dataclass(frozen=True, slots=True)
class DestinationPool:
    """`count` consecutive numbers from `first`, picked uniformly, with a weight among pools."""

    first: int
    count: int
    weight: float = 1.0


@dataclass(slots=True)
class OutgoingMessage:
    """A message the workload produced: its reference, addresses, text and ready-made segments."""

    ref: str
    source: str
    to: str
    text: str
    kind: str
    segments: list[sms.Segment] = field(default_factory=list)

    @property
    def parts(self) -> int:
        return len(self.segments)


def parse_mix(spec: str) -> list[MixEntry]:
    """`45:gsm7:25,45:gsm7:150,10:ucs2:70` -> entries (weight:encoding:length, comma-separated)."""
    entries = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        try:
            weight, encoding, length = item.split(":")
            entry = MixEntry(float(weight), encoding.strip().lower(), int(length))
        except ValueError:
            raise ValueError(f"mix entry {item!r}: write weight:encoding:length, e.g. 45:gsm7:150") from None
        if entry.encoding not in ENCODINGS:
            raise ValueError(f"mix entry {item!r}: encoding must be one of {', '.join(ENCODINGS)}")
        if entry.length <= len(tag("0" * 12)) or entry.weight < 0:
            raise ValueError(f"mix entry {item!r}: the length must exceed the {len(tag('0' * 12))}-character "
                             "reference tag and the weight must not be negative")
        entries.append(entry)
    if not entries or sum(entry.weight for entry in entries) <= 0:
        raise ValueError(f"the mix {spec!r} has no entry with a positive weight")
    return entries


def parse_destinations(spec: str) -> list[DestinationPool]:
    """`447700900000+10000:80,491700000000+5000:20` -> pools (first+count:weight, comma-separated)."""
    pools = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        numbers, _, weight = item.partition(":")
        first, _, count = numbers.partition("+")
        try:
            pool = DestinationPool(int(first.lstrip("+")), int(count or 1), float(weight or 1))
        except ValueError:
            raise ValueError(f"destination pool {item!r}: write first+count[:weight], "
                             "e.g. 447700900000+10000:80") from None
        if pool.count < 1 or pool.weight < 0:
            raise ValueError(f"destination pool {item!r}: count must be at least 1, weight not negative")
        pools.append(pool)
    if not pools:
        raise ValueError("no destination pool given")
    return pools


def _filler(entry: MixEntry, rng: random.Random) -> str:
    """Words in the entry's alphabet, exactly filling the entry's length after the reference tag."""
    budget = entry.length - len(tag("0" * 12))
    coding = entry.coding
    if coding == sms.GSM7:
        words = _GSM_WORDS + (_GSM_ESCAPES if entry.encoding == "gsm7-escapes" else ())
    else:
        words = _UCS2_WORDS + (_EMOJI if entry.encoding == "ucs2-emoji" else ())
    out: list[str] = []
    used = 0
    while True:
        word = rng.choice(words) + " "
        size = sms.units(word, coding)
        if used + size > budget:
            break
        out.append(word)
        used += size
    pad = "x" if coding == sms.GSM7 else "ж"
    return "".join(out) + pad * (budget - used)


class _Kind:
    """A mix entry with its filler texts prepared once, so producing a message costs little."""

    __slots__ = ("entry", "fillers", "encoded", "single")

    def __init__(self, entry: MixEntry, rng: random.Random, variants: int = 8) -> None:
        self.entry = entry
        self.fillers = [_filler(entry, rng) for _ in range(variants)]
        self.encoded = [sms.encode(filler, entry.coding) for filler in self.fillers]
        self.single = sms.units("x" * 17 + self.fillers[0], entry.coding) <= sms.SINGLE[entry.coding]


class Workload:
    """Produces the next message: a kind from the mix, a destination from the pools, a fresh reference."""

    def __init__(self, mix: list[MixEntry] | str = DEFAULT_MIX, destinations: list[DestinationPool] | str =
                 DEFAULT_DESTINATIONS, *, source: str = "12345", seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        entries = parse_mix(mix) if isinstance(mix, str) else mix
        pools = parse_destinations(destinations) if isinstance(destinations, str) else destinations
        self.kinds = [_Kind(entry, self.rng) for entry in entries]
        self._kind_edges = list(itertools.accumulate(entry.weight for entry in entries))
        self.pools = pools
        self._pool_edges = list(itertools.accumulate(pool.weight for pool in pools))
        self.source = source
        self.refs = RefSource(self.rng)
        self._concat_refs = itertools.count(self.rng.randrange(256))

    def _pick_kind(self) -> _Kind:
        point = self.rng.random() * self._kind_edges[-1]
        return self.kinds[min(bisect.bisect_right(self._kind_edges, point), len(self.kinds) - 1)]

    def _pick_destination(self) -> str:
        point = self.rng.random() * self._pool_edges[-1]
        pool = self.pools[min(bisect.bisect_right(self._pool_edges, point), len(self.pools) - 1)]
        return str(pool.first + self.rng.randrange(pool.count))

    def next(self) -> OutgoingMessage:
        kind = self._pick_kind()
        ref = self.refs.next()
        variant = self.rng.randrange(len(kind.fillers))
        prefix = tag(ref)
        text = prefix + kind.fillers[variant]
        coding = kind.entry.coding
        if kind.single:
            # The tag is ASCII letters, digits, ':' and ' ', which GSM 03.38 codes as ASCII does.
            head = prefix.encode("ascii") if coding == sms.GSM7 else prefix.encode("utf-16-be")
            segments = [sms.Segment(head + kind.encoded[variant], coding, 0, 1, 1)]
        else:
            segments = sms.segments(text, coding, reference=next(self._concat_refs))
        return OutgoingMessage(ref, self.source, self._pick_destination(), text, kind.entry.name, segments)
