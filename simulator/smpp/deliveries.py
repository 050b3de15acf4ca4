"""Turn the carrier's receipts and inbound messages into the deliver_sm / data_sm PDUs an account receives."""

from __future__ import annotations

import functools
import struct

from simulator.config import ReceiptFormatConfig
from simulator.core.records import Inbound, MessageState, Receipt

from .codec import SPEEDUPS
from .pdu import DataSm, DeliverSm, Pdu
from .receipts import RECEIPT_TEXT, ReceiptFormat, format_receipt, render_id, stat_word
from .text import GSM_SAME_AS_ASCII, UDHI
from .times import format_receipt_date
from .tlv import Tag

ESM_RECEIPT = 0x04  # SMSC delivery receipt
ESM_INTERMEDIATE = 0x20  # intermediate delivery notification (registered_delivery bit 4)

def receipt_format(config: ReceiptFormatConfig) -> ReceiptFormat:
    # Keyed by value, not by the config object: accounts' configs are replaced at run time.
    return _receipt_format(config.id_format, config.date_seconds, config.text_label, config.per_segment)


@functools.lru_cache(maxsize=64)
def _receipt_format(id_format: str, date_seconds: bool, text_label: str, per_segment: bool) -> ReceiptFormat:
    return ReceiptFormat(id_format=id_format, date_seconds=date_seconds, text_label=text_label,  # type: ignore[arg-type]
                         per_segment=per_segment)


def receipt_id(receipt: Receipt, fmt: ReceiptFormat) -> str:
    """The id the receipt carries: the account's rendering, or a scenario's deliberately wrong one."""
    real = receipt.message.id
    mangle = receipt.mangle_id
    if mangle is None:
        return render_id(real, fmt)
    if mangle == "decimal":
        return str(int(real, 16)) if _is_hex(real) else real
    if mangle == "hex":
        return format(int(real), "x") if real.isdigit() else real
    if mangle == "uppercase":
        return real.upper()
    return real[:-1] + ("0" if real[-1:] != "0" else "1")  # mismatch: an id that was never issued


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def build_receipt(receipt: Receipt, config: ReceiptFormatConfig, *, legacy: bool) -> Pdu:
    message = receipt.message
    fmt = receipt_format(config)
    # A hex id needs no rendering: the common case skips render_id's parsing.
    rendered_id = message.id if receipt.mangle_id is None and fmt.id_format == "hex" else receipt_id(receipt, fmt)
    text = format_receipt(
        message_id=rendered_id if receipt.mangle_id else message.id,
        state=receipt.state, error=receipt.error, submit_date=message.submitted_at, done_date=receipt.done_at,
        text=receipt.text, submitted=receipt.submitted_parts, fmt=fmt,
    )
    if receipt.mangle_id:
        # format_receipt renders ids itself; a mangled id must go out exactly as mangled.
        text = "id:" + rendered_id + text[text.index(" sub:"):]
    cls = DataSm if config.command == "data_sm" else DeliverSm
    pdu = cls(
        source_addr=message.destination[:20], destination_addr=message.source[:20],
        esm_class=ESM_INTERMEDIATE if receipt.intermediate else ESM_RECEIPT, data_coding=0,
    )
    raw = text.encode("ascii", "replace")
    if not legacy:
        pdu.tlvs[Tag.RECEIPTED_MESSAGE_ID] = rendered_id
        pdu.tlvs[Tag.MESSAGE_STATE] = int(receipt.state)
        if receipt.network_error is not None:
            pdu.tlvs[Tag.NETWORK_ERROR_CODE] = receipt.network_error
    if isinstance(pdu, DataSm):
        pdu.tlvs[Tag.MESSAGE_PAYLOAD] = raw
    else:
        pdu.short_message = raw[:254]
    return pdu


_QUOTE = ReceiptFormat()  # how much of the text a receipt quotes: not configurable per account
_STAT_WORDS = {state: stat_word(state) for state in MessageState}
_DELIVERED = {state: 1 if state.is_success else 0 for state in MessageState}
_OCTET = [bytes((n,)) for n in range(256)]
_TLV_HEAD = struct.Struct(">HH")
_MESSAGE_STATE_HEAD = _TLV_HEAD.pack(Tag.MESSAGE_STATE, 1)
_NETWORK_ERROR = struct.Struct(">HHBH")


