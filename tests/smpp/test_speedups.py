"""The compiled codec primitives do exactly what their pure-Python twins do, and leak nothing."""

from __future__ import annotations

import struct
import sys
from enum import Enum

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.smpp_client import bind_pdu
from simulator.config import ReceiptFormatConfig
from simulator.core.records import Message, MessageState, Receipt
from simulator.smpp import codec, deliveries
from simulator.smpp import session as session_module
from simulator.smpp.codec import SPEEDUPS, PduError, encode
from simulator.smpp.pdu import DeliverSm, DeliverSmResp, EnquireLink, QuerySm, SubmitSm, SubmitSmResp, Unbind
from simulator.smpp.session import LocalProtocolError, SessionConfig
from simulator.smpp.text import GSM_SAME_AS_ASCII
from simulator.smpp.times import SmppTimeError

from ..test_speedups import LEAK_BOUND, REQUIRED, memory_grown
from .test_codec import pdu_strategy

compiled = pytest.mark.skipif(SPEEDUPS is None and not REQUIRED, reason="built without a C compiler")


def _outcome(decoder, cls, wire: bytes):
    try:
        return decoder(cls, 0, 7, wire, 16)
    except PduError as error:
        return ("PduError", error.status, error.field)


@compiled
@settings(max_examples=600, deadline=None)
@given(st.one_of(pdu_strategy(SubmitSm), pdu_strategy(DeliverSm), pdu_strategy(SubmitSmResp),
                 pdu_strategy(DeliverSmResp)), st.data())
def test_compiled_decoders_agree_with_their_python_twins(pdu, data) -> None:
    wire = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(0, 4))):
        if len(wire) > 16:
            wire[data.draw(st.integers(16, len(wire) - 1))] = data.draw(st.sampled_from([0, 1, 0x41, 0xFF]))
    wire = bytes(wire[: data.draw(st.integers(16, len(wire)))])
    if isinstance(pdu, (SubmitSm, DeliverSm)):
        pair = (SPEEDUPS.decode_short_message, codec._decode_short_message)
    else:
        pair = (SPEEDUPS.decode_message_id_resp, codec._decode_message_id_resp)
    compiled_outcome, python_outcome = (_outcome(decoder, type(pdu), wire) for decoder in pair)
    assert compiled_outcome == python_outcome


@compiled
def test_compiled_decoders_take_only_bytes():
    wire = encode(SubmitSm(source_addr="12345", destination_addr="447700900001", short_message=b"hi"))
    assert SPEEDUPS.decode_short_message(SubmitSm, 0, 1, bytearray(wire), 16) is None  # the general way
    assert SPEEDUPS.decode_short_message(SubmitSm, 0, 1, wire, 16).short_message == b"hi"


text_chars = st.characters(max_codepoint=0x7F) | st.characters()  # mostly ASCII, some not
epochs = st.floats(min_value=946_684_790, max_value=4_102_444_810) | st.sampled_from([float("nan"), float("inf")])


# What a receipt with no quote of its own quotes: plain GSM text (which the compiled body copies as it
# is), that with other octets in it, any octets, other codings, and a data_coding no int fits.
plain_gsm = st.lists(st.sampled_from(GSM_SAME_AS_ASCII), max_size=40).map(bytes)
payloads = (plain_gsm | st.tuples(plain_gsm, st.binary(min_size=1, max_size=3), plain_gsm).map(b"".join)
            | st.binary(max_size=100))
codings = st.sampled_from([0, 0, 0, 1, 3, 8, 2**70])


