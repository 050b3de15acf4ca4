"""Encode and decode SMPP PDUs: bytes in, typed PDUs out, and typed errors for malformed input."""

from __future__ import annotations

from dataclasses import dataclass
from struct import Struct
from typing import Any

from simulator.speedups import load

from .pdu import (
    COMMAND_NAMES,
    REGISTRY,
    RESPONSE_BIT,
    CommandId,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    Destination,
    F,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    UnsuccessSme,
)
from .status import Status
from .tlv import FIXED_LENGTH, TLV_SPECS, Kind, NetworkErrorCode, TlvValue

SPEEDUPS = load("simulator.smpp._speedups")
HEADER = Struct(">IIII")
HEADER_SIZE = 16
_U16 = Struct(">H")
_U32 = Struct(">I")
_TLV_HEAD = Struct(">HH")
# 64 KiB of message_payload plus every mandatory field fits well within this.
DEFAULT_MAX_PDU = 70_000


class PduError(Exception):
    """A PDU that cannot be accepted. `status` is what the peer should be answered with.

    `command_id` and `sequence_number` are known whenever the header could be read, so the answer
    can be the command's own response or a generic_nack carrying the right sequence number.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        *,
        command_id: int | None = None,
        sequence_number: int = 0,
        field: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.field = field

    def __str__(self) -> str:
        where = f" in {self.field}" if self.field else ""
        command = COMMAND_NAMES.get(self.command_id, hex(self.command_id)) if self.command_id else "PDU"
        return f"{command}{where}: {self.reason} (status 0x{self.status:02X})"


class UnknownCommand(PduError):
    """The command_id is not an SMPP command: answer generic_nack ESME_RINVCMDID."""


class BadCommandLength(PduError):
    """The command_length is below 16, above the maximum or disagrees with the body."""


@dataclass(frozen=True, slots=True)
class Leniency:
    """Which oversize C-octet strings we accept from peers, and up to how many octets.

    Many providers issue passwords longer than SMPP 3.4's 8 characters, and some clients send
    a longer system_type or address_range, so by default these are accepted up to 64 octets.
    What we encode is always checked against the strict limits.
    """

    fields: frozenset[str] = frozenset({"password", "system_type", "address_range"})
    max_length: int = 65

    def limit(self, spec: F) -> int:
        if spec.name in self.fields:
            return max(spec.max_length, self.max_length)
        return spec.max_length


STRICT = Leniency(fields=frozenset(), max_length=0)
DEFAULT_LENIENCY = Leniency()


# --------------------------------------------------------------------------- encoding


def encode(pdu: Pdu, *, omit_body: bool = False) -> bytes:
    """Encode a PDU. Raises ValueError if a field breaks an SMPP limit: we never send invalid PDUs."""
    if omit_body or (pdu.command_status and pdu.OMITS_BODY_ON_ERROR and _all_default(pdu)):
        body = b""
    else:
        fast = _FAST_ENCODERS.get(pdu.__class__)
        body = fast(pdu) if fast is not None else encode_body(pdu)
    return HEADER.pack(HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number) + body


# The hot path (submit_sm in, submit_sm_resp and receipts out, deliver_sm_resp in) has hand-written
# codecs: the table-driven ones cost several times more per PDU. Each must agree exactly with the
# table-driven one (tests/smpp/test_codec.py checks both on the same inputs).


def _cstr_bytes(value: str, max_length: int, name: str) -> bytes:
    raw = value.encode("latin-1")
    if len(raw) >= max_length or b"\0" in raw:
        raise ValueError(f"{name} must be at most {max_length - 1} octets without NUL")
    return raw


def _encode_message_id_body(pdu: Any) -> bytes:
    body = _cstr_bytes(pdu.message_id, 65, "message_id") + b"\0"
    if pdu.tlvs:
        body += b"".join([encode_tlv(tag, value) for tag, value in pdu.tlvs.items()])
    return body


def _encode_short_message_body(pdu: Any) -> bytes:
    sm = pdu.short_message
    if len(sm) > 254:
        raise ValueError(f"short_message is {len(sm)} octets; at most 254 (use message_payload)")
    schedule, validity = pdu.schedule_delivery_time, pdu.validity_period
    if len(schedule) not in (0, 16) or len(validity) not in (0, 16):
        raise ValueError("schedule_delivery_time and validity_period must be empty or 16 characters")
    body = b"".join((
        _cstr_bytes(pdu.service_type, 6, "service_type"), b"\0",
        bytes((pdu.source_addr_ton, pdu.source_addr_npi)),
        _cstr_bytes(pdu.source_addr, 21, "source_addr"), b"\0",
        bytes((pdu.dest_addr_ton, pdu.dest_addr_npi)),
        _cstr_bytes(pdu.destination_addr, 21, "destination_addr"), b"\0",
        bytes((pdu.esm_class, pdu.protocol_id, pdu.priority_flag)),
        _cstr_bytes(schedule, 17, "schedule_delivery_time"), b"\0",
        _cstr_bytes(validity, 17, "validity_period"), b"\0",
        bytes((pdu.registered_delivery, pdu.replace_if_present_flag, pdu.data_coding, pdu.sm_default_msg_id,
               len(sm))),
        sm,
    ))
    if pdu.tlvs:
        body += b"".join([encode_tlv(tag, value) for tag, value in pdu.tlvs.items()])
    return body


def _decode_short_message(cls: type, status: int, sequence: int, data: bytes, pos: int) -> Pdu | None:
    """submit_sm / deliver_sm; None if anything is unusual, so the table-driven decoder explains it."""
    end = len(data)
    find = data.find
    nul = find(b"\0", pos, pos + 6)
    if nul < 0:
        return None
    service_type = data[pos:nul].decode("latin-1")
    pos = nul + 3
    if pos > end:
        return None
    source_ton, source_npi = data[nul + 1], data[nul + 2]
    nul = find(b"\0", pos, pos + 21)
    if nul < 0:
        return None
    source = data[pos:nul].decode("latin-1")
    pos = nul + 3
    if pos > end:
        return None
    dest_ton, dest_npi = data[nul + 1], data[nul + 2]
    nul = find(b"\0", pos, pos + 21)
    if nul < 0 or nul + 4 > end:
        return None
    destination = data[pos:nul].decode("latin-1")
    esm_class, protocol_id, priority = data[nul + 1], data[nul + 2], data[nul + 3]
    pos = nul + 4
    nul = find(b"\0", pos, pos + 17)
    if nul < 0 or nul - pos not in (0, 16):
        return None
    schedule = data[pos:nul].decode("latin-1") if nul > pos else ""
    pos = nul + 1
    nul = find(b"\0", pos, pos + 17)
    if nul < 0 or nul - pos not in (0, 16):
        return None
    validity = data[pos:nul].decode("latin-1") if nul > pos else ""
    pos = nul + 6
    if pos > end:
        return None
    registered, replace, coding, default_id, sm_length = data[nul + 1 : pos]
    if pos + sm_length > end:
        return None
    short_message = data[pos : pos + sm_length]
    pos += sm_length
    tlvs = decode_tlvs(data, pos, end) if pos < end else {}
    # Positional, in _ShortMessage's field order: keyword arguments would cost a microsecond per PDU.
    return cls(sequence, status, tlvs, service_type, source_ton, source_npi, source, esm_class, protocol_id, priority,
               schedule, validity, registered, replace, coding, default_id, short_message, dest_ton, dest_npi,
               destination)


def _decode_message_id_resp(cls: type, status: int, sequence: int, data: bytes, pos: int) -> Pdu | None:
    nul = data.find(b"\0", pos, pos + 65)
    if nul < 0:
        return None
    end = len(data)
    tlvs = decode_tlvs(data, nul + 1, end) if nul + 1 < end else {}
    return cls(sequence, status, tlvs, data[pos:nul].decode("latin-1"))  # positional: field order


def _all_default(pdu: Pdu) -> bool:
    return all(not getattr(pdu, spec.name) for spec in pdu.BODY) and not pdu.tlvs


def encode_body(pdu: Pdu) -> bytes:
    out = bytearray()
    for spec in pdu.BODY:
        value = getattr(pdu, spec.name)
        kind = spec.kind
        if kind == "cstr":
            _put_cstr(out, value, spec)
        elif kind == "int8":
            _put_int8(out, value, spec.name)
        elif kind == "sm":
            if len(value) > spec.max_length:
                raise ValueError(f"short_message is {len(value)} octets; at most {spec.max_length} (use message_payload)")
            out.append(len(value))
            out += value
        elif kind == "dests":
            if not 0 < len(value) <= spec.max_length:
                raise ValueError(f"submit_multi needs 1-{spec.max_length} destinations, got {len(value)}")
            out.append(len(value))
            for dest in value:
                _put_int8(out, dest.dest_flag, "dest_flag")
                if dest.dest_flag == 1:
                    _put_int8(out, dest.ton, "dest_addr_ton")
                    _put_int8(out, dest.npi, "dest_addr_npi")
                    _put_cstr(out, dest.address, F("destination_addr", "cstr", 21))
                elif dest.dest_flag == 2:
                    _put_cstr(out, dest.address, F("dl_name", "cstr", 21))
                else:
                    raise ValueError(f"dest_flag must be 1 or 2, got {dest.dest_flag}")
        elif kind == "unsuccess":
            if len(value) > spec.max_length:
                raise ValueError(f"unsuccess_sme holds at most {spec.max_length} entries")
            out.append(len(value))
            for sme in value:
                _put_int8(out, sme.ton, "dest_addr_ton")
                _put_int8(out, sme.npi, "dest_addr_npi")
                _put_cstr(out, sme.address, F("destination_addr", "cstr", 21))
                out += _U32.pack(sme.error_status)
    for tag, value in pdu.tlvs.items():
        out += encode_tlv(tag, value)
    return bytes(out)


def _put_cstr(out: bytearray, value: str, spec: F) -> None:
    raw = value.encode("latin-1")
    if len(raw) >= spec.max_length:
        raise ValueError(f"{spec.name} is {len(raw)} octets; at most {spec.max_length - 1}")
    if b"\0" in raw:
        raise ValueError(f"{spec.name} contains a NUL octet")
    if spec.name in ("schedule_delivery_time", "validity_period", "final_date") and len(raw) not in (0, 16):
        raise ValueError(f"{spec.name} must be empty or 16 characters (YYMMDDhhmmsstnnp)")
    out += raw
    out.append(0)


def _put_int8(out: bytearray, value: int, name: str) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must fit one octet, got {value}")
    out.append(value)


def encode_tlv(tag: int, value: TlvValue) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        spec = TLV_SPECS.get(tag)
        if spec is None:
            raise ValueError(f"TLV 0x{tag:04X} is unknown: give its value as bytes")
        raw = _tlv_value_bytes(spec.kind, value, spec.name)
        if not spec.min_length <= len(raw) <= spec.max_length:
            raise ValueError(f"TLV {spec.name} must be {spec.min_length}-{spec.max_length} octets")
    if len(raw) > 0xFFFF:
        raise ValueError(f"TLV 0x{tag:04X} value is longer than 65535 octets")
    return _TLV_HEAD.pack(tag, len(raw)) + raw


def _tlv_value_bytes(kind: Kind, value: Any, name: str) -> bytes:
    if kind is Kind.INT8:
        return bytes((value,))
    if kind is Kind.INT16:
        return _U16.pack(value)
    if kind is Kind.INT32:
        return _U32.pack(value)
    if kind is Kind.CSTRING:
        raw = str(value).encode("latin-1")
        if b"\0" in raw:
            raise ValueError(f"TLV {name} contains a NUL octet")
        return raw + b"\0"
    if kind is Kind.NETWORK_ERROR:
        network_type, error_code = value
        return bytes((network_type,)) + _U16.pack(error_code)
    raise ValueError(f"TLV {name} takes bytes")


# --------------------------------------------------------------------------- decoding


def peek_header(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of the PDU at offset."""
    return HEADER.unpack_from(data, offset)


