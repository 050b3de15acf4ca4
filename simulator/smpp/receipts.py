"""Delivery-receipt short_message text (SMPP 3.4 Appendix B, de facto) in the variants real carriers send."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from simulator.core.records import MessageState
from simulator.smpp.times import format_receipt_date

__all__ = [
    "ReceiptState",
    "INTERMEDIATE_STATES",
    "stat_word",
    "state_from_word",
    "receipt_requested",
    "ReceiptFormat",
    "render_id",
    "format_receipt",
    "RECEIPT_TEXT",
    "ParsedReceipt",
    "parse_receipt",
]


# One state enum for the whole carrier: the message_state TLV numbering.
ReceiptState = MessageState

_NOT_FINAL: Final = frozenset({ReceiptState.SCHEDULED, ReceiptState.ENROUTE})
_SUCCESS: Final = frozenset({ReceiptState.DELIVERED, ReceiptState.ACCEPTED})
INTERMEDIATE_STATES: Final[frozenset[ReceiptState]] = frozenset({ReceiptState.ENROUTE, ReceiptState.ACCEPTED})

_WORDS: Final[dict[ReceiptState, str]] = {
    ReceiptState.SCHEDULED: "SCHEDLD",
    ReceiptState.ENROUTE: "ENROUTE",
    ReceiptState.DELIVERED: "DELIVRD",
    ReceiptState.EXPIRED: "EXPIRED",
    ReceiptState.DELETED: "DELETED",
    ReceiptState.UNDELIVERABLE: "UNDELIV",
    ReceiptState.ACCEPTED: "ACCEPTD",
    ReceiptState.UNKNOWN: "UNKNOWN",
    ReceiptState.REJECTED: "REJECTD",
    ReceiptState.SKIPPED: "SKIPPED",
}
# Gateways compare stat words case-insensitively and some carriers write the
# message_state names in full, so both spellings map back.
_FROM_WORD: Final[dict[str, ReceiptState]] = {
    **{word: state for state, word in _WORDS.items()},
    **{state.name: state for state in ReceiptState},
}


def stat_word(state: ReceiptState) -> str:
    """The 7-character ``stat:`` word for a state (``DELIVRD``, ``UNDELIV``, ...)."""
    return _WORDS[ReceiptState(state)]


def state_from_word(word: str) -> ReceiptState:
    """Map a ``stat:`` word (short or long form, any case) to its state; ValueError if unknown."""
    try:
        return _FROM_WORD[word.strip().upper()]
    except KeyError:
        raise ValueError(
            f"unknown receipt stat {word!r}: expected one of {', '.join(_WORDS.values())} or the long names"
        ) from None


def receipt_requested(registered_delivery: int, state: ReceiptState, *, intermediate: bool = False) -> bool:
    """Whether a submit's registered_delivery asks for a receipt reporting ``state``.

    ``intermediate=False`` is the one final receipt: bits 0-1 = 1 any final
    state, 2 failure only (final and not DELIVERED/ACCEPTED), 3 success only
    (SMPP 5.0; reserved in 3.4). ``intermediate=True`` is a notification
    before the outcome: bit 0x10 and an ENROUTE/ACCEPTED state.
    """
    if intermediate:
        return bool(registered_delivery & 0x10) and state in INTERMEDIATE_STATES
    if not state.is_final:
        return False
    match registered_delivery & 0x03:
        case 1:
            return True
        case 2:
            return not state.is_success
        case 3:
            return state.is_success
        case _:
            return False


@dataclass(frozen=True, slots=True)
class ReceiptFormat:
    """How one carrier writes its receipts.

    ``id_format="decimal"`` writes a hex message id as its decimal value (as
    Vonage does: hex in submit_sm_resp, decimal in the receipt); use
    render_id for receipted_message_id too so text and TLV agree.
    ``empty_text`` replaces an empty message text (``"none"`` gives ``text:none``).
    ``per_segment`` is for the caller (one receipt per segment of a long
    message); formatting ignores it.
    """

    id_format: Literal["hex", "decimal"] = "hex"
    date_seconds: bool = False
    text_label: Literal["text", "Text"] = "text"
    text_chars: int = 20
    empty_text: str = ""
    per_segment: bool = False

    def __post_init__(self) -> None:
        if self.id_format not in ("hex", "decimal"):
            raise ValueError(f"id_format must be 'hex' or 'decimal', got {self.id_format!r}")
        if self.text_label not in ("text", "Text"):
            raise ValueError(f"text_label must be 'text' or 'Text', got {self.text_label!r}")
        if self.text_chars < 0:
            raise ValueError(f"text_chars must be >= 0, got {self.text_chars}")


_HEX_ID_RE: Final = re.compile(r"[0-9A-Fa-f]+")


def render_id(message_id: str, fmt: ReceiptFormat) -> str:
    """The id as the receipt writes it (text and receipted_message_id).

    With ``id_format="decimal"`` any all-hex-digit id is read as hex, so
    ``"10"`` becomes ``"16"``; ids with other characters pass through unchanged.
    """
    if fmt.id_format == "decimal" and _HEX_ID_RE.fullmatch(message_id):
        return str(int(message_id, 16))
    return message_id


# The receipt text (SMPP 3.4 Appendix B): id, sub, dlvrd, the two dates, stat, err, text. The counts
# are zero-padded to 3 digits; larger values are written in full.
RECEIPT_TEXT: Final = "id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%03d %s:%s"


def _count(name: str, value: int) -> int:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def format_receipt(
    *,
    message_id: str,
    state: ReceiptState,
    error: int,
    submit_date: float,
    done_date: float,
    text: str,
    submitted: int = 1,
    delivered: int | None = None,
    fmt: ReceiptFormat = ReceiptFormat(),
) -> str:
    """The receipt's short_message text.

    ``delivered`` defaults to 1 for DELIVERED/ACCEPTED and 0 otherwise. Dates
    are UTC. ``text`` is cut to ``fmt.text_chars`` characters but not
    re-encoded: characters outside GSM 03.38 are kept for the caller's encoder.
    """
    state = ReceiptState(state)
    if delivered is None:
        delivered = 1 if state.is_success else 0
    return RECEIPT_TEXT % (
        render_id(message_id, fmt), _count("submitted", submitted), _count("delivered", delivered),
        format_receipt_date(submit_date, seconds=fmt.date_seconds),
        format_receipt_date(done_date, seconds=fmt.date_seconds), stat_word(state), _count("error", error),
        fmt.text_label, text[: fmt.text_chars] or fmt.empty_text,
    )


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    """Receipt fields exactly as written (missing ones are ``''``); ``state`` is None for an unknown stat word."""

    id: str
    sub: str
    dlvrd: str
    submit_date: str
    done_date: str
    stat: str
    state: ReceiptState | None
    err: str
    text: str


# A key counts only at the start or after whitespace, so "id:" inside an id or
# a date never starts a field.
_KEY_RE: Final = re.compile(
    r"(?<!\S)(id|sub|dlvrd|submit[ _]+date|done[ _]+date|stat|err|text):",
    re.IGNORECASE,
)
_LOOKS_LIKE_RECEIPT_RE: Final = re.compile(r"\s*id:", re.IGNORECASE)
_NON_TEXT_KEYS: Final = frozenset({"id", "sub", "dlvrd", "submit date", "done date", "stat", "err"})


def _key_name(raw: str) -> str:
    return " ".join(raw.replace("_", " ").lower().split())


def parse_receipt(text: str) -> ParsedReceipt | None:
    """Parse receipt text leniently; None unless it starts with ``id:`` and has a ``stat:``.

    Accepts ``text:``/``Text:``, 10- or 12-digit dates, a missing text field,
    fields in any order after ``id``, runs of spaces and any letter case. The
    first occurrence of each key wins. Once every other field has been seen,
    ``text:`` runs to the end of the string unchanged, so message text that
    itself contains ``stat:`` or ``err:`` cannot corrupt the fields.
    """
    if not _LOOKS_LIKE_RECEIPT_RE.match(text):
        return None
    matches = list(_KEY_RE.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = _key_name(match.group(1))
        if key in fields:
            continue
        if key == "text" and _NON_TEXT_KEYS <= fields.keys():
            fields[key] = text[match.end() :]
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[match.end() : end]
        # A text field that is not last keeps its inner spaces but loses the separator.
        fields[key] = value.rstrip() if key == "text" else value.strip()
    if "stat" not in fields:
        return None
    stat = fields["stat"]
    try:
        state: ReceiptState | None = state_from_word(stat)
    except ValueError:
        state = None
    return ParsedReceipt(
        id=fields.get("id", ""),
        sub=fields.get("sub", ""),
        dlvrd=fields.get("dlvrd", ""),
        submit_date=fields.get("submit date", ""),
        done_date=fields.get("done date", ""),
        stat=stat,
        state=state,
        err=fields.get("err", ""),
        text=fields.get("text", ""),
    )
