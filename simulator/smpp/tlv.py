"""The SMPP optional-parameter (TLV) registry: every standard tag with its name and value type."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import NamedTuple


class Tag(IntEnum):
    """Standard TLV tags of SMPP 3.4 (section 5.3.2) plus the 5.0 ones users meet."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    CONGESTION_STATE = 0x0428  # 5.0
    USSD_SERVICE_OP = 0x0501
    BILLING_IDENTIFICATION = 0x060B  # 5.0
    SOURCE_NETWORK_ID = 0x060D  # 5.0
    DEST_NETWORK_ID = 0x060E  # 5.0
    SOURCE_NODE_ID = 0x060F  # 5.0
    DEST_NODE_ID = 0x0610  # 5.0
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


class Kind(Enum):
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    CSTRING = "cstring"  # NUL-terminated, decoded as Latin-1 so every byte survives
    OCTETS = "octets"
    NETWORK_ERROR = "network_error_code"


class NetworkErrorCode(NamedTuple):
    """network_error_code (0x0423): a network type (1 ANSI-136, 2 IS-95, 3 GSM, ...) and its error code."""

    network_type: int
    error_code: int


@dataclass(frozen=True, slots=True)
class TlvSpec:
    tag: int
    name: str
    kind: Kind
    min_length: int = 0
    max_length: int = 65535


_SPECS = [
    (Tag.DEST_ADDR_SUBUNIT, Kind.INT8),
    (Tag.DEST_NETWORK_TYPE, Kind.INT8),
    (Tag.DEST_BEARER_TYPE, Kind.INT8),
    (Tag.DEST_TELEMATICS_ID, Kind.INT16),
    (Tag.SOURCE_ADDR_SUBUNIT, Kind.INT8),
    (Tag.SOURCE_NETWORK_TYPE, Kind.INT8),
    (Tag.SOURCE_BEARER_TYPE, Kind.INT8),
    (Tag.SOURCE_TELEMATICS_ID, Kind.INT8),
    (Tag.QOS_TIME_TO_LIVE, Kind.INT32),
    (Tag.PAYLOAD_TYPE, Kind.INT8),
    (Tag.ADDITIONAL_STATUS_INFO_TEXT, Kind.CSTRING, 1, 256),
    (Tag.RECEIPTED_MESSAGE_ID, Kind.CSTRING, 1, 65),
    (Tag.MS_MSG_WAIT_FACILITIES, Kind.INT8),
    (Tag.PRIVACY_INDICATOR, Kind.INT8),
    (Tag.SOURCE_SUBADDRESS, Kind.OCTETS, 2, 23),
    (Tag.DEST_SUBADDRESS, Kind.OCTETS, 2, 23),
    (Tag.USER_MESSAGE_REFERENCE, Kind.INT16),
    (Tag.USER_RESPONSE_CODE, Kind.INT8),
    (Tag.SOURCE_PORT, Kind.INT16),
    (Tag.DESTINATION_PORT, Kind.INT16),
    (Tag.SAR_MSG_REF_NUM, Kind.INT16),
    (Tag.LANGUAGE_INDICATOR, Kind.INT8),
    (Tag.SAR_TOTAL_SEGMENTS, Kind.INT8),
    (Tag.SAR_SEGMENT_SEQNUM, Kind.INT8),
    (Tag.SC_INTERFACE_VERSION, Kind.INT8),
    (Tag.CALLBACK_NUM_PRES_IND, Kind.INT8),
    (Tag.CALLBACK_NUM_ATAG, Kind.OCTETS, 0, 65),
    (Tag.NUMBER_OF_MESSAGES, Kind.INT8),
    (Tag.CALLBACK_NUM, Kind.OCTETS, 4, 19),
    (Tag.DPF_RESULT, Kind.INT8),
    (Tag.SET_DPF, Kind.INT8),
    (Tag.MS_AVAILABILITY_STATUS, Kind.INT8),
    (Tag.NETWORK_ERROR_CODE, Kind.NETWORK_ERROR),
    (Tag.MESSAGE_PAYLOAD, Kind.OCTETS),
    (Tag.DELIVERY_FAILURE_REASON, Kind.INT8),
    (Tag.MORE_MESSAGES_TO_SEND, Kind.INT8),
    (Tag.MESSAGE_STATE, Kind.INT8),
    (Tag.CONGESTION_STATE, Kind.INT8),
    (Tag.USSD_SERVICE_OP, Kind.INT8),
    (Tag.BILLING_IDENTIFICATION, Kind.OCTETS, 0, 1024),
    (Tag.SOURCE_NETWORK_ID, Kind.CSTRING, 7, 66),
    (Tag.DEST_NETWORK_ID, Kind.CSTRING, 7, 66),
    (Tag.SOURCE_NODE_ID, Kind.OCTETS, 6, 6),
    (Tag.DEST_NODE_ID, Kind.OCTETS, 6, 6),
    (Tag.DISPLAY_TIME, Kind.INT8),
    (Tag.SMS_SIGNAL, Kind.INT16),
    (Tag.MS_VALIDITY, Kind.INT8),
    (Tag.ALERT_ON_MESSAGE_DELIVERY, Kind.OCTETS, 0, 1),
    (Tag.ITS_REPLY_TYPE, Kind.INT8),
    (Tag.ITS_SESSION_INFO, Kind.INT16),
]

TLV_SPECS: dict[int, TlvSpec] = {
    int(tag): TlvSpec(int(tag), tag.name.lower(), kind, *limits) for tag, kind, *limits in _SPECS
}
TLV_BY_NAME: dict[str, TlvSpec] = {spec.name: spec for spec in TLV_SPECS.values()}

FIXED_LENGTH: dict[Kind, int] = {Kind.INT8: 1, Kind.INT16: 2, Kind.INT32: 4, Kind.NETWORK_ERROR: 3}

TlvValue = int | str | bytes | NetworkErrorCode


def tag_of(name_or_tag: str | int) -> int:
    """Resolve "receipted_message_id", "RECEIPTED_MESSAGE_ID" or 0x001E to the numeric tag."""
    if isinstance(name_or_tag, int):
        return name_or_tag
    spec = TLV_BY_NAME.get(name_or_tag.lower())
    if spec is None:
        raise KeyError(f"unknown TLV name {name_or_tag!r}")
    return spec.tag
