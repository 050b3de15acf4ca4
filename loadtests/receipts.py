"""Reading delivery receipts: SMPP receipt text and TLVs, and the state words every source maps onto."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# message_state TLV values (SMPP 3.4 5.3.2.35) and the receipt `stat:` words.
STATE_WORDS: Final = {0: "SCHEDLD", 1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                      6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD", 9: "SKIPPED"}
FINAL_WORDS: Final = frozenset({"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD",
                                "SKIPPED", "FAILED"})
# Long names, HTTP providers' statuses and Kannel's DLR types, mapped onto the receipt words.
_SYNONYMS: Final = {
    "DELIVERED": "DELIVRD", "DELIVERED_TO_HANDSET": "DELIVRD", "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV", "ACCEPTED": "ACCEPTD", "REJECTED": "REJECTD", "SCHEDULED": "SCHEDLD",
    "PENDING": "ENROUTE", "QUEUED": "ENROUTE", "SENDING": "ENROUTE", "SENT": "ENROUTE", "FAILED": "UNDELIV",
}
_ID: Final = re.compile(rb"\bid:(\S+)", re.IGNORECASE)
_STAT: Final = re.compile(rb"\bstat:(\w+)", re.IGNORECASE)


def state_word(value: str | int | None) -> str:
    """A receipt word (DELIVRD, UNDELIV, ...) from a message_state number or any known spelling."""
    if value is None:
        return "UNKNOWN"
    if isinstance(value, int):
        return STATE_WORDS.get(value, "UNKNOWN")
    word = value.strip().upper().replace(" ", "_")
    if word in STATE_WORDS.values():
        return word
    return _SYNONYMS.get(word, "UNKNOWN")


def is_final(word: str) -> bool:
    return word in FINAL_WORDS


@dataclass(frozen=True, slots=True)
class SmppReceipt:
    """What an SMPP receipt says: the ids to look up (TLV first, then text) and the state."""

    tlv_id: str | None
    text_id: str | None
    state: str

    @property
    def final(self) -> bool:
        return is_final(self.state)


def parse_smpp_receipt(short_message: bytes | None, receipted_message_id: bytes | str | None,
                       message_state: int | None) -> SmppReceipt | None:
    """A receipt from a deliver_sm/data_sm's fields; None when it carries no id at all (then it is an MO)."""
    body = short_message or b""
    text_id = _ID.search(body)
    stat = _STAT.search(body)
    tlv = receipted_message_id.decode("latin-1") if isinstance(receipted_message_id, bytes) else receipted_message_id
    tlv = tlv.rstrip("\x00") if tlv else None
    if not tlv and text_id is None:
        return None
    if message_state is not None:
        state = state_word(int(message_state))
    else:
        state = state_word(stat.group(1).decode("latin-1")) if stat else "UNKNOWN"
    return SmppReceipt(tlv or None, text_id.group(1).decode("latin-1") if text_id else None, state)


def id_variants(message_id: str) -> list[str]:
    """Spellings one carrier id takes in receipts: as is, lower case, without leading zeros, and
    hex<->decimal (Vonage writes decimal in the text but hex in submit_sm_resp)."""
    variants = [message_id, message_id.lower(), message_id.lstrip("0") or "0"]
    if message_id.isdigit():
        variants.append(format(int(message_id), "x"))
    try:
        variants.append(str(int(message_id, 16)))
    except ValueError:
        pass
    seen: dict[str, None] = dict.fromkeys(variants)
    return list(seen)
