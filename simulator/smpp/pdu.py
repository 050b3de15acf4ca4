"""SMPP PDUs as typed msgspec Structs, and the one registry from command_id to PDU class."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, NamedTuple

import msgspec

from .tlv import TlvValue, tag_of

RESPONSE_BIT = 0x80000000


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


class F(NamedTuple):
    """One mandatory body field: its name, wire kind, maximum size and the status a bad value earns."""

    name: str
    kind: str  # "cstr", "int8", "sm" (sm_length + short_message), "dests", "unsuccess"
    max_length: int = 0  # for cstr: octets including the NUL, as the specification counts them
    status: int = 0x08  # ESME_RSYSERR unless the field has a dedicated status


class Destination(NamedTuple):
    """One submit_multi destination: an SME address (dest_flag 1) or a distribution list (dest_flag 2)."""

    dest_flag: int = 1
    ton: int = 0
    npi: int = 0
    address: str = ""


class UnsuccessSme(NamedTuple):
    """One entry of submit_multi_resp's unsuccess_sme list."""

    ton: int = 0
    npi: int = 0
    address: str = ""
    error_status: int = 0


class Pdu(msgspec.Struct):
    """Header fields and TLVs shared by every PDU. TLVs map tag -> typed value (raw bytes if unknown).

    Build PDUs with keyword arguments. Most classes take nothing else; only the codec's hot path
    builds submit_sm, deliver_sm and the message-id responses positionally, in field order.
    """

    command_id: ClassVar[int] = 0
    BODY: ClassVar[tuple[F, ...]] = ()
    OMITS_BODY_ON_ERROR: ClassVar[bool] = False

    sequence_number: int = 0
    command_status: int = 0
    tlvs: dict[int, TlvValue] = msgspec.field(default_factory=dict)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command_id, f"0x{self.command_id:08X}")

    def tlv(self, name_or_tag: str | int, default: Any = None) -> Any:
        return self.tlvs.get(tag_of(name_or_tag), default)

    def set_tlv(self, name_or_tag: str | int, value: TlvValue) -> None:
        self.tlvs[tag_of(name_or_tag)] = value

    def response(self, status: int = 0, **fields: Any) -> Pdu:
        """The response PDU for this request, carrying its sequence_number."""
        response_cls = REGISTRY[self.command_id | RESPONSE_BIT]
        return response_cls(sequence_number=self.sequence_number, command_status=status, **fields)


# Field specs. Sizes are SMPP 3.4 section 4 maxima including the terminating NUL.
_ADDR21 = 21
SERVICE_TYPE = F("service_type", "cstr", 6, 0x15)
SRC_TON = F("source_addr_ton", "int8", status=0x48)
SRC_NPI = F("source_addr_npi", "int8", status=0x49)
DST_TON = F("dest_addr_ton", "int8", status=0x50)
DST_NPI = F("dest_addr_npi", "int8", status=0x51)
ESM_CLASS = F("esm_class", "int8", status=0x43)
PROTOCOL_ID = F("protocol_id", "int8")
PRIORITY = F("priority_flag", "int8", status=0x06)
SCHEDULE = F("schedule_delivery_time", "cstr", 17, 0x61)
VALIDITY = F("validity_period", "cstr", 17, 0x62)
REG_DLV = F("registered_delivery", "int8", status=0x07)
REPLACE_FLAG = F("replace_if_present_flag", "int8", status=0x54)
DATA_CODING = F("data_coding", "int8")
DEFAULT_MSG = F("sm_default_msg_id", "int8", status=0x63)
SHORT_MESSAGE = F("short_message", "sm", 254, 0x01)
MESSAGE_ID = F("message_id", "cstr", 65, 0x0C)


def _src(max_length: int = _ADDR21) -> F:
    return F("source_addr", "cstr", max_length, 0x0A)


def _dst(max_length: int = _ADDR21) -> F:
    return F("destination_addr", "cstr", max_length, 0x0B)


_BIND_BODY = (
    F("system_id", "cstr", 16, 0x0F),
    F("password", "cstr", 9, 0x0E),
    F("system_type", "cstr", 13, 0x53),
    F("interface_version", "int8", status=0x0D),
    F("addr_ton", "int8", status=0x0D),
    F("addr_npi", "int8", status=0x0D),
    F("address_range", "cstr", 41, 0x0D),
)
_SM_BODY = (
    SERVICE_TYPE, SRC_TON, SRC_NPI, _src(), DST_TON, DST_NPI, _dst(), ESM_CLASS, PROTOCOL_ID,
    PRIORITY, SCHEDULE, VALIDITY, REG_DLV, REPLACE_FLAG, DATA_CODING, DEFAULT_MSG, SHORT_MESSAGE,
)


class _Bind(Pdu, kw_only=True):
    BODY: ClassVar[tuple[F, ...]] = _BIND_BODY
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