def python_receipt_deliver_sm_body(receipt: Receipt, config: ReceiptFormatConfig, *, legacy: bool) -> bytes | None:
    """The encoded body of `build_receipt()`'s deliver_sm, built straight from the receipt: the hot path.

    Byte for byte what `encode(build_receipt(...))` writes (tests check both on the same receipts).
    Only the common case is built here -- a deliver_sm, the real id in hex, ASCII addresses; anything
    else returns None and goes the general way, which also explains what is wrong with it.
    """
    if receipt.mangle_id is not None or config.command != "deliver_sm" or config.id_format != "hex":
        return None
    message = receipt.message
    message_id = message.id
    source = message.destination[:20]
    destination = message.source[:20]
    if not (source.isascii() and destination.isascii() and message_id.isascii()) or len(message_id) > 64:
        return None
    state = receipt.state
    error = receipt.error
    submitted = receipt.submitted_parts
    if error < 0 or submitted < 0:
        return None
    seconds = config.date_seconds
    text = RECEIPT_TEXT % (
        message_id, submitted, _DELIVERED[state], format_receipt_date(message.submitted_at, seconds=seconds),
        format_receipt_date(receipt.done_at, seconds=seconds), _STAT_WORDS[state], error, config.text_label,
        receipt.text[:_QUOTE.text_chars] or _QUOTE.empty_text,
    )
    short_message = text.encode("ascii", "replace")[:254]
    raw_source = source.encode("ascii")
    raw_destination = destination.encode("ascii")
    if b"\0" in raw_source or b"\0" in raw_destination:
        return None
    parts = [
        b"\0\0\0", raw_source, b"\0\0\0", raw_destination,
        b"\0\x20\0\0\0\0" if receipt.intermediate else b"\0\x04\0\0\0\0",  # esm_class, pid, priority, 2 empty times
        b"\0\0\0\0", _OCTET[len(short_message)], short_message,
    ]
    if not legacy:
        raw_id = message_id.encode("ascii")
        parts += (_TLV_HEAD.pack(Tag.RECEIPTED_MESSAGE_ID, len(raw_id) + 1), raw_id, b"\0",
                  _MESSAGE_STATE_HEAD, _OCTET[state])
        network_error = receipt.network_error
        if network_error is not None:
            network_type, error_code = network_error
            if not (0 <= network_type <= 0xFF and 0 <= error_code <= 0xFFFF):
                return None
            parts.append(_NETWORK_ERROR.pack(Tag.NETWORK_ERROR_CODE, 3, network_type, error_code))
    return b"".join(parts)


if SPEEDUPS is not None:
    _BY_VALUE = [MessageState(value) for value in range(len(MessageState))]  # the compiled body indexes by value
    SPEEDUPS.configure_receipts(
        python_twin=python_receipt_deliver_sm_body, stat_words=tuple(stat_word(state) for state in _BY_VALUE),
        delivered=tuple(_DELIVERED[state] for state in _BY_VALUE), quote_chars=_QUOTE.text_chars,
        empty_quote=_QUOTE.empty_text, gsm_as_ascii=GSM_SAME_AS_ASCII, tag_receipted_id=Tag.RECEIPTED_MESSAGE_ID,
        tag_message_state=Tag.MESSAGE_STATE, tag_network_error=Tag.NETWORK_ERROR_CODE,
    )
    # The same body, compiled: the common case in C, anything else handed to the Python twin above.
    receipt_deliver_sm_body = SPEEDUPS.receipt_deliver_sm_body
else:
    receipt_deliver_sm_body = python_receipt_deliver_sm_body


def build_inbound(inbound: Inbound, config: ReceiptFormatConfig) -> Pdu:
    message = inbound.message
    if config.command == "data_sm":
        pdu: Pdu = DataSm(
            source_addr=message.source[:64], destination_addr=message.destination[:64],
            esm_class=UDHI if inbound.udhi else 0, data_coding=message.data_coding,
        )
        pdu.tlvs[Tag.MESSAGE_PAYLOAD] = inbound.message_payload or inbound.short_message
    else:
        pdu = DeliverSm(
            source_addr=message.source[:20], destination_addr=message.destination[:20],
            esm_class=UDHI if inbound.udhi else 0, data_coding=message.data_coding,
            short_message=inbound.short_message,
        )
        if inbound.message_payload is not None:
            pdu.tlvs[Tag.MESSAGE_PAYLOAD] = inbound.message_payload
    if inbound.sar is not None:
        ref, total, seq = inbound.sar
        pdu.tlvs[Tag.SAR_MSG_REF_NUM] = ref
        pdu.tlvs[Tag.SAR_TOTAL_SEGMENTS] = total
        pdu.tlvs[Tag.SAR_SEGMENT_SEQNUM] = seq
    return pdu


def build(item: Receipt | Inbound, config: ReceiptFormatConfig, *, legacy: bool) -> Pdu:
    if isinstance(item, Receipt):
        return build_receipt(item, config, legacy=legacy)
    return build_inbound(item, config)
