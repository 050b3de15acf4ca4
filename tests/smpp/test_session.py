"""The sans-IO session: every bind rule of smpp.md, roles, window, enquire_link, unbind and bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.smpp.codec import decode, encode
from simulator.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    Outbind,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from simulator.smpp.session import (
    BindRequested,
    LocalProtocolError,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    Session,
    SessionConfig,
    State,
    Unbound,
)
from simulator.smpp.status import Status
from simulator.smpp.tlv import Tag


def frames(data: bytes) -> list:
    out, offset = [], 0
    while offset < len(data):
        length = struct.unpack_from(">I", data, offset)[0]
        out.append(decode(data[offset : offset + length]))
        offset += length
    return out


def bound(bind=None, config: SessionConfig | None = None) -> Session:
    session = Session(config)
    events = session.receive_data(encode(bind or BindTransceiver(sequence_number=1, system_id="acme", password="pw")))
    assert isinstance(events[0], BindRequested)
    session.accept_bind("acme")
    session.data_to_send()
    return session


def test_first_pdu_must_be_a_bind() -> None:
    session = Session()
    events = session.receive_data(encode(SubmitSm(sequence_number=5, destination_addr="1")))
    answer = frames(session.data_to_send())
    assert answer[0].command_id == CommandId.SUBMIT_SM_RESP and answer[0].command_status == Status.ESME_RINVBNDSTS
    assert answer[0].sequence_number == 5
    assert isinstance(events[-1], Unbound) and session.state is State.CLOSED


def test_enquire_link_before_bind_is_refused_too() -> None:
    session = Session()
    session.receive_data(encode(EnquireLink(sequence_number=2)))
    assert frames(session.data_to_send())[0].command_status == Status.ESME_RINVBNDSTS
    assert session.state is State.CLOSED


def test_bind_accepted_gets_system_id_and_interface_version() -> None:
    session = Session()
    session.receive_data(encode(BindTransmitter(sequence_number=1, system_id="acme", password="pw")))
    session.accept_bind("acme", our_system_id="carrier-sim")
    response = frames(session.data_to_send())[0]
    assert response.command_id == CommandId.BIND_TRANSMITTER_RESP and response.command_status == 0
    assert response.system_id == "carrier-sim"
    assert response.tlv(Tag.SC_INTERFACE_VERSION) == 0x34
    assert session.state is State.BOUND


def test_already_bound_session_is_refused_but_survives() -> None:
    session = bound()
    session.receive_data(encode(BindTransmitter(sequence_number=9, system_id="acme", password="pw")))
    response = frames(session.data_to_send())[0]
    assert response.command_id == CommandId.BIND_TRANSMITTER_RESP
    assert response.command_status == Status.ESME_RALYBND
    assert session.state is State.BOUND


@pytest.mark.parametrize("status", [Status.ESME_RINVSYSID, Status.ESME_RINVPASWD])
def test_auth_failure_gets_its_status_then_close(status: int) -> None:
    session = Session()
    session.receive_data(encode(BindReceiver(sequence_number=1, system_id="who", password="bad")))
    events = session.reject_bind(status)
    wire = session.data_to_send()
    assert len(wire) == 16, "a failed bind's response has no body"
    assert frames(wire)[0].command_status == status
    assert isinstance(events[0], Unbound) and session.state is State.CLOSED


def test_transceiver_needs_interface_version_34() -> None:
    session = Session()
    events = session.receive_data(encode(BindTransceiver(sequence_number=1, system_id="a", interface_version=0x33)))
    assert not any(isinstance(e, BindRequested) for e in events)
    assert frames(session.data_to_send())[0].command_status == Status.ESME_RBINDFAIL
    assert session.state is State.CLOSED


def test_smpp33_bind_gets_no_tlvs() -> None:
    session = bound(BindTransmitter(sequence_number=1, system_id="a", interface_version=0x33))
    assert session.legacy
    session.receive_data(encode(SubmitSm(sequence_number=2, destination_addr="1")))
    session.respond(SubmitSmResp(sequence_number=2, message_id="1f", tlvs={Tag.ADDITIONAL_STATUS_INFO_TEXT: "x"}))
    assert frames(session.data_to_send())[0].tlvs == {}
    receiver = bound(BindReceiver(sequence_number=1, system_id="a", interface_version=0x33))
    receiver.send_request(DeliverSm(destination_addr="1", tlvs={Tag.RECEIPTED_MESSAGE_ID: "1f"}))
    assert frames(receiver.data_to_send())[0].tlvs == {}


def test_bind_response_to_33_has_no_sc_interface_version() -> None:
    session = Session()
    session.receive_data(encode(BindTransmitter(sequence_number=1, system_id="a", interface_version=0x33)))
    session.accept_bind("a")
    assert frames(session.data_to_send())[0].tlvs == {}


def test_receiver_may_not_submit_and_transmitter_gets_no_deliver_sm() -> None:
    receiver = bound(BindReceiver(sequence_number=1, system_id="a"))
    events = receiver.receive_data(encode(SubmitSm(sequence_number=3, destination_addr="1")))
    assert isinstance(events[0], ProtocolViolation)
    assert frames(receiver.data_to_send())[0].command_status == Status.ESME_RINVBNDSTS
    transmitter = bound(BindTransmitter(sequence_number=1, system_id="a"))
    with pytest.raises(LocalProtocolError):
        transmitter.send_request(DeliverSm(destination_addr="1"))
    events = transmitter.receive_data(encode(DeliverSm(sequence_number=4, destination_addr="1")))
    assert frames(transmitter.data_to_send())[0].command_status == Status.ESME_RINVBNDSTS


def test_outbind_from_a_client_is_refused_with_generic_nack() -> None:
    session = bound()
    session.receive_data(encode(Outbind(sequence_number=6, system_id="a")))
    answer = frames(session.data_to_send())[0]
    assert isinstance(answer, GenericNack) and answer.sequence_number == 6


def test_enquire_link_is_answered_and_can_be_muted() -> None:
    session = bound()
    session.receive_data(encode(EnquireLink(sequence_number=11)))
    answer = frames(session.data_to_send())[0]
    assert answer.command_id == CommandId.ENQUIRE_LINK_RESP and answer.sequence_number == 11
    session.answer_enquire_link = False
    session.receive_data(encode(EnquireLink(sequence_number=12)))
    assert session.data_to_send() == b""


def test_server_side_enquire_link_is_matched_by_sequence() -> None:
    session = bound()
    sequence = session.send_request(EnquireLink())
    session.data_to_send()
    events = session.receive_data(encode(EnquireLink(sequence_number=sequence).response()))
    assert isinstance(events[0], ResponseReceived) and events[0].request_command_id == CommandId.ENQUIRE_LINK


def test_unbind_from_the_client_and_from_the_server() -> None:
    session = bound()
    events = session.receive_data(encode(Unbind(sequence_number=20)))
    assert frames(session.data_to_send())[0].command_id == CommandId.UNBIND_RESP
    assert isinstance(events[0], Unbound) and events[0].by_peer and session.state is State.CLOSED
    server_side = bound()
    sequence = server_side.unbind()
    assert frames(server_side.data_to_send())[0].command_id == CommandId.UNBIND
    assert server_side.state is State.UNBINDING
    events = server_side.receive_data(encode(Unbind(sequence_number=sequence).response()))
    assert isinstance(events[-1], Unbound) and not events[-1].by_peer


def test_window_refuses_the_request_past_it_with_the_configured_status() -> None:
    session = bound(config=SessionConfig(window=5, window_status=Status.ESME_RTHROTTLED))
    events = session.receive_data(b"".join(encode(SubmitSm(sequence_number=n, destination_addr="1")) for n in range(1, 7)))
    assert sum(isinstance(e, RequestReceived) for e in events) == 5
    refused = frames(session.data_to_send())
    assert [(p.sequence_number, p.command_status) for p in refused] == [(6, Status.ESME_RTHROTTLED)]
    session.respond(SubmitSmResp(sequence_number=3, message_id="x"))
    events = session.receive_data(encode(SubmitSm(sequence_number=7, destination_addr="1")))
    assert isinstance(events[0], RequestReceived), "answering one frees its slot"


def test_responses_may_leave_out_of_order() -> None:
    session = bound()
    session.receive_data(b"".join(encode(SubmitSm(sequence_number=n, destination_addr="1")) for n in (1, 2, 3)))
    for n in (3, 1, 2):
        session.respond(SubmitSmResp(sequence_number=n, message_id=str(n)))
    assert [p.sequence_number for p in frames(session.data_to_send())] == [3, 1, 2]


def test_a_response_is_never_answered() -> None:
    session = bound()
    events = session.receive_data(encode(SubmitSmResp(sequence_number=77, message_id="x")))
    events += session.receive_data(encode(GenericNack(sequence_number=78, command_status=3)))
    broken = bytearray(encode(DeliverSmResp(sequence_number=79)))
    broken += b"\x99"  # garbage TLV stream
    broken[0:4] = struct.pack(">I", len(broken))
    events += session.receive_data(bytes(broken))
    assert session.data_to_send() == b""
    assert all(isinstance(e, ProtocolViolation) for e in events)


def test_unknown_command_gets_generic_nack_03() -> None:
    session = bound()
    session.receive_data(struct.pack(">IIII", 16, 0x000001FF, 0, 42))
    answer = frames(session.data_to_send())[0]
    assert isinstance(answer, GenericNack) and answer.command_status == Status.ESME_RINVCMDID
    assert answer.sequence_number == 42 and session.state is State.BOUND


@pytest.mark.parametrize("length", [0, 8, 15, 10_000_000])
def test_bad_command_length_gets_generic_nack_02_and_session_survives(length: int) -> None:
    session = bound()
    session.receive_data(struct.pack(">IIII", length, 4, 0, 43) + b"junk")
    answer = frames(session.data_to_send())[0]
    assert isinstance(answer, GenericNack) and answer.command_status == Status.ESME_RINVCMDLEN
    assert answer.sequence_number == 43
    session.receive_data(encode(EnquireLink(sequence_number=44)))
    assert frames(session.data_to_send())[0].sequence_number == 44


def test_partial_pdu_that_never_completes_is_nacked_on_request() -> None:
    session = bound()
    session.receive_data(struct.pack(">IIII", 100, 4, 0, 50) + b"\0" * 10)
    assert session.has_partial and session.data_to_send() == b""
    session.discard_partial()
    answer = frames(session.data_to_send())[0]
    assert answer.command_status == Status.ESME_RINVCMDLEN and answer.sequence_number == 50


def test_malformed_body_gets_the_commands_own_response_with_the_fields_status() -> None:
    session = bound()
    body = b"\0" + b"\0\0" + b"1" * 30 + b"\0"  # source_addr over 20 characters
    session.receive_data(struct.pack(">IIII", 16 + len(body), 4, 0, 60) + body)
    answer = frames(session.data_to_send())[0]
    assert answer.command_id == CommandId.SUBMIT_SM_RESP
    assert answer.command_status == Status.ESME_RINVSRCADR and answer.sequence_number == 60


def test_pdus_split_across_reads_are_reassembled() -> None:
    session = bound()
    wire = encode(SubmitSm(sequence_number=70, destination_addr="447", short_message=b"x" * 100))
    events = []
    for offset in range(0, len(wire), 7):
        events += session.receive_data(wire[offset : offset + 7])
    assert len(events) == 1 and isinstance(events[0], RequestReceived)
    assert events[0].pdu.short_message == b"x" * 100


@given(st.text("0123456789abcdefABCDEF-", min_size=0, max_size=64), st.integers(1, 0x7FFFFFFF))
def test_respond_with_id_writes_what_respond_writes(message_id: str, sequence: int) -> None:
    fast, general = bound(), bound()
    for session in (fast, general):
        session.receive_data(encode(SubmitSm(sequence_number=sequence, destination_addr="1")))
    fast.respond_with_id(CommandId.SUBMIT_SM_RESP, sequence, message_id)
    general.respond(SubmitSmResp(sequence_number=sequence, message_id=message_id))
    assert fast.data_to_send() == general.data_to_send()
    assert fast.window_in_use == general.window_in_use == 0


def test_send_encoded_claims_a_sequence_and_matches_its_response() -> None:
    session = bound()
    body = encode(DeliverSm(sequence_number=0, source_addr="1", destination_addr="2"))[16:]
    first = session.send_encoded(CommandId.DELIVER_SM, body, context="receipt-1")
    second = session.send_request(DeliverSm(source_addr="1", destination_addr="2"), "receipt-2")
    assert second == first + 1
    sent = frames(session.data_to_send())
    assert [(p.command_id, p.sequence_number) for p in sent] == [(CommandId.DELIVER_SM, first),
                                                                 (CommandId.DELIVER_SM, second)]
    events = session.receive_data(encode(DeliverSmResp(sequence_number=first)))
    assert isinstance(events[0], ResponseReceived) and events[0].context == "receipt-1"


def test_send_encoded_keeps_the_bind_rules() -> None:
    session = bound(BindTransmitter(sequence_number=1, system_id="acme", password="pw"))
    with pytest.raises(LocalProtocolError):
        session.send_encoded(CommandId.DELIVER_SM, b"")
