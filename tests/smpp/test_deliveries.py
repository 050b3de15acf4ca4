"""The receipt hot path: deliver_sm bodies built straight from a receipt match the general PDU encoder exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import ReceiptFormatConfig
from simulator.core.records import Message, MessageState, Receipt
from simulator.smpp import deliveries
from simulator.smpp.codec import HEADER, HEADER_SIZE, decode, encode
from simulator.smpp.pdu import CommandId, DeliverSm
from simulator.smpp.receipts import parse_receipt
from simulator.smpp.text import GSM_SAME_AS_ASCII
from simulator.smpp.tlv import Tag

addresses = st.text(st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=24)
texts = st.text(max_size=40)
epochs = st.floats(min_value=946_684_800, max_value=4_102_444_000, allow_nan=False)


# A receipt with no quote of its own quotes its message: plain GSM text (copied as it is by the
# compiled body), any octets, and other codings.
payloads = st.binary(max_size=100) | st.lists(st.sampled_from(GSM_SAME_AS_ASCII), max_size=60).map(bytes)
codings = st.sampled_from([0, 0, 0, 1, 3, 8])


@st.composite
def receipts(draw) -> Receipt:
    message = Message(
        id=draw(st.text("0123456789abcdef", min_size=1, max_size=64)),
        system_id="acct", channel="smpp", source=draw(addresses), destination=draw(addresses),
        data_coding=draw(codings), payload=draw(payloads), submitted_at=draw(epochs),
    )
    return Receipt(
        message=message, state=draw(st.sampled_from(list(MessageState))), error=draw(st.integers(0, 1200)),
        done_at=draw(epochs), network_error=draw(st.none() | st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF))),
        quote=draw(st.none() | texts), submitted_parts=draw(st.integers(0, 1500)), intermediate=draw(st.booleans()),
    )


configs = st.builds(ReceiptFormatConfig, date_seconds=st.booleans(), text_label=st.sampled_from(["text", "Text"]))


@settings(max_examples=400)
@given(receipt=receipts(), config=configs, legacy=st.booleans())
def test_fast_body_is_what_the_general_encoder_writes(receipt: Receipt, config: ReceiptFormatConfig, legacy: bool):
    body = deliveries.receipt_deliver_sm_body(receipt, config, legacy=legacy)
    pdu = deliveries.build_receipt(receipt, config, legacy=legacy)
    if legacy:
        pdu.tlvs = {}  # what the session strips before encoding for an SMPP 3.3 bind
    assert body is not None
    assert body == encode(pdu)[HEADER_SIZE:]


def test_fast_body_decodes_as_a_receipt_with_its_tlvs():
    message = Message(id="1a2b3c", system_id="acct", channel="smpp", source="12345", destination="447700900001",
                      data_coding=0, payload=b"hello", submitted_at=1_767_225_600.0)
    receipt = Receipt(message=message, state=MessageState.DELIVERED, error=0, done_at=1_767_225_602.0,
                      network_error=(3, 7))
    body = deliveries.receipt_deliver_sm_body(receipt, ReceiptFormatConfig(), legacy=False)
    assert body is not None
    pdu = decode(HEADER.pack(HEADER_SIZE + len(body), CommandId.DELIVER_SM, 0, 9) + body)
    assert isinstance(pdu, DeliverSm) and pdu.command_id == CommandId.DELIVER_SM
    assert (pdu.source_addr, pdu.destination_addr, pdu.esm_class) == ("447700900001", "12345", 0x04)
    assert pdu.tlvs[Tag.RECEIPTED_MESSAGE_ID] == "1a2b3c"
    assert pdu.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
    assert pdu.tlvs[Tag.NETWORK_ERROR_CODE] == (3, 7)
    parsed = parse_receipt(pdu.short_message.decode("ascii"))
    assert parsed is not None and (parsed.id, parsed.stat, parsed.text) == ("1a2b3c", "DELIVRD", "hello")


def _receipt(**changes) -> Receipt:
    message = Message(id=changes.pop("id", "ff01"), system_id="acct", channel="http",
                      source=changes.pop("source", "Acme"), destination="447700900001", data_coding=0,
                      payload=b"", submitted_at=1_767_225_600.0)
    return Receipt(message=message, state=MessageState.DELIVERED, error=0, done_at=1_767_225_601.0, **changes)


def test_unusual_receipts_go_the_general_way():
    config = ReceiptFormatConfig()
    assert deliveries.receipt_deliver_sm_body(_receipt(mangle_id="decimal"), config, legacy=False) is None
    assert deliveries.receipt_deliver_sm_body(_receipt(source="Café"), config, legacy=False) is None
    assert deliveries.receipt_deliver_sm_body(_receipt(network_error=(1, 70_000)), config, legacy=False) is None
    assert deliveries.receipt_deliver_sm_body(_receipt(), ReceiptFormatConfig(id_format="decimal"), legacy=False) is None
    assert deliveries.receipt_deliver_sm_body(_receipt(), ReceiptFormatConfig(command="data_sm"), legacy=False) is None
    assert deliveries.receipt_deliver_sm_body(_receipt(), config, legacy=False) is not None
