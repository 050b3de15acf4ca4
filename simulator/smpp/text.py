"""SMS text: GSM 03.38 and other data_codings, segment counting, splitting and reassembly of long messages."""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final, Literal

__all__ = [
    "DataCoding",
    "TextEncodingError",
    "encode",
    "decode",
    "is_gsm7",
    "gsm7_length",
    "choose_data_coding",
    "units",
    "segment_capacity",
    "count_segments",
    "split_text",
    "concat_udh",
    "parse_udh",
    "concat_info",
    "Part",
    "make_parts",
    "Segment",
    "LogicalMessage",
    "DroppedGroup",
    "Reassembler",
    "UDHI",
    "MAX_SEGMENTS",
    "MAX_PAYLOAD_OCTETS",
]


class TextEncodingError(ValueError):
    """Text not representable in a data_coding, or a malformed SMS payload / UDH / concatenation info."""


class DataCoding(IntEnum):
    """The SMPP data_coding values this module understands; any other value is handled as Latin-1."""

    DEFAULT = 0
    IA5 = 1
    BINARY_2 = 2
    LATIN1 = 3
    BINARY = 4
    UCS2 = 8


UDHI: Final = 0x40
"""esm_class bit: short_message (or message_payload) starts with a User Data Header."""

MAX_SEGMENTS: Final = 255
"""Concatenation total/seq are single octets in both the UDH IEs and the SAR TLVs."""

MAX_PAYLOAD_OCTETS: Final = 0xFFFF
"""message_payload's TLV length field is 16 bits."""

# ---------------------------------------------------------------------------
# GSM 03.38 tables
# ---------------------------------------------------------------------------

_ESC: Final = 0x1B

# Index = septet value. 0x1B is the escape to the extension table, not a character of its own.
_GSM_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_GSM_BASIC) == 128