@st.composite
def receipts(draw) -> Receipt:
    message = Message(
        draw(st.text("0123456789abcdef", min_size=1, max_size=70) | st.text(text_chars, max_size=8)), "acct",
        "smpp", draw(st.text(text_chars, max_size=24)), draw(st.text(text_chars, max_size=24)),
        draw(codings), draw(payloads), draw(epochs | st.integers(946_684_800, 1_000_000_000)),
    )
    return Receipt(
        message, draw(st.sampled_from(list(MessageState))), draw(st.integers(-2, 1200)), draw(epochs),
        draw(st.none() | st.tuples(st.integers(-1, 256), st.integers(-1, 0x10000))),
        draw(st.none() | st.text(text_chars, max_size=30)),  # None: the receipt quotes its message's payload
        draw(st.integers(-1, 1500)), draw(st.none() | st.sampled_from(["decimal", "hex", "uppercase", "mismatch"])),
        draw(st.booleans()),
    )


configs = st.builds(ReceiptFormatConfig, date_seconds=st.booleans(),
                    text_label=st.sampled_from(["text", "Text", "tëxt", "x" * 70]),
                    id_format=st.sampled_from(["hex", "decimal"]), command=st.sampled_from(["deliver_sm", "data_sm"]))


def _body(function, receipt: Receipt, config: ReceiptFormatConfig, legacy: bool):
    try:
        return function(receipt, config, legacy=legacy)
    except SmppTimeError as error:
        return ("SmppTimeError", str(error))


@compiled
@settings(max_examples=800, deadline=None)
@given(receipt=receipts(), config=configs, legacy=st.booleans())
def test_compiled_receipt_body_agrees_with_its_python_twin(receipt: Receipt, config: ReceiptFormatConfig,
                                                           legacy: bool):
    assert (_body(SPEEDUPS.receipt_deliver_sm_body, receipt, config, legacy)
            == _body(deliveries.python_receipt_deliver_sm_body, receipt, config, legacy))


# A few seconds close together, each drawn again and again: a run of receipts then hits and misses
# the compiled body's remembered seconds (one for submit dates, one for done dates) in every order.
nearby_instants = st.builds(lambda second, fraction: second + fraction, st.sampled_from([1_790_000_000,
                            1_790_000_001, 1_790_000_002, 1_790_000_060]), st.sampled_from([0.0, 0.25, 0.999]))


@compiled
@settings(max_examples=200, deadline=None)
@given(dates=st.lists(st.tuples(nearby_instants, nearby_instants), min_size=1, max_size=12),
       seconds=st.booleans())
def test_compiled_receipt_dates_agree_across_a_run_of_receipts(dates: list[tuple[float, float]], seconds: bool):
    config = ReceiptFormatConfig(date_seconds=seconds)
    for submitted, done in dates:
        message = Message("1f", "acct", "smpp", "447700900001", "447700900002", 0, b"", submitted)
        receipt = Receipt(message, MessageState.DELIVERED, 0, done, None, "hello")
        assert (SPEEDUPS.receipt_deliver_sm_body(receipt, config, legacy=False)
                == deliveries.python_receipt_deliver_sm_body(receipt, config, legacy=False))


@compiled
def test_compiled_receipt_body_takes_legacy_by_keyword_only():
    receipt = Receipt(Message("ab12", "acct", "smpp", "12345", "447700900001", 0, b"", 1_767_225_600.0),
                      MessageState.DELIVERED, 0, 1_767_225_601.0)
    with pytest.raises(TypeError):
        SPEEDUPS.receipt_deliver_sm_body(receipt, ReceiptFormatConfig(), False)
    assert SPEEDUPS.receipt_deliver_sm_body(receipt, ReceiptFormatConfig(), legacy=False).startswith(
        b"\x00\x00\x00" + b"447700900001" + b"\x00\x00\x00" + b"12345" + b"\x00\x04")