def decode(data: bytes, *, leniency: Leniency = DEFAULT_LENIENCY) -> Pdu:
    """Decode exactly one whole PDU (header included). Raises a PduError subclass if malformed."""
    if len(data) < HEADER_SIZE:
        raise BadCommandLength(Status.ESME_RINVCMDLEN, f"{len(data)} octets is shorter than a PDU header")
    length, command_id, status, sequence = HEADER.unpack_from(data, 0)
    if length != len(data):
        raise BadCommandLength(
            Status.ESME_RINVCMDLEN,
            f"command_length {length} but {len(data)} octets given",
            command_id=command_id,
            sequence_number=sequence,
        )
    return decode_body(command_id, status, sequence, data, HEADER_SIZE, leniency)


def decode_body(
    command_id: int,
    status: int,
    sequence: int,
    data: bytes,
    start: int,
    leniency: Leniency = DEFAULT_LENIENCY,
    *,
    fast: bool = True,
) -> Pdu:
    cls = REGISTRY.get(command_id)
    if cls is None:
        raise UnknownCommand(
            Status.ESME_RINVCMDID, f"unknown command_id 0x{command_id:08X}", command_id=command_id, sequence_number=sequence
        )
    end = len(data)
    fast_decoder = _FAST_DECODERS.get(command_id) if fast else None
    if fast_decoder is not None and start < end:
        try:
            pdu = fast_decoder(cls, status, sequence, data, start)
        except PduError:
            pdu = None  # the table-driven decoder below reports it with the command and sequence
        if pdu is not None:
            return pdu
    values: dict[str, Any] = {}
    pos = start
    is_response = bool(command_id & RESPONSE_BIT)
    if is_response and pos == end:
        # Responses with an error status may omit their body (SMPP 3.4 4.4.2; some carriers always do).
        return cls(sequence_number=sequence, command_status=status)
    try:
        for spec in cls.BODY:
            kind = spec.kind
            if kind == "cstr":
                values[spec.name], pos = _get_cstr(data, pos, end, spec, leniency)
            elif kind == "int8":
                if pos >= end:
                    raise _short(spec)
                values[spec.name] = data[pos]
                pos += 1
            elif kind == "sm":
                if pos >= end:
                    raise _short(spec)
                sm_length = data[pos]
                pos += 1
                if pos + sm_length > end:
                    raise PduError(Status.ESME_RINVMSGLEN, f"sm_length {sm_length} runs past the PDU", field=spec.name)
                values[spec.name] = bytes(data[pos : pos + sm_length])
                pos += sm_length
            elif kind == "dests":
                values[spec.name], pos = _get_dests(data, pos, end, leniency)
            elif kind == "unsuccess":
                values[spec.name], pos = _get_unsuccess(data, pos, end, leniency)
        tlvs = decode_tlvs(data, pos, end) if pos < end else {}
    except PduError as error:
        error.command_id = command_id
        error.sequence_number = sequence
        raise
    return cls(sequence_number=sequence, command_status=status, tlvs=tlvs, **values)


