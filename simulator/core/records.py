"""The carrier's records: messages with their history, and the receipts and inbound messages it delivers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import msgspec

from simulator.smpp import text as sms_text


class MessageState(IntEnum):
    """Message states, numbered as SMPP's message_state TLV (the same numbers every front end maps from).

    SCHEDULED and SKIPPED exist only in SMPP 5.0. ACCEPTED is final in SMPP 3.4 terms (read on the
    subscriber's behalf by customer service), though gateways also meet ACCEPTD as an intermediate
    notification.
    """

    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9

    @property
    def is_final(self) -> bool:
        return self not in (MessageState.SCHEDULED, MessageState.ENROUTE)

    @property
    def is_success(self) -> bool:
        """DELIVERED or ACCEPTED: what a failure-only receipt request (registered_delivery=2) skips."""
        return self in (MessageState.DELIVERED, MessageState.ACCEPTED)

    @property
    def is_intermediate(self) -> bool:
        """ENROUTE or ACCEPTED: what an intermediate notification (registered_delivery bit 0x10) reports."""
        return self in (MessageState.ENROUTE, MessageState.ACCEPTED)


class Message(msgspec.Struct, gc=False):
    """One message the carrier accepted (MT from an account, or MO/P2P it routes), with its full history.

    A long message submitted in parts is one Message per part (each part has its own id, as real
    SMSCs give); `group` names the logical message they belong to, and `part`/`parts` place it.

    Messages are not tracked by the cyclic garbage collector (`gc=False`): the store holds up to a
    million, and every full collection would walk them all, a pause that grew with the store. Plain
    reference counting frees them, so nothing a Message holds may refer back to it (`ref` is a front
    end's own record: they keep the carrier's message ids, never the Message).
    """

    # The carrier creates one per submit with these first ten fields given by position (the hot path).
    id: str
    system_id: str  # the account that submitted it ("" for a handset's MO)
    channel: str  # the front end it came through: "smpp", "http", "smtp", "handset"
    source: str
    destination: str
    data_coding: int
    payload: bytes  # this part's payload in data_coding, without UDH
    submitted_at: float  # wall clock
    registered_delivery: int = 0
    esm_class: int = 0
    state: MessageState = MessageState.ENROUTE
    error: int = 0  # the receipt's err: field
    network_error: tuple[int, int] | None = None
    final_at: float | None = None
    schedule_at: float | None = None  # wall clock
    expire_at: float | None = None  # wall clock
    legacy: bool = False  # submitted on an SMPP 3.3 bind
    part: int = 1
    parts: int = 1
    group: str | None = None
    direction: str = "mt"  # "mt" or "mo"
    ref: Any = None  # the front end's own context (e.g. a Twilio status callback URL)
    responded_at: float | None = None  # when the front end answered the submit (wall clock)
    due_at: float | None = None  # when the scenario's outcome is due (wall clock)
    # The usual receipt's steps, as times: most messages then need no event list at all.
    receipt_queued_at: float | None = None
    receipt_delivered_at: float | None = None  # answered at the first attempt
    # Other events after submission, allocated on first use: a million pending messages then cost no lists.
    events: list[tuple[float, str, str]] | None = None

    def log(self, when: float, event: str, detail: str = "") -> None:
        if self.events is None:
            self.events = [(when, event, detail)]
        else:
            self.events.append((when, event, detail))

    @property
    def history(self) -> list[tuple[float, str, str]]:
        """Every step in time order: submitted, response sent, scheduled, each delivery attempt, final."""
        steps = [(self.submitted_at, "submitted" if self.direction == "mt" else "mo_received", self.channel)]
        if self.responded_at is not None:
            steps.append((self.responded_at, "response_sent", ""))
        if self.due_at is not None:
            steps.append((self.submitted_at, "scheduled", f"due {self.due_at - self.submitted_at:.3f}s after submit"))
            if self.final_at is not None and self.state is not MessageState.DELETED and self.state.is_final:
                steps.append((self.final_at, "final", self.state.name))  # the scenario's outcome, at its moment
        if self.receipt_queued_at is not None:
            steps.append((self.receipt_queued_at, "receipt_queued", self.state.name))
        if self.receipt_delivered_at is not None:
            steps.append((self.receipt_delivered_at, f"receipt_delivered:{self.state.name}", ""))
        if self.events:
            steps.extend(self.events)
        steps.sort(key=lambda step: step[0])
        return steps

    @property
    def text(self) -> str:
        return sms_text.decode(self.payload, self.data_coding)


# A receipt quotes the first 20 characters of the text: no character takes more than 4 octets in any
# data_coding, so decoding this many octets of each part is always enough.
_QUOTED_CHARS = 20
_QUOTED_OCTETS = 4 * _QUOTED_CHARS


def quoted_text(messages: list[Message] | tuple[Message, ...]) -> str:
    """The start of a message's text (its parts in order), as much as a receipt quotes, without decoding all of it."""
    text = ""
    for message in messages:
        text += sms_text.decode(message.payload[:_QUOTED_OCTETS], message.data_coding)
        if len(text) >= _QUOTED_CHARS:
            return text[:_QUOTED_CHARS]
    return text


class Receipt(msgspec.Struct, gc=False):
    """A delivery receipt for one message (or one part of it), due to the account that submitted it.

    Untracked by the cyclic collector, like Message (one is made per message, and it refers only to
    its message): a receipt then does not count towards the next young collection.
    """

    message: Message
    state: MessageState
    error: int
    done_at: float  # wall clock
    network_error: tuple[int, int] | None = None
    # What the receipt quotes when it is not the start of its own message's text (a long message's
    # parts, a receipt relayed from another worker). None, the usual receipt, quotes the message: the
    # compiled receipt body copies a plain GSM text's octets without decoding them at all.
    quote: str | None = None
    submitted_parts: int = 1
    mangle_id: str | None = None  # a scenario's wrong/mismatched id, written instead of the real one
    intermediate: bool = False  # an ENROUTE/ACCEPTD notification (registered_delivery bit 0x10)

    @property
    def text(self) -> str:
        """The start of the message text, which the receipt quotes (20 characters go out)."""
        quote = self.quote
        return quote if quote is not None else quoted_text((self.message,))


@dataclass(slots=True)
class Inbound:
    """An MO or P2P message on its way to an account: one PDU's worth (a part of a long message)."""

    message: Message
    short_message: bytes  # what goes in short_message: the part's payload, with UDH if udhi
    udhi: bool = False
    sar: tuple[int, int, int] | None = None
    message_payload: bytes | None = None


Item = Receipt | Inbound
