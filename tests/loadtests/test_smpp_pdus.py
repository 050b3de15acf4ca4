"""The harness's fast paths through smpplib produce exactly what smpplib's own calls produce."""

from __future__ import annotations

import smpplib.client
from smpplib import smpp

from loadtests import smpp_pdus
from loadtests import text as sms


def _client() -> smpplib.client.Client:
    return smpplib.client.Client("127.0.0.1", 1, allow_unknown_opt_params=True)


def test_reused_submit_sm_is_byte_identical_to_smpplib():
    encoder_client, reference_client = _client(), _client()
    encoder = smpp_pdus.SubmitEncoder(encoder_client, registered_delivery=1)
    for segment in sms.segments("x" * 300, reference=9) + sms.segments("Привет"):
        sequence, data = encoder.encode("12345", "447700900001", segment)
        expected = smpp.make_pdu("submit_sm", client=reference_client, service_type="", source_addr_ton=0,
                                 source_addr_npi=0, source_addr="12345", dest_addr_ton=1, dest_addr_npi=1,
                                 destination_addr="447700900001", esm_class=segment.esm_class, registered_delivery=1,
                                 data_coding=segment.data_coding, short_message=segment.short_message)
        expected.sequence = sequence
        assert data == expected.generate()


def test_bare_parse_reads_what_parse_pdu_reads():
    client = _client()
    receipt = smpp.make_pdu("deliver_sm", client=client, source_addr="447700900001", destination_addr="12345",
                            esm_class=4, short_message=b"id:1a2b sub:001 dlvrd:001 stat:DELIVRD err:000",
                            receipted_message_id="1a2b", message_state=2)
    receipt.sequence = 42
    raw = receipt.generate()
    fast, slow = smpp_pdus.parse(raw, smpp_pdus.DeliverSM), smpp.parse_pdu(raw, client=client,
                                                                            allow_unknown_opt_params=True)
    for field in ("sequence", "esm_class", "short_message", "receipted_message_id", "message_state", "source_addr"):
        assert getattr(fast, field) == getattr(slow, field), field
    assert getattr(fast, "network_error_code", None) is None  # absent TLVs read as missing
    resp = smpp_pdus.response(client, "deliver_sm_resp", 42)
    assert resp[:4] == len(resp).to_bytes(4, "big") and resp[12:16] == (42).to_bytes(4, "big")
    assert smpp_pdus.Responses(client)("deliver_sm_resp", 42) == resp