def _short(spec: F) -> PduError:
    return PduError(Status.ESME_RINVCMDLEN, "the PDU ends before this mandatory field", field=spec.name)


def _get_cstr(data: bytes, pos: int, end: int, spec: F, leniency: Leniency) -> tuple[str, int]:
    limit = leniency.limit(spec)
    nul = data.find(b"\0", pos, min(end, pos + limit))
    if nul < 0:
        if data.find(b"\0", pos, end) < 0:
            raise PduError(spec.status if spec.status != 0x08 else Status.ESME_RINVCMDLEN,
                           "C-octet string is not NUL-terminated within the PDU", field=spec.name)
        raise PduError(spec.status, f"longer than {limit - 1} characters", field=spec.name)
    value = data[pos:nul].decode("latin-1")
    if spec.name in ("schedule_delivery_time", "validity_period") and len(value) not in (0, 16):
        raise PduError(spec.status, "must be empty or 16 characters (YYMMDDhhmmsstnnp)", field=spec.name)
    return value, nul + 1


def _get_dests(data: bytes, pos: int, end: int, leniency: Leniency) -> tuple[tuple[Destination, ...], int]:
    if pos >= end:
        raise PduError(Status.ESME_RINVCMDLEN, "the PDU ends before number_of_dests", field="number_of_dests")
    count = data[pos]
    pos += 1
    if count == 0:
        raise PduError(Status.ESME_RINVNUMDESTS, "number_of_dests is 0", field="number_of_dests")
    dests = []
    address_spec = F("destination_addr", "cstr", 21, Status.ESME_RINVDSTADR)
    dl_spec = F("dl_name", "cstr", 21, Status.ESME_RINVDLNAME)
    for _ in range(count):
        if pos >= end:
            raise PduError(Status.ESME_RINVNUMDESTS, "fewer destinations than number_of_dests", field="dest_address")
        flag = data[pos]
        pos += 1
        if flag == 1:
            if pos + 2 > end:
                raise PduError(Status.ESME_RINVCMDLEN, "truncated destination", field="dest_address")
            ton, npi = data[pos], data[pos + 1]
            address, pos = _get_cstr(data, pos + 2, end, address_spec, leniency)
            dests.append(Destination(1, ton, npi, address))
        elif flag == 2:
            name, pos = _get_cstr(data, pos, end, dl_spec, leniency)
            dests.append(Destination(2, 0, 0, name))
        else:
            raise PduError(Status.ESME_RINVDESTFLAG, f"dest_flag {flag} is neither 1 nor 2", field="dest_flag")
    return tuple(dests), pos