# Extension table: septet following the escape -> character.
_GSM_EXT: Final[dict[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_GSM_EXT_CHARS: Final = frozenset(_GSM_EXT.values())
# "\x1b" is excluded: as text it has no septet of its own (0x1B always means "escape").
_GSM_CHARS: Final = (frozenset(_GSM_BASIC) - {"\x1b"}) | _GSM_EXT_CHARS

# str.translate tables map to code points < 0x80, so the result encodes 1:1 as ASCII octets.
_GSM_ENCODE: Final[dict[int, str]] = {ord(c): chr(i) for i, c in enumerate(_GSM_BASIC) if i != _ESC}
_GSM_ENCODE.update({ord(c): "\x1b" + chr(code) for code, c in _GSM_EXT.items()})

# Only for counting: an extension character costs two septets.
_GSM_EXT_DOUBLE: Final[dict[int, str]] = {ord(c): "  " for c in _GSM_EXT_CHARS}

# 256-entry str used as a translate table over latin-1-decoded octets; octets >= 0x80 are not
# septets (SMPP carries data_coding 0 unpacked), hence U+FFFD.
_GSM_DECODE_BASIC: Final = _GSM_BASIC + "\ufffd" * 128

# The octets whose GSM character is the ASCII character of the same code (letters, digits, space and
# most punctuation): a payload of only these decodes with the ASCII codec, without the translate pass.
GSM_SAME_AS_ASCII: Final = bytes(code for code, char in enumerate(_GSM_BASIC) if code != _ESC and ord(char) == code)

# Keyed by the *basic* character of the code following the escape, because the escape is
# resolved after the basic translate pass.
_GSM_DECODE_EXT: Final[dict[str, str]] = {_GSM_BASIC[code]: c for code, c in _GSM_EXT.items()}

_ESCAPE_RE: Final = re.compile("\x1b(.?)", re.DOTALL)

_CODEC_BY_CODING: Final[dict[int, str]] = {1: "ascii", 8: "utf-16-be"}

_CODING_NAMES: Final[dict[int, str]] = {
    0: "GSM 03.38 default alphabet",
    1: "IA5/ASCII",
    2: "8-bit binary",
    3: "Latin-1",
    4: "8-bit binary",
    8: "UCS-2/UTF-16BE",
}


def _coding_name(data_coding: int) -> str:
    return _CODING_NAMES.get(data_coding, "unknown, handled as Latin-1")


def _unencodable(text: str, index: int, data_coding: int) -> TextEncodingError:
    ch = text[index]
    return TextEncodingError(
        f"character {ch!r} (U+{ord(ch):04X}) at index {index} cannot be encoded "
        f"in data_coding {data_coding} ({_coding_name(data_coding)})"
    )


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM 03.38 basic or extension table."""
    return _GSM_CHARS.issuperset(text)


def gsm7_length(text: str) -> int:
    """Septets needed for text in the GSM default alphabet (extension characters count 2)."""
    if not _GSM_CHARS.issuperset(text):
        raise _first_non_gsm(text)
    return len(text.translate(_GSM_EXT_DOUBLE))


def choose_data_coding(text: str) -> DataCoding:
    """DEFAULT (0) when the text fits the GSM alphabet, else UCS2 (8) — what handsets and gateways do."""
    return DataCoding.DEFAULT if _GSM_CHARS.issuperset(text) else DataCoding.UCS2


def _first_non_gsm(text: str) -> TextEncodingError:
    # Error path only, so a per-character scan is acceptable here.
    index = next(i for i, c in enumerate(text) if c not in _GSM_CHARS)
    return _unencodable(text, index, 0)


def encode(text: str, data_coding: int) -> bytes:
    """Encode text for short_message / message_payload.

    data_coding 0 gives unpacked septets (one octet each, escape pairs as 0x1B + code);
    2, 4 and unknown codings map characters U+0000..U+00FF to the same octet (the inverse
    of ``decode``), so binary payloads survive a str round trip.
    """
    if data_coding == 0:
        if not _GSM_CHARS.issuperset(text):
            raise _first_non_gsm(text)
        return text.translate(_GSM_ENCODE).encode("ascii")
    codec = _CODEC_BY_CODING.get(data_coding, "latin-1")
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise _unencodable(text, exc.start, data_coding) from exc


def decode(data: bytes, data_coding: int, *, strict: bool = False) -> str:
    """Decode a payload; never raises unless ``strict``.

    Lenient by default because the simulator must survive whatever a client sends:
    undecodable octets become U+FFFD (GSM octets >= 0x80, IA5 octets >= 0x80, a lone
    UTF-16 surrogate or odd trailing octet). With ``strict`` those raise TextEncodingError.
    GSM escapes follow the 03.38 fallbacks in both modes: escape + undefined code -> the
    basic-table character of that code; escape + escape (reserved for a further table)
    -> one space; a lone trailing escape -> one space.
    Binary (2, 4) and unknown codings decode as Latin-1, which is lossless.
    """
    if data_coding == 0:
        if strict and data and max(data) > 0x7F:
            index = next(i for i, b in enumerate(data) if b > 0x7F)
            raise TextEncodingError(f"octet 0x{data[index]:02X} at index {index} is not a GSM 7-bit septet")
        if not data.translate(None, GSM_SAME_AS_ASCII):
            return data.decode("ascii")  # the common case: nothing to translate
        return _decode_gsm_by_table(data)
    codec = _CODEC_BY_CODING.get(data_coding, "latin-1")
    try:
        return data.decode(codec, "strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise TextEncodingError(
            f"invalid {_coding_name(data_coding)} data at octet {exc.start}: {exc.reason}"
        ) from exc


def _decode_gsm_by_table(data: bytes) -> str:
    """GSM septets (one per octet) to text through the basic table, then the escapes resolved."""
    text = data.decode("latin-1").translate(_GSM_DECODE_BASIC)
    if "\x1b" in text:
        text = _ESCAPE_RE.sub(_unescape, text)
    return text


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if not code or code == "\x1b":
        return " "
    return _GSM_DECODE_EXT.get(code, code)


def units(value: str | bytes, data_coding: int) -> int:
    """Units that segment limits are counted in: septets (0), UTF-16 code units (8), else octets.

    For bytes, ``value`` is an already-encoded payload (unpacked septets for 0); an odd
    trailing UCS-2 octet counts as a whole unit.
    """
    if isinstance(value, str):
        if data_coding == 0:
            return gsm7_length(value)
        value = encode(value, data_coding)
    if data_coding == 8:
        return (len(value) + 1) // 2
    return len(value)


# ---------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------

Method = Literal["udh", "udh16", "sar", "payload"]

# (single, with 6-octet UDH, with 7-octet UDH) in units. A 6-octet UDH occupies 7 septets
# (48 bits plus fill), a 7-octet one 8 septets; for UCS-2 the odd octet left over is wasted.
_GSM_LIMITS: Final = (160, 153, 152)
_OCTET_LIMITS: Final = (140, 134, 133)
_UCS2_LIMITS: Final = (70, 67, 66)


def _limits(data_coding: int) -> tuple[int, int, int]:
    if data_coding == 0:
        return _GSM_LIMITS
    if data_coding == 8:
        return _UCS2_LIMITS
    return _OCTET_LIMITS


def segment_capacity(data_coding: int, method: Literal["single", "udh", "udh16", "sar", "payload"] = "single") -> int:
    """Units one segment may carry.

    "sar" is the single-message limit (160/140/70): SAR TLVs take no room in the user data
    on the SMPP side. "payload" is the whole message_payload TLV (65535 octets) in units.
    """
    single, udh8, udh16 = _limits(data_coding)
    if method in ("single", "sar"):
        return single
    if method == "udh":
        return udh8
    if method == "udh16":
        return udh16
    if method == "payload":
        return MAX_PAYLOAD_OCTETS // 2 if data_coding == 8 else MAX_PAYLOAD_OCTETS
    raise ValueError(f"unknown method {method!r}")


def _ends_with_lead_escape(data: bytes, start: int, end: int) -> bool:
    # start is a character boundary, and every escape consumes the next octet (even another
    # escape), so the octet before end is a dangling lead iff the run of escapes ending
    # there, counted from start, is odd. Runs are length 1 for our own encoder's output.
    i = end - 1
    while i >= start and data[i] == _ESC:
        i -= 1
    return (end - 1 - i) % 2 == 1


def _split_encoded(data: bytes, data_coding: int, per_segment_units: int) -> list[bytes]:
    if per_segment_units < 1:
        raise ValueError("per_segment_units must be >= 1")
    if data_coding == 8:
        if len(data) % 2:
            raise TextEncodingError("UCS-2 payload has an odd number of octets")
        step = 2 * per_segment_units
    else:
        step = per_segment_units
    size = len(data)
    if size <= step:
        return [data]
    chunks: list[bytes] = []
    pos = 0
    while pos < size:
        cut = pos + step
        if cut < size:
            if data_coding == 0:
                if data[cut - 1] == _ESC and _ends_with_lead_escape(data, pos, cut):
                    cut -= 1
            elif data_coding == 8:
                # High surrogate as the last unit: its low half would start the next segment.
                if 0xD8 <= data[cut - 2] <= 0xDB:
                    cut -= 2
            if cut == pos:
                raise ValueError(f"per_segment_units={per_segment_units} cannot hold one character pair")
        chunks.append(data[pos:cut])
        pos = cut
    return chunks


def split_text(text: str | bytes, data_coding: int, *, per_segment_units: int) -> list[bytes]:
    """Encode (unless already bytes) and cut into payloads of at most per_segment_units units.

    Never separates a GSM escape from its code nor a UTF-16 surrogate pair; such a segment
    is one unit short. An empty text gives one empty payload.
    """
    data = text if isinstance(text, bytes) else encode(text, data_coding)
    return _split_encoded(data, data_coding, per_segment_units)


def count_segments(text: str, data_coding: int | None = None, *, ref16: bool = False) -> int:
    """Exact number of UDH-concatenated segments (1 if the text fits a single message).

    Accounts for escape and surrogate pairs pushed to the next segment, so it can exceed
    ceil(units / per_segment). For SAR use ``len(split_text(..., segment_capacity(dc, "sar")))``.
    """
    dc = choose_data_coding(text) if data_coding is None else data_coding
    data = encode(text, dc)
    single, udh8, udh16 = _limits(dc)
    if units(data, dc) <= single:
        return 1
    return len(_split_encoded(data, dc, udh16 if ref16 else udh8))


# ---------------------------------------------------------------------------
# User Data Header
# ---------------------------------------------------------------------------

_IE_CONCAT8: Final = 0x00
_IE_CONCAT16: Final = 0x08


def _check_concat(ref: int, total: int, seq: int, ref_max: int) -> None:
    if not 0 <= ref <= ref_max:
        raise TextEncodingError(f"concatenation ref {ref} out of range 0..{ref_max}")
    if not 1 <= total <= MAX_SEGMENTS:
        raise TextEncodingError(f"concatenation total {total} out of range 1..{MAX_SEGMENTS}")
    if not 1 <= seq <= total:
        raise TextEncodingError(f"concatenation seq {seq} out of range 1..{total}")


def concat_udh(ref: int, total: int, seq: int, *, ref16: bool = False) -> bytes:
    """UDH (UDHL first) holding only the concatenation IE: 0x00 (8-bit ref) or 0x08 (16-bit ref)."""
    try:
        _check_concat(ref, total, seq, 0xFFFF if ref16 else 0xFF)
    except TextEncodingError as exc:
        raise ValueError(str(exc)) from None
    if ref16:
        return bytes((6, _IE_CONCAT16, 4, ref >> 8, ref & 0xFF, total, seq))
    return bytes((5, _IE_CONCAT8, 3, ref, total, seq))


def parse_udh(short_message: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split a UDHI payload into its IEs [(iei, data), ...] and the user data after the UDH."""
    if not short_message:
        raise TextEncodingError("UDHI set but the payload is empty")
    udhl = short_message[0]
    end = 1 + udhl
    if end > len(short_message):
        raise TextEncodingError(f"UDH length {udhl} exceeds the {len(short_message) - 1} octets after it")
    ies: list[tuple[int, bytes]] = []
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise TextEncodingError(f"truncated information element at UDH offset {pos}")
        iei, iel = short_message[pos], short_message[pos + 1]
        data_end = pos + 2 + iel
        if data_end > end:
            raise TextEncodingError(f"information element 0x{iei:02X} of length {iel} overruns the UDH")
        ies.append((iei, bytes(short_message[pos + 2 : data_end])))
        pos = data_end
    return ies, bytes(short_message[end:])


def _find_concat(ies: list[tuple[int, bytes]]) -> tuple[int, int, int, bool] | None:
    # 23.040: when an IE is repeated the last occurrence wins.
    found: tuple[int, int, int, bool] | None = None
    for iei, data in ies:
        if iei == _IE_CONCAT8:
            if len(data) != 3:
                raise TextEncodingError(f"concatenation IE 0x00 has length {len(data)}, expected 3")
            found = (data[0], data[1], data[2], False)
        elif iei == _IE_CONCAT16:
            if len(data) != 4:
                raise TextEncodingError(f"concatenation IE 0x08 has length {len(data)}, expected 4")
            found = ((data[0] << 8) | data[1], data[2], data[3], True)
    return found


def concat_info(ies: list[tuple[int, bytes]]) -> tuple[int, int, int] | None:
    """(ref, total, seq) from a concatenation IE (0x00 or 0x08), or None if there is none.

    Values are returned as found (not range-checked); a concatenation IE of the wrong
    length raises TextEncodingError.
    """
    found = _find_concat(ies)
    return None if found is None else found[:3]


# ---------------------------------------------------------------------------
# Splitting into submit_sm parts
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's worth of a message: set esm_class |= 0x40 when esm_class_udhi."""

    short_message: bytes
    esm_class_udhi: bool = False
    sar: tuple[int, int, int] | None = None  # (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum)
    message_payload: bytes | None = None


def make_parts(
    text: str,
    data_coding: int | None = None,
    *,
    method: Method = "udh",
    ref: int = 0,
) -> tuple[list[Part], int]:
    """Encode text and cut it into submit_sm parts; returns (parts, data_coding used).

    A text fitting one message gives one plain Part (no UDH, no SAR). "payload" always gives
    one Part with empty short_message and the whole text in message_payload, whatever the
    length. ``ref`` is reduced modulo 256 (udh) or 65536 (udh16, sar) so callers can pass a
    running counter. More than 255 segments, or a payload over 65535 octets, raises
    TextEncodingError.
    """
    dc = choose_data_coding(text) if data_coding is None else data_coding
    data = encode(text, dc)
    if method == "payload":
        if len(data) > MAX_PAYLOAD_OCTETS:
            raise TextEncodingError(f"message_payload of {len(data)} octets exceeds {MAX_PAYLOAD_OCTETS}")
        return [Part(b"", False, None, data)], dc
    if method not in ("udh", "udh16", "sar"):
        raise ValueError(f"unknown method {method!r}")
    if units(data, dc) <= segment_capacity(dc, "single"):
        return [Part(data)], dc
    chunks = _split_encoded(data, dc, segment_capacity(dc, method))
    total = len(chunks)
    if total > MAX_SEGMENTS:
        raise TextEncodingError(f"message needs {total} segments, at most {MAX_SEGMENTS} can be concatenated")
    if method == "sar":
        sar_ref = ref & 0xFFFF
        return [Part(chunk, False, (sar_ref, total, seq)) for seq, chunk in enumerate(chunks, 1)], dc
    ref16 = method == "udh16"
    udh_ref = ref & (0xFFFF if ref16 else 0xFF)
    return [
        Part(concat_udh(udh_ref, total, seq, ref16=ref16) + chunk, True)
        for seq, chunk in enumerate(chunks, 1)
    ], dc


# ---------------------------------------------------------------------------
# Reassembly
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A received part's user data (UDH stripped) and its 1-based sequence number."""

    payload: bytes
    seq: int


@dataclass(frozen=True, slots=True)
class LogicalMessage:
    """A whole message as the subscriber sees it, remembering the segments it came in."""

    data_coding: int
    payload: bytes
    segments: tuple[bytes, ...]
    method: str  # "single", "udh", "udh16", "sar", "payload"
    ref: int | None
    # What the caller fed with each segment, in segment order: annotations, not part of the message.
    contexts: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def text(self) -> str:
        # Decoding the joined octets (not each segment) also repairs escape/surrogate pairs
        # that a less careful client split across segments.
        return decode(self.payload, self.data_coding)

    @property
    def segment_count(self) -> int:
        return len(self.segments)


@dataclass(frozen=True, slots=True)
class DroppedGroup:
    """An incomplete concatenated message the Reassembler gave up on."""

    key: Hashable
    method: str
    ref: int
    total: int
    data_coding: int
    segments: tuple[Segment, ...]  # received so far, by seq
    created: float
    reason: Literal["timeout", "overflow"]
    contexts: tuple[Any, ...] = field(default=(), compare=False, repr=False)  # fed with the segments, by seq

    @property
    def missing(self) -> tuple[int, ...]:
        have = {s.seq for s in self.segments}
        return tuple(seq for seq in range(1, self.total + 1) if seq not in have)


@dataclass(slots=True)
class _Pending:
    created: float
    data_coding: int
    parts: dict[int, bytes] = field(default_factory=dict)
    contexts: dict[int, Any] = field(default_factory=dict)


_GroupKey = tuple[Hashable, str, int, int]


class Reassembler:
    """Joins concatenated parts (UDH 8/16-bit ref, or SAR TLVs) into LogicalMessages.

    Groups are keyed by (caller key, method, ref, total), so a reused ref with a different
    total, or the same ref under another key, is a different message. The data_coding of a
    completed message is the one seq 1 arrived with. ``now`` must come from a monotonic
    clock: expiry walks groups in creation order. A group times out when it is older than
    ``timeout`` since its first part. Dropped groups are kept (at most max_pending of them)
    until ``expire`` hands them out. Not thread-safe.
    """

    def __init__(self, *, max_pending: int = 10_000, timeout: float = 300.0) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        self._max_pending = max_pending
        self._timeout = timeout
        self._pending: OrderedDict[_GroupKey, _Pending] = OrderedDict()
        self._dropped: deque[DroppedGroup] = deque(maxlen=max_pending)

    def __len__(self) -> int:
        """Number of incomplete groups held."""
        return len(self._pending)

    def feed(
        self,
        key: Hashable,
        *,
        data_coding: int,
        esm_class: int,
        short_message: bytes,
        sar: tuple[int, int, int] | None = None,
        message_payload: bytes | None = None,
        now: float,
        context: Any = None,
    ) -> LogicalMessage | None:
        """Add one received part; return the whole message once its last missing part arrives.

        A UDH concatenation IE wins over SAR TLVs if both are present. A UDH without a
        concatenation IE is stripped and the rest is a single message. Setting both a
        non-empty short_message and message_payload is malformed. `context` (e.g. the carrier's
        record of the part) comes back with the whole message, or with the group if it is dropped.
        """
        self._expire(now)
        if message_payload is not None:
            if short_message:
                raise TextEncodingError("both short_message and message_payload are set")
            body, plain = message_payload, "payload"
        else:
            body, plain = short_message, "single"

        concat: tuple[int, int, int] | None = None
        method = plain
        if esm_class & UDHI:
            ies, body = parse_udh(body)
            found = _find_concat(ies)
            if found is not None:
                concat = found[:3]
                method = "udh16" if found[3] else "udh"
        if concat is None and sar is not None:
            concat = sar
            method = "sar"
        if concat is None:
            return LogicalMessage(data_coding, body, (body,), plain, None, (context,))

        ref, total, seq = concat
        _check_concat(ref, total, seq, 0xFF if method == "udh" else 0xFFFF)
        if total == 1:
            return LogicalMessage(data_coding, body, (body,), method, ref, (context,))

        gkey: _GroupKey = (key, method, ref, total)
        group = self._pending.get(gkey)
        if group is None:
            group = self._pending[gkey] = _Pending(now, data_coding)
            while len(self._pending) > self._max_pending:
                self._drop_oldest("overflow")
        group.parts[seq] = body  # a duplicate replaces the earlier copy
        group.contexts[seq] = context
        if seq == 1:
            group.data_coding = data_coding
        if len(group.parts) < total:
            return None
        del self._pending[gkey]
        segments = tuple(group.parts[i] for i in range(1, total + 1))
        contexts = tuple(group.contexts[i] for i in range(1, total + 1))
        return LogicalMessage(group.data_coding, b"".join(segments), segments, method, ref, contexts)

    def expire(self, now: float) -> list[DroppedGroup]:
        """Drop groups older than the timeout; return them plus any dropped earlier (overflow/timeout)."""
        self._expire(now)
        dropped = list(self._dropped)
        self._dropped.clear()
        return dropped

    def _expire(self, now: float) -> None:
        deadline = now - self._timeout
        while self._pending:
            first = next(iter(self._pending.values()))
            if first.created >= deadline:
                break
            self._drop_oldest("timeout")

    def _drop_oldest(self, reason: Literal["timeout", "overflow"]) -> None:
        (key, method, ref, total), group = self._pending.popitem(last=False)
        segments = tuple(Segment(group.parts[seq], seq) for seq in sorted(group.parts))
        contexts = tuple(group.contexts[seq] for seq in sorted(group.parts))
        self._dropped.append(DroppedGroup(key, method, ref, total, group.data_coding, segments, group.created, reason,
                                          contexts))
