"""smpplib's PDUs at load-test rates: a reusable submit_sm per bind, and parsing without the constructor.

Profiling showed smpplib's constructors costing more than its encoding and decoding: each one draws a
sequence number and sets every one of ~45 fields to None, and encoding walks all 27 optional TLVs
the harness never sends. The bytes are still smpplib's (byte-identical output, checked in tests).
"""

from __future__ import annotations

import smpplib.client
import smpplib.command as command
import smpplib.consts as consts
from smpplib import smpp

from .text import Segment

SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DATA_SM = 0x00000103
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
GENERIC_NACK = 0x80000000
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
MAX_PDU = 1 << 16
RETRYABLE = {0x58: "ESME_RTHROTTLED", 0x14: "ESME_RMSGQFUL"}
STATUS_NAMES = {0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID", 0x04: "ESME_RINVBNDSTS",
                0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x45: "ESME_RSUBMITFAIL",
                0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY", 0xFF: "ESME_RUNKNOWNERR", **RETRYABLE}


def status_name(status: int) -> str:
    return f"0x{status:02X} {STATUS_NAMES.get(status, 'ESME')}"


class LeanSubmitSM(command.SubmitSM):
    """submit_sm encoded from its 18 mandatory fields only: the harness sends no TLVs."""

    params_order = tuple(name for name in command.SubmitSM.params_order if name not in consts.OPTIONAL_PARAMS)


class SubmitEncoder:
    """One submit_sm object per bind, refilled for every message rather than built anew."""

    def __init__(self, client: smpplib.client.Client, *, registered_delivery: int) -> None:
        self.client = client
        self.pdu = LeanSubmitSM("submit_sm", client=client, service_type="", source_addr_ton=0, source_addr_npi=0,
                                source_addr="", dest_addr_ton=1, dest_addr_npi=1, destination_addr="",
                                esm_class=0, protocol_id=0, priority_flag=0, schedule_delivery_time="",
                                validity_period="", registered_delivery=registered_delivery,
                                replace_if_present_flag=0, data_coding=0, sm_default_msg_id=0, short_message=b"")

    def encode(self, source: str, destination: str, segment: Segment) -> tuple[int, bytes]:
        """(sequence_number, the PDU's bytes) for one segment."""
        pdu = self.pdu
        pdu.sequence = sequence = self.client.next_sequence()
        pdu.source_addr = source
        pdu.destination_addr = destination
        pdu.esm_class = segment.esm_class
        pdu.data_coding = segment.data_coding
        pdu.short_message = segment.short_message
        return sequence, pdu.generate()


def parse(raw: bytes, kind: type[command.Command]) -> command.Command:
    """smpplib's parser on a bare instance. Fields absent from the PDU read as missing (use getattr)."""
    pdu = kind.__new__(kind)
    pdu.allow_unknown_opt_params = True
    pdu.parse(raw)
    return pdu


def response(client: smpplib.client.Client, name: str, sequence: int) -> bytes:
    """An empty-bodied response (deliver_sm_resp, enquire_link_resp, ...) to `sequence`."""
    pdu = smpp.make_pdu(name, client=client)
    pdu.sequence = sequence  # smpplib ignores a `sequence` keyword and takes the client's next number
    return pdu.generate()


class Responses:
    """Empty-bodied responses generated once by smpplib; each answer is that PDU with its sequence."""

    def __init__(self, client: smpplib.client.Client) -> None:
        self.client = client
        self._templates: dict[str, bytes] = {}

    def __call__(self, name: str, sequence: int) -> bytes:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = response(self.client, name, 0)
        return template[:12] + sequence.to_bytes(4, "big") + template[16:]


DeliverSM = command.DeliverSM
DataSM = command.DataSM
SubmitSMResp = command.SubmitSMResp