def _get_unsuccess(data: bytes, pos: int, end: int, leniency: Leniency) -> tuple[tuple[UnsuccessSme, ...], int]:
    if pos >= end:
        return (), pos
    count = data[pos]
    pos += 1
    spec = F("destination_addr", "cstr", 21, Status.ESME_RINVDSTADR)
    entries = []
    for _ in range(count):
        if pos + 2 > end:
            raise PduError(Status.ESME_RINVCMDLEN, "truncated unsuccess_sme entry", field="unsuccess_sme")
        ton, npi = data[pos], data[pos + 1]
        address, pos = _get_cstr(data, pos + 2, end, spec, leniency)
        if pos + 4 > end:
            raise PduError(Status.ESME_RINVCMDLEN, "truncated unsuccess_sme entry", field="unsuccess_sme")
        (error_status,) = _U32.unpack_from(data, pos)
        pos += 4
        entries.append(UnsuccessSme(ton, npi, address, error_status))
    return tuple(entries), pos


def decode_tlvs(data: bytes, pos: int, end: int) -> dict[int, TlvValue]:
    """Decode the optional part. Known tags get typed values; unknown ones stay as raw bytes."""
    tlvs: dict[int, TlvValue] = {}
    while pos < end:
        if pos + 4 > end:
            raise PduError(Status.ESME_RINVOPTPARSTREAM, "a TLV header is cut short", field="tlv")
        tag, length = _TLV_HEAD.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise PduError(Status.ESME_RINVOPTPARSTREAM, f"TLV 0x{tag:04X} length {length} runs past the PDU", field="tlv")
        raw = bytes(data[pos : pos + length])
        pos += length
        tlvs[tag] = _typed_tlv(tag, raw)
    return tlvs


