"""SMS text for the load generator: GSM 03.38 / UCS-2 encoding and splitting long texts into UDH segments.

The harness has its own small implementation on purpose: it must not share code with the simulator
it measures, and smpplib.gsm.make_parts splits GSM escape pairs and UTF-16 surrogate pairs across
segments. Here a segment boundary never falls inside an escape pair or a surrogate pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GSM7: Final = 0  # data_coding: SMSC default alphabet, one unpacked septet per octet
UCS2: Final = 8  # data_coding: UTF-16BE
UDHI: Final = 0x40  # esm_class bit: short_message starts with a user data header

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
_GSM_EXTENSION: Final = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                         "]": 0x3E, "|": 0x40, "€": 0x65}
_ESCAPE: Final = 0x1B
_BASIC_CODE: Final = {char: code for code, char in enumerate(_GSM_BASIC) if code != _ESCAPE}

# Capacity in units (septets for GSM-7, UTF-16 code units for UCS-2): single message, and per
# part of a concatenated one once the 6-octet UDH (8-bit reference) takes its share.
SINGLE: Final = {GSM7: 160, UCS2: 70}
CONCATENATED: Final = {GSM7: 153, UCS2: 67}


class EncodingError(ValueError):
    """The text cannot be written in the requested data_coding."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One submit_sm's worth of a message: short_message octets (with UDH when concatenated)."""

    short_message: bytes
    data_coding: int
    esm_class: int
    part: int
    parts: int


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC_CODE or char in _GSM_EXTENSION for char in text)


def choose_coding(text: str) -> int:
    return GSM7 if is_gsm7(text) else UCS2


def _gsm_units(char: str) -> int:
    if char in _BASIC_CODE:
        return 1
    if char in _GSM_EXTENSION:
        return 2
    raise EncodingError(f"{char!r} is not in the GSM 03.38 alphabet")


def _char_units(char: str, coding: int) -> int:
    return _gsm_units(char) if coding == GSM7 else (2 if ord(char) > 0xFFFF else 1)


def units(text: str, coding: int) -> int:
    """Septets (GSM-7, escapes count two) or UTF-16 code units (UCS-2, astral characters count two)."""
    return sum(_char_units(char, coding) for char in text)


def encode(text: str, coding: int) -> bytes:
    if coding == UCS2:
        return text.encode("utf-16-be")
    if coding != GSM7:
        raise EncodingError(f"data_coding {coding} is not supported by the load generator")
    out = bytearray()
    for char in text:
        code = _BASIC_CODE.get(char)
        if code is not None:
            out.append(code)
        elif char in _GSM_EXTENSION:
            out += bytes((_ESCAPE, _GSM_EXTENSION[char]))
        else:
            raise EncodingError(f"{char!r} is not in the GSM 03.38 alphabet")
    return bytes(out)


def chunks(text: str, coding: int) -> list[str]:
    """The text cut into per-segment pieces, each within capacity, never inside a character's units."""
    if units(text, coding) <= SINGLE[coding]:
        return [text]
    capacity = CONCATENATED[coding]
    pieces: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(text):
        size = _char_units(char, coding)
        if used + size > capacity:  # the whole character (pair) moves to the next segment
            pieces.append(text[start:index])
            start, used = index, 0
        used += size
    pieces.append(text[start:])
    if len(pieces) > 255:
        raise EncodingError(f"the text needs {len(pieces)} segments; concatenation allows 255")
    return pieces


def concat_udh(reference: int, total: int, sequence: int) -> bytes:
    """UDH with the 8-bit-reference concatenation IE (0x00): UDHL 5, IEI 0, IEDL 3, ref, total, seq."""
    return bytes((5, 0x00, 3, reference & 0xFF, total, sequence))


def segments(text: str, coding: int | None = None, *, reference: int = 0) -> list[Segment]:
    """Encode and split: one Segment for a short text, else UDH-concatenated parts sharing `reference`."""
    coding = choose_coding(text) if coding is None else coding
    pieces = chunks(text, coding)
    if len(pieces) == 1:
        return [Segment(encode(text, coding), coding, 0, 1, 1)]
    total = len(pieces)
    return [Segment(concat_udh(reference, total, number) + encode(piece, coding), coding, UDHI, number, total)
            for number, piece in enumerate(pieces, start=1)]
