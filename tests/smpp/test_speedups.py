"""The compiled codec primitives do exactly what their pure-Python twins do, and leak nothing."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import ReceiptFormatConfig
from simulator.core.records import Message, MessageState, Receipt
from simulator.smpp import codec, deliveries
from simulator.smpp.codec import SPEEDUPS, PduError, encode
from simulator.smpp.pdu import DeliverSm, DeliverSmResp, SubmitSm, SubmitSmResp
from simulator.smpp.times import SmppTimeError

from ..test_speedups import REQUIRED
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


@st.composite
def receipts(draw) -> Receipt:
    message = Message(
        draw(st.text("0123456789abcdef", min_size=1, max_size=70) | st.text(text_chars, max_size=8)), "acct",
        "smpp", draw(st.text(text_chars, max_size=24)), draw(st.text(text_chars, max_size=24)), 0, b"",
        draw(epochs | st.integers(946_684_800, 1_000_000_000)),
    )
    return Receipt(
        message, draw(st.sampled_from(list(MessageState))), draw(st.integers(-2, 1200)), draw(epochs),
        draw(st.none() | st.tuples(st.integers(-1, 256), st.integers(-1, 0x10000))), draw(st.text(text_chars, max_size=30)),
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

    def exercise(rounds: int) -> None:
        for _ in range(rounds):
            SPEEDUPS.decode_short_message(SubmitSm, 0, 1, submit, 16)
            SPEEDUPS.decode_message_id_resp(SubmitSmResp, 0, 1, response, 16)
            with pytest.raises(PduError):
                SPEEDUPS.decode_short_message(SubmitSm, 0, 1, bad_tlv, 16)
            SPEEDUPS.receipt_deliver_sm_body(usual, config, legacy=False)
            SPEEDUPS.receipt_deliver_sm_body(unusual, config, legacy=False)
            with pytest.raises(SmppTimeError):
                SPEEDUPS.receipt_deliver_sm_body(late, config, legacy=True)

    exercise(2_000)  # warm up caches (interned strings, small ints)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        exercise(20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # One leaked object per call would be well over a megabyte here.
    assert grown < 64 * 1024