def _typed_tlv(tag: int, raw: bytes) -> TlvValue:
    spec = TLV_SPECS.get(tag)
    if spec is None:
        return raw
    kind = spec.kind
    fixed = FIXED_LENGTH.get(kind)
    if fixed is not None:
        if len(raw) != fixed:
            return raw  # wrong size for its type: keep it byte-exact rather than guess
        if kind is Kind.INT8:
            return raw[0]
        if kind is Kind.INT16:
            return _U16.unpack(raw)[0]
        if kind is Kind.INT32:
            return _U32.unpack(raw)[0]
        return NetworkErrorCode(raw[0], _U16.unpack_from(raw, 1)[0])
    if kind is Kind.CSTRING:
        if raw.endswith(b"\0") and raw.count(b"\0") == 1:
            return raw[:-1].decode("latin-1")
        return raw
    return raw


_FAST_ENCODERS: dict[type, Any] = {
    SubmitSmResp: _encode_message_id_body, DeliverSmResp: _encode_message_id_body, DataSmResp: _encode_message_id_body,
    SubmitSm: _encode_short_message_body, DeliverSm: _encode_short_message_body,
}
if SPEEDUPS is not None:
    SPEEDUPS.configure_decoders(decode_tlvs)
    # The same decoders, compiled (tests check each pair on the same bytes).
    decode_short_message, decode_message_id_resp = SPEEDUPS.decode_short_message, SPEEDUPS.decode_message_id_resp
else:
    decode_short_message, decode_message_id_resp = _decode_short_message, _decode_message_id_resp
_FAST_DECODERS: dict[int, Any] = {
    CommandId.SUBMIT_SM: decode_short_message, CommandId.DELIVER_SM: decode_short_message,
    CommandId.SUBMIT_SM_RESP: decode_message_id_resp, CommandId.DELIVER_SM_RESP: decode_message_id_resp,
    CommandId.DATA_SM_RESP: decode_message_id_resp,
}
