"""The sans-IO SMPP session state machine: bytes in, events and bytes out, no sockets.

The session enforces the protocol on its own -- bind rules, bind roles, the window and malformed
input -- and answers those cases itself, so the application above only ever sees requests it may
act on. Modelled on h11: `feed()` bytes, take events one at a time from `next_event()` (one PDU is
parsed per event, so an answer given in between counts before the next request meets the window),
answer with `respond()` / `send_request()`, and write `data_to_send()` to the transport.
`receive_data()` does feed-and-drain in one call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec

from .codec import (
    DEFAULT_LENIENCY,
    DEFAULT_MAX_PDU,
    HEADER,
    HEADER_SIZE,
    SPEEDUPS,
    BadCommandLength,
    Leniency,
    PduError,
    UnknownCommand,
    decode_body,
    encode,
)
from .pdu import (
    COMMAND_NAMES,
    REGISTRY,
    RESPONSE_BIT,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandId,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
    _Bind,
)
from .status import Status
from .tlv import Tag


class BindType(Enum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def can_submit(self) -> bool:
        return self is not BindType.RECEIVER

    @property
    def can_receive(self) -> bool:
        return self is not BindType.TRANSMITTER


BIND_TYPES: dict[type[_Bind], BindType] = {
    BindTransmitter: BindType.TRANSMITTER,
    BindReceiver: BindType.RECEIVER,
    BindTransceiver: BindType.TRANSCEIVER,
}


class State(Enum):
    OPEN = "open"  # connected, not bound yet
    BINDING = "binding"  # a bind is waiting for the application's verdict
    BOUND = "bound"
    UNBINDING = "unbinding"  # we sent unbind and wait for unbind_resp
    CLOSED = "closed"  # nothing more is read or answered; the adapter should close


# Bound once, because every PDU reads them: looking a member up on an Enum class goes through
# EnumType.__getattr__'s slot, about 60 ns more than a global.
_OPEN, _BINDING, _BOUND, _UNBINDING, _CLOSED = State.OPEN, State.BINDING, State.BOUND, State.UNBINDING, State.CLOSED
_ENQUIRE_LINK, _UNBIND, _UNBIND_RESP = int(CommandId.ENQUIRE_LINK), int(CommandId.UNBIND), int(CommandId.UNBIND_RESP)
# What the compiled session decodes itself (with the compiled codec): a submit_sm, and the answers to our requests.
_FAST_COMMANDS = (int(CommandId.SUBMIT_SM), int(CommandId.SUBMIT_SM_RESP), int(CommandId.DELIVER_SM_RESP),
                  int(CommandId.DATA_SM_RESP))


class LocalProtocolError(Exception):
    """We were asked to send something SMPP forbids in the current state (h11's name for it)."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    window: int = 10  # outstanding requests from the peer; 0 = unlimited
    window_status: int = Status.ESME_RMSGQFUL
    max_pdu: int = DEFAULT_MAX_PDU
    leniency: Leniency = DEFAULT_LENIENCY
    transceiver_min_version: int = 0x34
    transceiver_refusal: int = Status.ESME_RBINDFAIL


# Events --------------------------------------------------------------------------------
# msgspec Structs, not dataclasses: one or two are made per PDU, and their __init__ runs in C.


class BindRequested(msgspec.Struct):
    """A bind arrived. Answer with `Session.accept_bind()` or `Session.reject_bind()`."""

    pdu: _Bind
    bind_type: BindType


class RequestReceived(msgspec.Struct):
    """A request the application must answer with `Session.respond()`."""

    pdu: Pdu


class ResponseReceived(msgspec.Struct):
    """The peer answered one of our requests. `context` is what `send_request()` was given."""

    pdu: Pdu
    request_command_id: int
    context: Any


class ProtocolViolation(msgspec.Struct):
    """Bad input the session already answered (or, for a response, dropped)."""

    error: PduError
    answer: Pdu | None


class Unbound(msgspec.Struct):
    """The session is over: by the peer's unbind, our unbind's response, or a bind refusal."""

    by_peer: bool
    reason: str


class EnquireLinkAnswered(msgspec.Struct):
    """The peer's enquire_link was answered (or, when muted, ignored)."""

    sequence_number: int


Event = BindRequested | RequestReceived | ResponseReceived | ProtocolViolation | Unbound | EnquireLinkAnswered

# What each bind role may ask of us. Responses are always allowed through to matching.
_TX_REQUESTS = frozenset(
    {CommandId.SUBMIT_SM, CommandId.SUBMIT_MULTI, CommandId.DATA_SM, CommandId.QUERY_SM,
     CommandId.CANCEL_SM, CommandId.REPLACE_SM}
)
_ANY_BOUND = frozenset({CommandId.ENQUIRE_LINK, CommandId.UNBIND})
_ALLOWED: dict[BindType, frozenset[int]] = {
    BindType.TRANSMITTER: _TX_REQUESTS | _ANY_BOUND,
    BindType.RECEIVER: _ANY_BOUND,
    BindType.TRANSCEIVER: _TX_REQUESTS | _ANY_BOUND,
}
# What we may send to each bind role.
_OUTBOUND_FOR_RECEIVERS = frozenset({CommandId.DELIVER_SM, CommandId.DATA_SM, CommandId.ALERT_NOTIFICATION})
_BIND_IDS = frozenset({CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER})


class _Outstanding(msgspec.Struct):
    command_id: int
    context: Any


class PythonSessionCore:
    """The session's per-PDU work in pure Python: the twin of the compiled `SessionCore` (`_speedups.c`).

    `Session` builds on whichever is in use. The compiled one takes the common case itself -- a
    submit_sm on a bound session with room in its window, the answer to one of our requests, the
    submit_sm_resp and deliver_sm it writes -- and hands everything else to the methods here and
    to `Session`'s (`_handle_frame`, `_framing_lost`, `_next_request`), so both behave alike.
    """

    def feed(self, data: bytes) -> None:
        """Add bytes from the peer. Nothing is parsed until `next_event()` asks for it."""
        if self.state is not _CLOSED:
            if self._offset:
                # Drop what was parsed once per read, not once per PDU.
                del self._buffer[: self._offset]
                self._offset = 0
            self._buffer += data

    def next_event(self) -> Event | None:
        """The next event, parsing one more PDU if needed; None when the bytes so far are used up.

        One PDU at a time, so what the application answers between two calls (a submit_sm_resp)
        counts before the next request is checked against the window.
        """
        pending = self._events
        while not pending:
            if self.state is _CLOSED or not self._parse_one():
                return None
        return pending.popleft()

    def _parse_one(self) -> bool:
        buffer = self._buffer
        offset = self._offset
        size = len(buffer) - offset
        if size < HEADER_SIZE:
            return False
        length, command_id, status, sequence = HEADER.unpack_from(buffer, offset)
        if length < HEADER_SIZE or length > self._max_pdu:
            self._framing_lost(length, command_id, sequence)
            return True
        if size < length:
            return False
        self.pdus_received += 1
        frame = bytes(buffer[offset : offset + length])
        offset += length
        if offset == len(buffer):
            buffer.clear()
            offset = 0
        self._offset = offset
        self._handle_frame(frame, command_id, status, sequence, self._events)
        return True

    def respond_with_id(self, command_id: int, sequence_number: int, message_id: str) -> None:
        """`respond()` with status 0 and just a message_id (submit_sm_resp, data_sm_resp): the hot path, no Pdu.

        `message_id` is one the carrier issued: ASCII, at most 64 characters.
        """
        self._awaiting_answer.discard(sequence_number)
        if self.state is _CLOSED:
            return
        raw = message_id.encode("ascii")
        self._out.append(HEADER.pack(HEADER_SIZE + 1 + len(raw), command_id, 0, sequence_number) + raw + b"\0")

    def send_encoded(self, command_id: int, body: bytes, context: Any = None) -> int:
        """`send_request()` for a body the caller encoded itself (the receipt hot path: no Pdu object).

        The body must be valid for this bind (no TLVs on a legacy bind); the session adds the header.
        """
        sequence = self._next_request(command_id, context)
        self._out.append(HEADER.pack(HEADER_SIZE + len(body), command_id, 0, sequence) + body)
        return sequence


if SPEEDUPS is not None:
    SPEEDUPS.configure_session(
        python_twin=PythonSessionCore, closed=_CLOSED, bound=_BOUND, receivers=(BindType.RECEIVER, BindType.TRANSCEIVER),
        outbound_for_receivers=_OUTBOUND_FOR_RECEIVERS, request_received=RequestReceived,
        response_received=ResponseReceived, outstanding=_Outstanding, pdu_error=PduError,
        fast_classes={command_id: REGISTRY[command_id] for command_id in _FAST_COMMANDS},
    )
    _SessionCore: type = SPEEDUPS.SessionCore
else:
    _SessionCore = PythonSessionCore


class Session(_SessionCore):  # type: ignore[valid-type,misc]
    """The SMSC side of one SMPP connection."""

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config or SessionConfig()
        self.state = _OPEN
        self.bind_type: BindType | None = None
        self.system_id: str = ""
        self.interface_version: int = 0x34
        # An SMPP 3.3 bind: no TLVs may be sent, and message ids are at most 8 hex digits. Set with
        # interface_version at bind time: read for every submit and receipt, where a property costs a call.
        self.legacy = False
        self.pdus_received = 0
        self.window = self.config.window  # the account or the scenario may set its own
        self.window_status = self.config.window_status
        self.answer_enquire_link = True  # a scenario may leave enquire_link unanswered
        self._buffer = bytearray()
        self._offset = 0  # where unparsed bytes start in _buffer
        self._out: list[bytes] = []
        self._next_sequence = 1
        self._outstanding: dict[int, _Outstanding] = {}
        self._awaiting_answer: set[int] = set()  # sequence numbers of the peer's requests we still owe
        self._pending_bind: _Bind | None = None
        self._events: deque[Event] = deque()
        self._allowed: frozenset[int] = frozenset()  # what the bind's role may ask of us
        self._max_pdu = self.config.max_pdu

    # ---------------------------------------------------------------- properties

    @property
    def is_bound(self) -> bool:
        return self.state is _BOUND

    @property
    def window_in_use(self) -> int:
        return len(self._awaiting_answer)

    @property
    def outstanding_requests(self) -> int:
        return len(self._outstanding)

    def outstanding_contexts(self) -> list[Any]:
        return [item.context for item in self._outstanding.values()]

    # ---------------------------------------------------------------- input

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes and return every event they complete (`feed` + `next_event` until None)."""
        self.feed(data)
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def _framing_lost(self, length: int, command_id: int, sequence: int) -> None:
        error = BadCommandLength(
            Status.ESME_RINVCMDLEN,
            f"command_length {length} is outside {HEADER_SIZE}..{self.config.max_pdu}",
            command_id=command_id,
            sequence_number=sequence,
        )
        # The framing is lost: answer, then drop what is buffered so the stream can recover
        # at the peer's next write instead of reading garbage as headers forever.
        self._events.append(self._violation(error, answer_with_nack=True))
        self._buffer.clear()
        self._offset = 0

    def discard_partial(self) -> ProtocolViolation | None:
        """Called by the adapter when a partial PDU has waited too long: answer and drop it."""
        if self._offset:
            del self._buffer[: self._offset]
            self._offset = 0
        if len(self._buffer) < HEADER_SIZE:
            self._buffer.clear()
            return None
        _, command_id, _, sequence = HEADER.unpack_from(self._buffer, 0)
        self._buffer.clear()
        error = BadCommandLength(
            Status.ESME_RINVCMDLEN, "command_length is longer than the data sent", command_id=command_id,
            sequence_number=sequence,
        )
        return self._violation(error, answer_with_nack=True)

    @property
    def has_partial(self) -> bool:
        return len(self._buffer) > self._offset

    def _handle_frame(self, frame: bytes, command_id: int, status: int, sequence: int, events: deque[Event]) -> None:
        is_response = bool(command_id & RESPONSE_BIT)
        if is_response:
            self._handle_response(frame, command_id, status, sequence, events)
            return
        if self.state is _OPEN and command_id not in _BIND_IDS:
            # SMPP: the first PDU must be a bind. Unknown commands still earn generic_nack 0x03.
            if command_id not in REGISTRY:
                error = UnknownCommand(Status.ESME_RINVCMDID, f"unknown command_id 0x{command_id:08X}",
                                       command_id=command_id, sequence_number=sequence)
                events.append(self._violation(error, answer_with_nack=True))
            else:
                error = PduError(Status.ESME_RINVBNDSTS, "the first PDU must be a bind",
                                 command_id=command_id, sequence_number=sequence)
                events.append(self._violation(error))
            self._close(events, by_peer=False, reason="first PDU was not a bind")
            return
        try:
            pdu = decode_body(command_id, status, sequence, frame, HEADER_SIZE, self.config.leniency)
        except UnknownCommand as error:
            events.append(self._violation(error, answer_with_nack=True))
            return
        except PduError as error:
            events.append(self._violation(error))
            if command_id in _BIND_IDS and self.state is _OPEN:
                self._close(events, by_peer=False, reason=f"malformed bind: {error}")
            return
        if command_id in _BIND_IDS:
            self._handle_bind(pdu, events)  # type: ignore[arg-type]
            return
        if self.state is not _BOUND or self.bind_type is None:
            # A request while binding or unbinding.
            events.append(self._refuse(pdu, Status.ESME_RINVBNDSTS))
            return
        if command_id not in self._allowed:
            events.append(self._refuse(pdu, Status.ESME_RINVBNDSTS))
            return
        if command_id == _ENQUIRE_LINK:
            if self.answer_enquire_link:
                self._queue(pdu.response())
            events.append(EnquireLinkAnswered(sequence))
            return
        if command_id == _UNBIND:
            self._queue(UnbindResp(sequence_number=sequence))
            self._close(events, by_peer=True, reason="peer sent unbind")
            return
        if self.window and len(self._awaiting_answer) >= self.window:
            events.append(self._refuse(pdu, self.window_status))
            return
        self._awaiting_answer.add(sequence)
        events.append(RequestReceived(pdu))

    def _handle_bind(self, pdu: _Bind, events: deque[Event] | list[Event]) -> None:
        if self.state is not _OPEN:
            events.append(self._refuse(pdu, Status.ESME_RALYBND))
            return
        bind_type = BIND_TYPES[type(pdu)]
        if bind_type is BindType.TRANSCEIVER and pdu.interface_version < self.config.transceiver_min_version:
            self.reject_bind_pdu(pdu, self.config.transceiver_refusal, events,
                                 reason="bind_transceiver needs interface_version 0x34 or later")
            return
        self.state = _BINDING
        self._pending_bind = pdu
        events.append(BindRequested(pdu, bind_type))

    def _handle_response(self, frame: bytes, command_id: int, status: int, sequence: int, events: deque[Event] | list[Event]) -> None:
        # A response is never answered, whatever is wrong with it.
        outstanding = self._outstanding.pop(sequence, None)
        try:
            pdu = decode_body(command_id, status, sequence, frame, HEADER_SIZE, self.config.leniency)
        except PduError as error:
            events.append(ProtocolViolation(error, None))
            if outstanding is not None:
                # Still settle the request, so the application can retry it.
                events.append(ResponseReceived(GenericNack(sequence_number=sequence, command_status=error.status),
                                               outstanding.command_id, outstanding.context))
            return
        if outstanding is None:
            events.append(ProtocolViolation(
                PduError(Status.ESME_RINVCMDID, "response to no outstanding request", command_id=command_id,
                         sequence_number=sequence), None))
            return
        if command_id == _UNBIND_RESP and self.state is _UNBINDING:
            events.append(ResponseReceived(pdu, outstanding.command_id, outstanding.context))
            self._close(events, by_peer=False, reason="unbind answered")
            return
        events.append(ResponseReceived(pdu, outstanding.command_id, outstanding.context))

    # ---------------------------------------------------------------- answering

    def accept_bind(self, system_id: str, *, our_system_id: str = "carrier-sim") -> None:
        pdu = self._pending_bind
        if pdu is None or self.state is not _BINDING:
            raise LocalProtocolError("no bind is waiting for a verdict")
        self._pending_bind = None
        self.state = _BOUND
        self.bind_type = BIND_TYPES[type(pdu)]
        self._allowed = _ALLOWED[self.bind_type]  # looked up once: every request is checked against it
        self.system_id = system_id
        self.interface_version = pdu.interface_version
        self.legacy = pdu.interface_version < 0x34
        response = pdu.response(system_id=our_system_id[:15])
        if not self.legacy:
            response.tlvs[Tag.SC_INTERFACE_VERSION] = 0x50 if pdu.interface_version >= 0x50 else 0x34
        self._queue(response)

    def reject_bind(self, status: int, reason: str = "bind refused") -> list[Event]:
        pdu = self._pending_bind
        if pdu is None or self.state is not _BINDING:
            raise LocalProtocolError("no bind is waiting for a verdict")
        self._pending_bind = None
        events: deque[Event] | list[Event] = []
        self.reject_bind_pdu(pdu, status, events, reason=reason)
        return events

    def reject_bind_pdu(self, pdu: _Bind, status: int, events: deque[Event] | list[Event], *, reason: str) -> None:
        # SMPP 3.4: a failed bind's response carries no body; then the connection is closed.
        self._queue(pdu.response(status))
        self._close(events, by_peer=False, reason=reason)

    def respond(self, response: Pdu) -> None:
        """Answer one of the peer's requests. Responses may go out in any order."""
        self._awaiting_answer.discard(response.sequence_number)
        if self.state is _CLOSED:
            return
        if self.legacy and response.tlvs:
            response.tlvs = {}
        self._out.append(encode(response))

    def forget(self, sequence_number: int) -> None:
        """Free the window slot of a request we decided never to answer (a scenario's 'no response')."""
        self._awaiting_answer.discard(sequence_number)

    def send_request(self, pdu: Pdu, context: Any = None) -> int:
        """Send a request (deliver_sm, enquire_link, unbind, ...) and return its sequence number."""
        sequence = self._next_request(pdu.command_id, context)
        pdu.sequence_number = sequence
        if self.legacy and pdu.tlvs:
            pdu.tlvs = {}
        if pdu.command_id == _UNBIND:
            self.state = _UNBINDING
        self._out.append(encode(pdu))
        return sequence

    def _next_request(self, command_id: int, context: Any) -> int:
        """Check we may send this request now, and claim its sequence number."""
        if self.state is not _BOUND and not (self.state is _UNBINDING and command_id == _ENQUIRE_LINK):
            raise LocalProtocolError(f"cannot send {_command_name(command_id)} in state {self.state.value}")
        if command_id in _OUTBOUND_FOR_RECEIVERS and not (self.bind_type and self.bind_type.can_receive):
            raise LocalProtocolError(f"cannot send {_command_name(command_id)} to a "
                                     f"{self.bind_type.value if self.bind_type else ''} bind")
        sequence = self._next_sequence
        self._next_sequence = 1 if sequence >= 0x7FFFFFFF else sequence + 1
        self._outstanding[sequence] = _Outstanding(command_id, context)
        return sequence

    def expire(self, sequence_number: int) -> Any:
        """Give up on one of our requests (no response in time); returns its context."""
        item = self._outstanding.pop(sequence_number, None)
        return item.context if item else None

    def unbind(self) -> int:
        return self.send_request(Unbind())

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are: scenarios use this to inject malformed PDUs on purpose."""
        self._out.append(data)

    def data_to_send(self) -> bytes:
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def close(self) -> None:
        self.state = _CLOSED

    # ---------------------------------------------------------------- helpers

    def _queue(self, pdu: Pdu) -> None:
        if self.legacy and pdu.tlvs:
            pdu.tlvs = {}
        self._out.append(encode(pdu))

    def _refuse(self, pdu: Pdu, status: int) -> ProtocolViolation:
        response_cls = REGISTRY.get(pdu.command_id | RESPONSE_BIT)
        answer: Pdu = (response_cls or GenericNack)(sequence_number=pdu.sequence_number, command_status=status)
        self._queue(answer)
        return ProtocolViolation(PduError(status, f"{pdu.name} refused", command_id=pdu.command_id,
                                          sequence_number=pdu.sequence_number), answer)

    def _violation(self, error: PduError, *, answer_with_nack: bool = False) -> ProtocolViolation:
        response_cls = None
        if not answer_with_nack and error.command_id is not None:
            response_cls = REGISTRY.get(error.command_id | RESPONSE_BIT)
            if error.command_id & RESPONSE_BIT:
                response_cls = None
        answer: Pdu = (response_cls or GenericNack)(sequence_number=error.sequence_number, command_status=error.status)
        self._queue(answer)
        return ProtocolViolation(error, answer)

    def _close(self, events: deque[Event] | list[Event], *, by_peer: bool, reason: str) -> None:
        self.state = _CLOSED
        self._awaiting_answer.clear()
        events.append(Unbound(by_peer=by_peer, reason=reason))


def _command_name(command_id: int) -> str:
    return COMMAND_NAMES.get(command_id, f"0x{command_id:08X}")
