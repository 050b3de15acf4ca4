"""The SMPP codec: every PDU round-trips, TLVs are typed or byte-exact, limits hold, bad bytes give typed errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.smpp import codec
from simulator.smpp.codec import (
    STRICT,
    BadCommandLength,
    Leniency,
    PduError,
    UnknownCommand,
    decode,
    decode_body,
    encode,
    encode_body,
)
from simulator.smpp.pdu import (
    PDU_CLASSES,
    RESPONSE_BIT,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    Destination,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    UnsuccessSme,
)
from simulator.smpp.status import DESCRIPTIONS, Status, parse_status, status_name
from simulator.smpp.tlv import FIXED_LENGTH, TLV_SPECS, Kind, NetworkErrorCode, Tag

_TIME_FIELDS = {"schedule_delivery_time", "validity_period", "final_date"}


def cstring(max_length: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=max_length - 1)


smpp_time = st.one_of(
    st.just(""),
    st.builds(lambda digits, p: digits + p, st.text("0123456789", min_size=15, max_size=15), st.sampled_from("+-R")),
)
address = cstring(21)


def tlv_value(tag: int) -> st.SearchStrategy:
    spec = TLV_SPECS[tag]
    kind = spec.kind
    if kind is Kind.INT8:
        return st.integers(0, 0xFF)
    if kind is Kind.INT16:
        return st.integers(0, 0xFFFF)
    if kind is Kind.INT32:
        return st.integers(0, 0xFFFFFFFF)
    if kind is Kind.NETWORK_ERROR:
        return st.builds(NetworkErrorCode, st.integers(0, 0xFF), st.integers(0, 0xFFFF))
    if kind is Kind.CSTRING:
        return st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=max(0, spec.min_length - 1),
                       max_size=spec.max_length - 1)
    return st.binary(min_size=spec.min_length, max_size=min(spec.max_length, 300))


known_tlvs = st.sampled_from(sorted(TLV_SPECS)).flatmap(lambda tag: st.tuples(st.just(tag), tlv_value(tag)))
unknown_tlvs = st.tuples(
    st.integers(0x1400, 0x3FFF).filter(lambda t: t not in TLV_SPECS), st.binary(max_size=40)
)
tlv_dicts = st.lists(st.one_of(known_tlvs, unknown_tlvs), max_size=6).map(dict)


def field_strategy(spec) -> st.SearchStrategy:
    if spec.kind == "cstr":
        return smpp_time if spec.name in _TIME_FIELDS else cstring(spec.max_length)
    if spec.kind == "int8":
        return st.integers(0, 0xFF)
    if spec.kind == "sm":
        return st.binary(max_size=254)
    if spec.kind == "dests":
        return st.lists(
            st.one_of(
                st.builds(Destination, st.just(1), st.integers(0, 255), st.integers(0, 255), address),
                st.builds(Destination, st.just(2), st.just(0), st.just(0), cstring(21)),
            ),
            min_size=1, max_size=8,
        ).map(tuple)
    if spec.kind == "unsuccess":
        return st.lists(
            st.builds(UnsuccessSme, st.integers(0, 255), st.integers(0, 255), address, st.integers(0, 0xFFFFFFFF)),
            max_size=5,
        ).map(tuple)
    raise AssertionError(spec.kind)


def pdu_strategy(cls) -> st.SearchStrategy:
    fields = {spec.name: field_strategy(spec) for spec in cls.BODY}
    is_response = bool(cls.command_id & RESPONSE_BIT)
    return st.builds(
        cls,
        sequence_number=st.integers(0, 0x7FFFFFFF),
        command_status=st.integers(0, 0xFFFFFFFF) if is_response else st.just(0),
        tlvs=tlv_dicts,
        **fields,
    )


any_pdu = st.one_of(*[pdu_strategy(cls) for cls in PDU_CLASSES])


@pytest.mark.parametrize("cls", PDU_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_pdu_type_round_trips(cls, data) -> None:
    pdu = data.draw(pdu_strategy(cls))
    wire = encode(pdu)
    assert struct.unpack(">I", wire[:4])[0] == len(wire)
    assert decode(wire, leniency=STRICT) == pdu


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_decode_or_raise_a_typed_error(data: bytes) -> None:
    framed = struct.pack(">I", len(data) + 4) + data if len(data) >= 12 else data
    try:
        pdu = decode(framed)
    except PduError as error:
        assert 0 < error.status <= 0xFF
        assert str(error)
    else:
        # Decoded: re-encoding it either works or refuses with ValueError (a lenient field), nothing else.
        try:
            encode(pdu)
        except ValueError:
            pass


@settings(max_examples=200, deadline=None)
@given(any_pdu, st.data())
def test_mutated_pdus_decode_or_raise_a_typed_error(pdu, data) -> None:
    wire = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(16, max(16, len(wire) - 1))) if len(wire) > 16 else 0
        if index < len(wire):
            wire[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(16, len(wire)))
    wire = wire[:cut]
    wire[0:4] = struct.pack(">I", len(wire))
    try:
        decode(bytes(wire))
    except PduError as error:
        assert error.sequence_number == pdu.sequence_number
        assert error.command_id == pdu.command_id


def test_unknown_command_and_bad_length_errors_are_typed() -> None:
    with pytest.raises(UnknownCommand) as unknown:
        decode(struct.pack(">IIII", 16, 0x00000099, 0, 7))
    assert unknown.value.status == Status.ESME_RINVCMDID and unknown.value.sequence_number == 7
    with pytest.raises(BadCommandLength) as bad:
        decode(struct.pack(">IIII", 40, 0x15, 0, 8))
    assert bad.value.status == Status.ESME_RINVCMDLEN
    with pytest.raises(BadCommandLength):
        decode(b"\x00\x00")


def test_known_tlvs_are_typed_and_unknown_ones_byte_exact() -> None:
    pdu = SubmitSm(destination_addr="1", tlvs={
        Tag.RECEIPTED_MESSAGE_ID: "abc", Tag.MESSAGE_STATE: 2, Tag.NETWORK_ERROR_CODE: NetworkErrorCode(3, 258),
        Tag.SAR_MSG_REF_NUM: 0x1234, 0x1401: b"\x00\x01\xff",
    })
    decoded = decode(encode(pdu))
    assert decoded.tlv("receipted_message_id") == "abc"
    assert decoded.tlv("message_state") == 2
    assert decoded.tlv("network_error_code") == NetworkErrorCode(3, 258)
    assert decoded.tlv("sar_msg_ref_num") == 0x1234
    assert decoded.tlvs[0x1401] == b"\x00\x01\xff"
    # A known TLV with the wrong size for its type is kept as raw bytes, so it re-encodes identically.
    odd = bytearray(encode(SubmitSm(destination_addr="1")))
    odd += struct.pack(">HH", Tag.MESSAGE_STATE, 2) + b"\x01\x02"
    odd[0:4] = struct.pack(">I", len(odd))
    decoded_odd = decode(bytes(odd))
    assert decoded_odd.tlvs[Tag.MESSAGE_STATE] == b"\x01\x02"
    assert encode(decoded_odd) == bytes(odd)
    assert set(FIXED_LENGTH) == {Kind.INT8, Kind.INT16, Kind.INT32, Kind.NETWORK_ERROR}


def test_field_limits_are_enforced_on_encode() -> None:
    with pytest.raises(ValueError, match="service_type"):
        encode(SubmitSm(service_type="ABCDEF"))
    encode(SubmitSm(service_type="ABCDE"))
    with pytest.raises(ValueError, match="system_id"):
        encode(BindTransmitter(system_id="x" * 16))
    encode(BindTransmitter(system_id="x" * 15))
    with pytest.raises(ValueError, match="short_message"):
        encode(SubmitSm(short_message=b"x" * 255))
    with pytest.raises(ValueError, match="schedule_delivery_time"):
        encode(SubmitSm(schedule_delivery_time="2601010000"))
    with pytest.raises(ValueError):
        encode(SubmitMulti(dest_addresses=()))


def _raw_bind(password: bytes, system_id: bytes = b"acme", service: bytes = b"") -> bytes:
    body = system_id + b"\0" + password + b"\0" + service + b"\0" + bytes((0x34, 0, 0)) + b"\0"
    return struct.pack(">IIII", 16 + len(body), 2, 0, 1) + body


def test_oversize_fields_from_peers_are_a_configurable_leniency() -> None:
    long_password = _raw_bind(b"a-much-longer-password")
    assert decode(long_password).password == "a-much-longer-password"  # accepted by default
    with pytest.raises(PduError) as strict:
        decode(long_password, leniency=STRICT)
    assert strict.value.status == Status.ESME_RINVPASWD and strict.value.field == "password"
    long_system_id = _raw_bind(b"pw", system_id=b"s" * 20)
    with pytest.raises(PduError) as error:
        decode(long_system_id)
    assert error.value.status == Status.ESME_RINVSYSID
    assert decode(long_system_id, leniency=Leniency(fields=frozenset({"system_id"}))).system_id == "s" * 20


def test_service_type_over_five_characters_is_refused_with_its_status() -> None:
    wire = bytearray(encode(SubmitSm(destination_addr="1")))
    body = b"LONGER\0" + bytes(wire[17:])
    raw = struct.pack(">IIII", 16 + len(body), 4, 0, 9) + body
    with pytest.raises(PduError) as error:
        decode(raw)
    assert error.value.status == Status.ESME_RINVSERTYP


def test_smpp50_binds_are_accepted() -> None:
    bind = BindTransceiver(system_id="acme", password="pw", interface_version=0x50)
    assert decode(encode(bind)).interface_version == 0x50


def test_error_responses_may_omit_their_body() -> None:
    bare = struct.pack(">IIII", 16, 0x80000004, Status.ESME_RSUBMITFAIL, 3)
    assert decode(bare) == SubmitSmResp(sequence_number=3, command_status=Status.ESME_RSUBMITFAIL)
    assert encode(SubmitSmResp(sequence_number=3, command_status=0x45), omit_body=True) == bare
    multi = decode(encode(SubmitMultiResp(message_id="m1", unsuccess_sme=(UnsuccessSme(1, 1, "447", 0x0B),))))
    assert multi.unsuccess_sme[0].error_status == 0x0B


def test_status_registry_names_and_describes_every_code() -> None:
    assert all(status in DESCRIPTIONS for status in Status if status < 0xC5)
    assert Status.ESME_RTHROTTLED.short_name == "THROTTLED"
    assert parse_status("THROTTLED") == parse_status("0x58") == parse_status("ESME_RTHROTTLED") == 0x58
    assert status_name(0x14) == "ESME_RMSGQFUL"
    assert status_name(0x1234) == "0x00001234"
    with pytest.raises(ValueError):
        parse_status("NOPE")
    assert codec.DEFAULT_MAX_PDU > 65535


@settings(max_examples=400, deadline=None)
@given(st.one_of(pdu_strategy(SubmitSm), pdu_strategy(DeliverSm), pdu_strategy(SubmitSmResp),
                 pdu_strategy(DeliverSmResp)), st.data())
def test_hand_written_hot_path_codecs_agree_with_the_table_driven_ones(pdu, data) -> None:
    assert codec._FAST_ENCODERS[type(pdu)](pdu) == encode_body(pdu)
    wire = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(0, 3))):
        if len(wire) > 16:
            wire[data.draw(st.integers(16, len(wire) - 1))] = data.draw(st.integers(0, 255))
    wire = bytes(wire[: data.draw(st.integers(16, len(wire)))])
    outcomes = []
    for fast in (True, False):
        try:
            outcomes.append(decode_body(pdu.command_id, pdu.command_status, pdu.sequence_number, wire, 16, fast=fast))
        except PduError as error:
            outcomes.append((error.status, error.field))
    assert outcomes[0] == outcomes[1]