@compiled
def test_compiled_primitives_leak_nothing():
    submit = encode(SubmitSm(source_addr="12345", destination_addr="447700900001", short_message=b"x" * 40))
    bad_tlv = submit + b"\x04\x24\x00\x09ab"  # a message_payload TLV running past the PDU: PduError
    response = encode(SubmitSmResp(message_id="abc"))
    config = ReceiptFormatConfig()
    usual = Receipt(Message("ab12", "acct", "smpp", "12345", "447700900001", 0, b"", 1_767_225_600.0),
                    MessageState.DELIVERED, 0, 1_767_225_601.0, (3, 7), "hello")
    unusual = Receipt(usual.message, MessageState.DELIVERED, 0, 1_767_225_601.0, mangle_id="decimal")
    late = Receipt(usual.message, MessageState.DELIVERED, 0, float("inf"))
    # No quote of its own: one quoting plain GSM text as it is, one whose text the Python twin decodes.
    plain = Receipt(Message("ab12", "acct", "smpp", "12345", "447700900001", 0, b"Your code is 123456",
                            1_767_225_600.0), MessageState.DELIVERED, 0, 1_767_225_601.0)
    decoded = Receipt(Message("ab12", "acct", "smpp", "12345", "447700900001", 8, "héllo".encode("utf-16-be"),
                              1_767_225_600.0), MessageState.DELIVERED, 0, 1_767_225_601.0)

    def exercise(rounds: int) -> None:
        for _ in range(rounds):
            SPEEDUPS.decode_short_message(SubmitSm, 0, 1, submit, 16)
            SPEEDUPS.decode_message_id_resp(SubmitSmResp, 0, 1, response, 16)
            with pytest.raises(PduError):
                SPEEDUPS.decode_short_message(SubmitSm, 0, 1, bad_tlv, 16)
            SPEEDUPS.receipt_deliver_sm_body(usual, config, legacy=False)
            SPEEDUPS.receipt_deliver_sm_body(unusual, config, legacy=False)
            SPEEDUPS.receipt_deliver_sm_body(plain, config, legacy=False)
            SPEEDUPS.receipt_deliver_sm_body(decoded, config, legacy=False)
            with pytest.raises(SmppTimeError):
                SPEEDUPS.receipt_deliver_sm_body(late, config, legacy=True)

    payload_refs = sys.getrefcount(plain.message.payload)  # held by its message: a leaked reference grows no memory
    assert memory_grown(exercise) < LEAK_BOUND
    payload_refs_after = sys.getrefcount(plain.message.payload)  # (not inside the assert: pytest's rewrite holds one)
    assert payload_refs_after == payload_refs


# ---------------------------------------------------------------- the session's per-PDU work

def _python_session_class():
    """Session on the pure-Python core, alongside the compiled one in this process."""
    namespace = {name: value for name, value in vars(session_module.Session).items()
                 if name not in ("__dict__", "__weakref__")}
    return type("PythonSession", (session_module.PythonSessionCore,), namespace)


PythonSession = _python_session_class()


def _normal(value):
    """Events and PDUs as plain data (exceptions by their type, status and text), to compare the twins."""
    if isinstance(value, BaseException):
        return (type(value).__name__, getattr(value, "status", None), str(value))
    if isinstance(value, msgspec.Struct):
        return (type(value).__name__, *(_normal(getattr(value, f)) for f in value.__struct_fields__))
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, Enum):
        return value.name
    return value


def _submit(sequence: int, text: bytes = b"hi", destination: str = "447700900001") -> bytes:
    return encode(SubmitSm(sequence_number=sequence, source_addr="12345", destination_addr=destination,
                           short_message=text, registered_delivery=1))


def _framed(body: bytes, command_id: int = 0x00000004, sequence: int = 3) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