class BindTransmitter(_Bind, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER


class BindReceiver(_Bind, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER


class BindTransceiver(_Bind, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER


class _BindResp(Pdu, kw_only=True):
    BODY: ClassVar[tuple[F, ...]] = (F("system_id", "cstr", 16, 0x0F),)
    OMITS_BODY_ON_ERROR: ClassVar[bool] = True
    system_id: str = ""


class BindTransmitterResp(_BindResp, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP


class BindReceiverResp(_BindResp, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP


class BindTransceiverResp(_BindResp, kw_only=True):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP


class Outbind(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.OUTBIND
    BODY: ClassVar[tuple[F, ...]] = (F("system_id", "cstr", 16, 0x0F), F("password", "cstr", 9, 0x0E))
    system_id: str = ""
    password: str = ""


class Unbind(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.UNBIND


class UnbindResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP


class GenericNack(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.GENERIC_NACK


class EnquireLink(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


class EnquireLinkResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


class _SubmitFields(Pdu):
    """The fields submit_sm, deliver_sm and submit_multi share (their BODY gives the wire order)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


class _ShortMessage(_SubmitFields):
    BODY: ClassVar[tuple[F, ...]] = _SM_BODY
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


class SubmitSm(_ShortMessage):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM


class DeliverSm(_ShortMessage):
    command_id: ClassVar[int] = CommandId.DELIVER_SM


class _MessageIdResp(Pdu):
    BODY: ClassVar[tuple[F, ...]] = (MESSAGE_ID,)
    message_id: str = ""


class SubmitSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP


class DeliverSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP


class DataSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.DATA_SM_RESP


class SubmitMulti(_SubmitFields, kw_only=True):
    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI
    BODY: ClassVar[tuple[F, ...]] = (
        SERVICE_TYPE, SRC_TON, SRC_NPI, _src(), F("dest_addresses", "dests", 255, 0x33), ESM_CLASS,
        PROTOCOL_ID, PRIORITY, SCHEDULE, VALIDITY, REG_DLV, REPLACE_FLAG, DATA_CODING, DEFAULT_MSG,
        SHORT_MESSAGE,
    )
    dest_addresses: tuple[Destination, ...] = ()


class SubmitMultiResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI_RESP
    BODY: ClassVar[tuple[F, ...]] = (MESSAGE_ID, F("unsuccess_sme", "unsuccess", 255))
    message_id: str = ""
    unsuccess_sme: tuple[UnsuccessSme, ...] = ()


class DataSm(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.DATA_SM
    BODY: ClassVar[tuple[F, ...]] = (
        SERVICE_TYPE, SRC_TON, SRC_NPI, _src(65), DST_TON, DST_NPI, _dst(65), ESM_CLASS, REG_DLV,
        DATA_CODING,
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


class QuerySm(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.QUERY_SM
    BODY: ClassVar[tuple[F, ...]] = (MESSAGE_ID, SRC_TON, SRC_NPI, _src())
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


class QuerySmResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.QUERY_SM_RESP
    BODY: ClassVar[tuple[F, ...]] = (
        MESSAGE_ID, F("final_date", "cstr", 17), F("message_state", "int8"), F("error_code", "int8"),
    )
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


class CancelSm(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.CANCEL_SM
    BODY: ClassVar[tuple[F, ...]] = (
        SERVICE_TYPE, MESSAGE_ID, SRC_TON, SRC_NPI, _src(), DST_TON, DST_NPI, _dst(),
    )
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


class CancelSmResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.CANCEL_SM_RESP


class ReplaceSm(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.REPLACE_SM
    BODY: ClassVar[tuple[F, ...]] = (
        MESSAGE_ID, SRC_TON, SRC_NPI, _src(), SCHEDULE, VALIDITY, REG_DLV, DEFAULT_MSG, SHORT_MESSAGE,
    )
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


class ReplaceSmResp(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.REPLACE_SM_RESP


class AlertNotification(Pdu, kw_only=True):
    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    BODY: ClassVar[tuple[F, ...]] = (
        SRC_TON, SRC_NPI, _src(65), F("esme_addr_ton", "int8"), F("esme_addr_npi", "int8"),
        F("esme_addr", "cstr", 65),
    )
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


PDU_CLASSES: tuple[type[Pdu], ...] = (
    GenericNack, BindReceiver, BindReceiverResp, BindTransmitter, BindTransmitterResp, QuerySm,
    QuerySmResp, SubmitSm, SubmitSmResp, DeliverSm, DeliverSmResp, Unbind, UnbindResp, ReplaceSm,
    ReplaceSmResp, CancelSm, CancelSmResp, BindTransceiver, BindTransceiverResp, Outbind, EnquireLink,
    EnquireLinkResp, SubmitMulti, SubmitMultiResp, AlertNotification, DataSm, DataSmResp,
)
REGISTRY: dict[int, type[Pdu]] = {cls.command_id: cls for cls in PDU_CLASSES}
COMMAND_NAMES: dict[int, str] = {int(c): c.name.lower() for c in CommandId}
BIND_CLASSES = (BindTransmitter, BindReceiver, BindTransceiver)