_CHUNKS = st.one_of(
    st.builds(_submit, st.integers(1, 40), st.binary(max_size=20), st.sampled_from(["447700900001", "Acme"])),
    st.builds(lambda seq, cut: _framed(_submit(seq)[16:-cut]), st.integers(1, 40), st.integers(1, 30)),  # cut short
    st.builds(lambda seq, status: encode(DeliverSmResp(sequence_number=seq, command_status=status)),
              st.integers(1, 12), st.sampled_from([0, 0, 0x08])),
    st.builds(lambda seq: struct.pack(">IIII", 17, 0x80000005, 0, seq) + b"\0", st.integers(1, 12)),  # body "\0"
    st.builds(lambda seq: encode(EnquireLink(sequence_number=seq)), st.integers(1, 40)),
    st.builds(lambda seq: encode(QuerySm(sequence_number=seq, message_id="ab")), st.integers(1, 40)),
    st.just(encode(Unbind(sequence_number=99))),
    st.binary(min_size=1, max_size=24),  # garbage, bad lengths among it
    st.builds(lambda n: struct.pack(">IIII", n, 4, 0, 7), st.integers(0, 15)),  # command_length too short
)

_SESSION_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("feed"), st.lists(_CHUNKS, max_size=4), st.integers(0, 60)),  # bytes, split at
        st.tuples(st.just("answer"), st.integers(0, 5)),  # respond_with_id to the n-th request still owed
        st.tuples(st.just("receipt"), st.binary(max_size=30)),  # send_encoded a deliver_sm body
        st.tuples(st.just("window"), st.sampled_from([0, 1, 2, 10])),
    ),
    max_size=25,
)


def _play_session(cls, bind_command: int, steps: list[tuple]) -> list:
    session = cls(SessionConfig(max_pdu=200))
    seen: list = []
    owed: list[int] = []

    def drain() -> None:
        while (event := session.next_event()) is not None:
            seen.append(_normal(event))
            if isinstance(event, session_module.BindRequested):
                session.accept_bind("acme")
            elif isinstance(event, session_module.RequestReceived):
                owed.append(event.pdu.sequence_number)

    session.feed(bind_pdu(bind_command, 1, "acme", "pw"))
    drain()
    for step in steps:
        try:
            if step[0] == "feed":
                data = b"".join(step[1])
                session.feed(data[: step[2]])
                drain()
                session.feed(data[step[2]:])
                drain()
            elif step[0] == "answer":
                if step[1] < len(owed):
                    session.respond_with_id(0x80000004, owed.pop(step[1]), f"id{step[1]}")
            elif step[0] == "receipt":
                seen.append(("sequence", session.send_encoded(0x00000005, step[1], "context")))
            else:
                session.window = step[1]
        except (LocalProtocolError, UnicodeError) as error:
            seen.append(_normal(error))
        seen.append((session.state.name, session.data_to_send(), session.pdus_received, session.window_in_use,
                     session.outstanding_requests, session.has_partial))
    return seen


@compiled
@settings(max_examples=500, deadline=None)
@given(bind_command=st.sampled_from([0x00000002, 0x00000009, 0x00000001]), steps=_SESSION_STEPS)
def test_the_compiled_session_core_behaves_as_its_python_twin(bind_command: int, steps: list[tuple]):
    assert session_module.Session.__mro__[1] is SPEEDUPS.SessionCore
    assert (_play_session(session_module.Session, bind_command, steps)
            == _play_session(PythonSession, bind_command, steps))


@compiled
def test_the_compiled_session_core_leaks_nothing():
    def exercise(rounds: int) -> None:
        session = session_module.Session()
        session.feed(bind_pdu(0x00000009, 1, "acme", "pw"))
        session.next_event()
        session.accept_bind("acme")
        for round_ in range(rounds):
            sequence = round_ % 1000 + 2
            session.feed(_submit(sequence) + b"\0\0\0\x10\0\0\0\x15\0\0\0\0\0\0\0\x03")  # + enquire_link
            event = session.next_event()
            session.respond_with_id(0x80000004, event.pdu.sequence_number, "abc123")
            session.next_event()
            ours = session.send_encoded(0x00000005, b"body", None)
            session.feed(encode(DeliverSmResp(sequence_number=ours)))
            session.next_event()
            session.data_to_send()

    assert memory_grown(exercise) < LEAK_BOUND
