"""Tests for simulator.smpp.text: encodings, exact segment counting, splitting, UDH and reassembly."""

from __future__ import annotations

import random

import pytest
import smpplib.consts
import smpplib.gsm
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.smpp.text import (
    GSM_SAME_AS_ASCII,
    DataCoding,
    LogicalMessage,
    Part,
    Reassembler,
    TextEncodingError,
    _decode_gsm_by_table,
    choose_data_coding,
    concat_info,
    concat_udh,
    count_segments,
    decode,
    encode,
    gsm7_length,
    is_gsm7,
    make_parts,
    parse_udh,
    segment_capacity,
    split_text,
    units,
)

# Written out independently of the module under test, straight from 3GPP TS 23.038.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = "\f^{}\\[~]|€"
assert len(GSM_BASIC) == 127  # 128 septets minus the escape

gsm_chars = st.sampled_from(GSM_BASIC + GSM_EXT)
# Extension characters drawn often so escape pairs land on segment boundaries.
gsm_heavy_ext = st.one_of(st.sampled_from(GSM_EXT), st.sampled_from(GSM_BASIC))
ascii_chars = st.characters(max_codepoint=0x7F)
latin1_chars = st.characters(max_codepoint=0xFF)
astral_chars = st.characters(min_codepoint=0x10000)
any_chars = st.one_of(st.characters(exclude_categories=("Cs",)), astral_chars)  # no lone surrogates


def long_text(chars: st.SearchStrategy[str], max_size: int = 700) -> st.SearchStrategy[str]:
    return st.lists(chars, max_size=max_size).map("".join)


# ---------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------


@settings(max_examples=150)
@given(long_text(gsm_chars, 300))
def test_gsm_round_trip(text: str) -> None:
    data = encode(text, DataCoding.DEFAULT)
    assert len(data) == gsm7_length(text) == units(text, 0) == units(data, 0)
    assert max(data, default=0) <= 0x7F  # unpacked: one septet per octet
    assert decode(data, 0, strict=True) == text
    assert is_gsm7(text)
    assert choose_data_coding(text) == DataCoding.DEFAULT


# Payloads of only "same as ASCII" octets (the fast path), of those mixed with any other, and any at all.
_SAME_AS_ASCII = st.sampled_from(sorted(GSM_SAME_AS_ASCII))
_GSM_PAYLOADS = st.one_of(
    st.lists(_SAME_AS_ASCII, max_size=120).map(bytes),
    st.lists(st.one_of(_SAME_AS_ASCII, st.integers(0, 0xFF)), max_size=120).map(bytes),
    st.binary(max_size=120),
)


@settings(max_examples=300)
@given(_GSM_PAYLOADS)
def test_gsm_decode_fast_path_matches_the_table(data: bytes) -> None:
    assert decode(data, 0) == _decode_gsm_by_table(data)
    if max(data, default=0) <= 0x7F:
        assert decode(data, 0, strict=True) == _decode_gsm_by_table(data)


@settings(max_examples=100)
@given(long_text(ascii_chars, 300))
def test_ia5_round_trip(text: str) -> None:
    data = encode(text, DataCoding.IA5)
    assert data == text.encode("ascii")
    assert decode(data, 1, strict=True) == text
    assert units(text, 1) == len(text)


@settings(max_examples=100)
@given(long_text(latin1_chars, 300))
def test_latin1_round_trip(text: str) -> None:
    data = encode(text, DataCoding.LATIN1)
    assert len(data) == len(text) == units(text, 3)
    assert decode(data, 3, strict=True) == text


@settings(max_examples=100)
@given(st.binary(max_size=300), st.sampled_from([2, 4, 0xF5, 0x99]))
def test_binary_and_unknown_codings_are_lossless(data: bytes, dc: int) -> None:
    text = decode(data, dc)
    assert len(text) == len(data)
    assert encode(text, dc) == data
    assert units(data, dc) == len(data)


@settings(max_examples=150)
@given(long_text(any_chars, 300))
def test_ucs2_round_trip_with_astral(text: str) -> None:
    data = encode(text, DataCoding.UCS2)
    assert data == text.encode("utf-16-be")
    astral = sum(1 for c in text if ord(c) > 0xFFFF)
    assert units(text, 8) == len(text) + astral == len(data) // 2
    assert decode(data, 8, strict=True) == text


def test_gsm_table_positions() -> None:
    assert encode("@£$", 0) == b"\x00\x01\x02"
    assert encode("\n\r", 0) == b"\x0a\x0d"
    assert encode("Ç§¿à", 0) == b"\x09\x5f\x60\x7f"
    assert encode("A a", 0) == b"\x41\x20\x61"
    assert encode("\f^{}\\[~]|€", 0) == bytes.fromhex("1b0a1b141b281b291b2f1b3c1b3d1b3e1b401b65")
    assert gsm7_length("€") == 2
    assert gsm7_length("a€b") == 4


def test_gsm_decode_fallbacks_do_not_raise() -> None:
    assert decode(b"\x1b\x41", 0) == "A"  # undefined escape -> basic character
    assert decode(b"\x1b\x41", 0, strict=True) == "A"
    assert decode(b"ab\x1b", 0) == "ab "  # lone trailing escape -> space
    assert decode(b"\x1b", 0) == " "
    assert decode(b"\x1b\x1bx", 0) == " x"  # escape to a further (undefined) table -> space
    assert decode(b"a\x80b", 0) == "a\ufffdb"
    with pytest.raises(TextEncodingError):
        decode(b"a\x80b", 0, strict=True)


def test_lenient_decodes_of_bad_input() -> None:
    assert decode(b"\x00a\x00", 8) == "a\ufffd"  # odd trailing octet
    assert decode(b"\xd8\x3d\x00a", 8) == "\ufffda"  # high surrogate without its low half
    assert decode(b"a\xff", 1) == "a\ufffd"
    for data, dc in [(b"\x00a\x00", 8), (b"\xd8\x3d\x00a", 8), (b"a\xff", 1)]:
        with pytest.raises(TextEncodingError):
            decode(data, dc, strict=True)


@pytest.mark.parametrize(
    ("text", "dc"),
    [("ç", 0), ("`", 0), ("\x1b", 0), ("Привет", 0), ("é", 1), ("€", 3), ("😀", 3), ("\ud800", 8), ("Ā", 4)],
)
def test_unencodable_raises(text: str, dc: int) -> None:
    with pytest.raises(TextEncodingError) as info:
        encode("ok " + text, dc)
    assert isinstance(info.value, ValueError)
    assert "index 3" in str(info.value)
    assert f"data_coding {dc}" in str(info.value)


def test_gsm7_length_rejects_non_gsm() -> None:
    with pytest.raises(TextEncodingError):
        gsm7_length("hello ☃")
    assert not is_gsm7("hello ☃")
    assert choose_data_coding("hello ☃") == DataCoding.UCS2
    assert choose_data_coding("") == DataCoding.DEFAULT


# ---------------------------------------------------------------------------
# Exact segment boundaries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dc", "ref16", "expected"),
    [
        ("", None, False, 1),
        ("a" * 160, None, False, 1),
        ("a" * 161, None, False, 2),
        ("a" * 153 * 2, None, False, 2),
        ("a" * (153 * 2 + 1), None, False, 3),
        ("a" * 152 * 2, None, True, 2),
        ("a" * (152 * 2 + 1), None, True, 3),
        ("€" * 80, None, False, 1),
        ("€" * 81, None, False, 2),
        ("a" * 159 + "€", None, False, 2),
        # 306 septets = 2 * 153, but the escape pair straddles the boundary and moves over.
        ("a" * 152 + "€" + "a" * 152, None, False, 3),
        ("a" * 153 + "€" + "a" * 151, None, False, 2),
        ("é" * 140, 3, False, 1),
        ("é" * 141, 3, False, 2),
        ("é" * 134 * 2, 3, False, 2),
        ("é" * (134 * 2 + 1), 3, False, 3),
        ("x" * 133 * 2, 4, True, 2),
        ("x" * (133 * 2 + 1), 4, True, 3),
        ("x" * 140, 1, False, 1),
        ("x" * 141, 1, False, 2),
        ("ж" * 70, None, False, 1),
        ("ж" * 71, None, False, 2),
        ("ж" * 67 * 2, None, False, 2),
        ("ж" * (67 * 2 + 1), None, False, 3),
        ("ж" * 66 * 2, None, True, 2),
        ("ж" * (66 * 2 + 1), None, True, 3),
        ("😀" * 35, None, False, 1),
        ("😀" * 36, None, False, 2),
        ("ж" * 69 + "😀", None, False, 2),
        # 134 units = 2 * 67, but the surrogate pair straddles the boundary.
        ("ж" * 66 + "😀" + "ж" * 66, None, False, 3),
    ],
)
def test_count_segments_boundaries(text: str, dc: int | None, ref16: bool, expected: int) -> None:
    assert count_segments(text, dc, ref16=ref16) == expected
    parts, _ = make_parts(text, dc, method="udh16" if ref16 else "udh")
    assert len(parts) == expected


def test_emoji_counts_two_units() -> None:
    assert units("😀", 8) == 2
    assert units("a😀b", 8) == 4
    assert units(encode("a😀b", 8), 8) == 4


def test_segment_capacity() -> None:
    assert [segment_capacity(0, m) for m in ("single", "udh", "udh16", "sar")] == [160, 153, 152, 160]
    assert [segment_capacity(3, m) for m in ("single", "udh", "udh16", "sar")] == [140, 134, 133, 140]
    assert [segment_capacity(8, m) for m in ("single", "udh", "udh16", "sar")] == [70, 67, 66, 70]
    assert segment_capacity(0, "payload") == 65535
    assert segment_capacity(8, "payload") == 32767


def test_split_keeps_escape_and_surrogate_pairs() -> None:
    chunks = split_text("a" * 152 + "€" + "b", 0, per_segment_units=153)
    assert chunks == [b"a" * 152, b"\x1b\x65b"]
    chunks = split_text("a" * 66 + "😀", 8, per_segment_units=67)
    assert chunks == ["a".encode("utf-16-be") * 66, "😀".encode("utf-16-be")]
    assert split_text("", 0, per_segment_units=153) == [b""]
    with pytest.raises(ValueError):
        split_text("€€", 0, per_segment_units=1)
    with pytest.raises(ValueError):
        split_text("abc", 0, per_segment_units=0)


def test_split_encoded_gsm_bytes_with_escape_runs() -> None:
    # Pre-encoded input: "ESC ESC" is one (space) character, so cutting after it is allowed,
    # while an odd run ends in a lead escape that must move to the next segment.
    assert split_text(b"ab\x1b\x1b" + b"c", 0, per_segment_units=4) == [b"ab\x1b\x1b", b"c"]
    assert split_text(b"a\x1b\x1b\x1b" + b"ec", 0, per_segment_units=4) == [b"a\x1b\x1b", b"\x1bec"]


def test_make_parts_limits() -> None:
    with pytest.raises(TextEncodingError):
        make_parts("a" * (153 * 255 + 1))
    parts, _ = make_parts("a" * (153 * 255))
    assert len(parts) == 255
    with pytest.raises(TextEncodingError):
        make_parts("a" * 65536, method="payload")
    with pytest.raises(ValueError):
        make_parts("a" * 200, method="bogus")  # type: ignore[arg-type]


def test_make_parts_shapes() -> None:
    parts, dc = make_parts("hello")
    assert dc == 0
    assert parts == [Part(b"hello", False, None, None)]
    parts, dc = make_parts("hello", method="payload")
    assert parts == [Part(b"", False, None, b"hello")]
    parts, dc = make_parts("x" * 200, 3, method="sar", ref=0x1_2345)
    assert dc == 3
    assert [p.sar for p in parts] == [(0x2345, 2, 1), (0x2345, 2, 2)]
    assert [len(p.short_message) for p in parts] == [140, 60]
    assert not any(p.esm_class_udhi for p in parts)
    parts, _ = make_parts("y" * 200, 3, method="udh", ref=0x1FE)
    assert [p.short_message[:6] for p in parts] == [bytes([5, 0, 3, 0xFE, 2, 1]), bytes([5, 0, 3, 0xFE, 2, 2])]
    assert all(p.esm_class_udhi for p in parts)
    parts, _ = make_parts("y" * 200, 3, method="udh16", ref=0xBEEF)
    assert parts[1].short_message[:7] == bytes([6, 8, 4, 0xBE, 0xEF, 2, 2])


METHODS = ["udh", "udh16", "sar"]


def _payload_of(part: Part) -> bytes:
    if part.esm_class_udhi:
        return parse_udh(part.short_message)[1]
    return part.short_message


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(long_text(gsm_heavy_ext), long_text(any_chars, 300), long_text(latin1_chars, 400)),
    st.sampled_from(METHODS),
    st.sampled_from([None, 3, 8]),
)
def test_make_parts_properties(text: str, method: str, dc: int | None) -> None:
    try:
        parts, used = make_parts(text, dc, method=method)  # type: ignore[arg-type]
    except TextEncodingError:
        # Only Latin-1 can be asked to carry what it cannot; the other choices always fit.
        assert dc == 3 and any(ord(c) > 0xFF for c in text)
        return
    assert used == (choose_data_coding(text) if dc is None else dc)
    single = segment_capacity(used, "single")
    limit = single if len(parts) == 1 else segment_capacity(used, method)  # type: ignore[arg-type]
    decoded = []
    for seq, part in enumerate(parts, 1):
        payload = _payload_of(part)
        assert units(payload, used) <= limit
        # Each part decodes on its own: no escape or surrogate pair was split.
        piece = decode(payload, used, strict=True)
        assert encode(piece, used) == payload
        if used == 0:
            assert not payload.endswith(b"\x1b")
        decoded.append(piece)
        if len(parts) > 1:
            if method == "sar":
                assert part.sar is not None and part.sar[1:] == (len(parts), seq)
            else:
                info = concat_info(parse_udh(part.short_message)[0])
                assert info is not None and info[1:] == (len(parts), seq)
        else:
            assert part.sar is None and not part.esm_class_udhi
    assert "".join(decoded) == text
    if method == "sar":
        expected = len(split_text(text, used, per_segment_units=single)) if units(text, used) > single else 1
        assert len(parts) == expected
    else:
        assert count_segments(text, used, ref16=method == "udh16") == len(parts)
    # No segment except the last is shorter than needed: each is full or one pair short.
    for part in parts[:-1]:
        assert units(_payload_of(part), used) >= limit - 1


# ---------------------------------------------------------------------------
# UDH
# ---------------------------------------------------------------------------


def test_concat_udh_bytes_and_parse() -> None:
    udh = concat_udh(0x42, 3, 2)
    assert udh == bytes([5, 0x00, 3, 0x42, 3, 2])
    assert parse_udh(udh + b"body") == ([(0x00, b"\x42\x03\x02")], b"body")
    udh16 = concat_udh(0x1234, 3, 2, ref16=True)
    assert udh16 == bytes([6, 0x08, 4, 0x12, 0x34, 3, 2])
    ies, rest = parse_udh(udh16)
    assert rest == b""
    assert concat_info(ies) == (0x1234, 3, 2)
    assert concat_info([(0x05, b"\x0b\x84\x23\xf0")]) is None
    # Port IE then concat IE; the last concat IE wins.
    ies, rest = parse_udh(bytes([11, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x00, 3, 7, 2, 1]) + b"x")
    assert rest == b"x"
    assert concat_info(ies) == (7, 2, 1)


@pytest.mark.parametrize(
    ("ref", "total", "seq", "ref16"),
    [(256, 2, 1, False), (-1, 2, 1, False), (65536, 2, 1, True), (1, 0, 1, False), (1, 2, 0, False), (1, 2, 3, False), (1, 256, 1, False)],
)
def test_concat_udh_rejects_bad_values(ref: int, total: int, seq: int, ref16: bool) -> None:
    with pytest.raises(ValueError):
        concat_udh(ref, total, seq, ref16=ref16)


@pytest.mark.parametrize(
    "sm",
    [
        b"",
        bytes([5, 0, 3, 1]),  # UDHL beyond the payload
        bytes([3, 0, 3, 1, 2, 1]),  # IE overruns the UDH
        bytes([1, 0]),  # truncated IE header
    ],
)
def test_parse_udh_malformed(sm: bytes) -> None:
    with pytest.raises(TextEncodingError):
        parse_udh(sm)


def test_concat_info_wrong_ie_length() -> None:
    with pytest.raises(TextEncodingError):
        concat_info([(0x00, b"\x01\x02")])
    with pytest.raises(TextEncodingError):
        concat_info([(0x08, b"\x01\x02\x03")])


# ---------------------------------------------------------------------------
# Reassembly
# ---------------------------------------------------------------------------


def _feed(r: Reassembler, key: object, part: Part, dc: int, now: float = 0.0) -> LogicalMessage | None:
    return r.feed(
        key,
        data_coding=dc,
        esm_class=0x40 if part.esm_class_udhi else 0,
        short_message=part.short_message,
        sar=part.sar,
        message_payload=part.message_payload,
        now=now,
    )


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(long_text(gsm_heavy_ext, 600), long_text(any_chars, 250)),
    st.sampled_from(METHODS + ["payload"]),
    st.integers(0, 0xFFFF),
    st.data(),
)
def test_reassembly_any_order(text: str, method: str, ref: int, data: st.DataObject) -> None:
    parts, dc = make_parts(text, method=method, ref=ref)  # type: ignore[arg-type]
    order = data.draw(st.permutations(parts))
    r = Reassembler()
    results = [_feed(r, ("sys", "src", "dst"), p, dc) for p in order]
    assert all(m is None for m in results[:-1])
    msg = results[-1]
    assert msg is not None
    assert msg.text == text
    assert msg.data_coding == dc
    assert msg.segment_count == len(parts)
    assert msg.segments == tuple(_payload_of(p) if p.message_payload is None else p.message_payload for p in parts)
    assert msg.payload == b"".join(msg.segments)
    if method == "payload":
        assert (msg.method, msg.ref) == ("payload", None)
    elif len(parts) == 1:
        assert (msg.method, msg.ref) == ("single", None)
    else:
        assert msg.method == method
        assert msg.ref == ref & (0xFF if method == "udh" else 0xFFFF)
    assert len(r) == 0
    assert r.expire(1e9) == []


@pytest.mark.parametrize("method", METHODS)
def test_duplicate_part_replaces_earlier_copy(method: str) -> None:
    parts, dc = make_parts("a" * 200 + "b" * 200, method=method, ref=9)  # type: ignore[arg-type]
    assert len(parts) == 3
    r = Reassembler()
    stale = Part(parts[0].short_message.replace(b"a", b"z"), parts[0].esm_class_udhi, parts[0].sar)
    assert _feed(r, "k", stale, dc) is None
    assert _feed(r, "k", parts[2], dc) is None
    assert _feed(r, "k", parts[2], dc) is None  # exact duplicate does not complete the message
    assert _feed(r, "k", parts[0], dc) is None
    msg = _feed(r, "k", parts[1], dc)
    assert msg is not None and msg.text == "a" * 200 + "b" * 200


@pytest.mark.parametrize("method", METHODS)
def test_interleaved_keys_and_refs(method: str) -> None:
    text_a, text_b, text_c = "A" * 300, "B" * 300, "C" * 300
    pa, dc = make_parts(text_a, method=method, ref=5)  # type: ignore[arg-type]
    pb, _ = make_parts(text_b, method=method, ref=5)  # type: ignore[arg-type]
    pc, _ = make_parts(text_c, method=method, ref=6)  # type: ignore[arg-type]
    r = Reassembler()
    done: dict[str, str] = {}
    feeds = [("k1", p) for p in pa] + [("k2", p) for p in pb] + [("k1", p) for p in pc]
    random.Random(1).shuffle(feeds)
    for key, part in feeds:
        msg = _feed(r, key, part, dc)
        if msg is not None:
            done[msg.text[0]] = msg.text
    assert done == {"A": text_a, "B": text_b, "C": text_c}


def test_ref_reused_with_different_total_is_a_different_message() -> None:
    p2, dc = make_parts("a" * 200, method="udh", ref=1)
    p3, _ = make_parts("b" * 400, method="udh", ref=1)
    r = Reassembler()
    assert _feed(r, "k", p2[0], dc) is None
    assert _feed(r, "k", p3[0], dc) is None
    assert _feed(r, "k", p3[1], dc) is None
    msg = _feed(r, "k", p2[1], dc)
    assert msg is not None and msg.text == "a" * 200
    msg = _feed(r, "k", p3[2], dc)
    assert msg is not None and msg.text == "b" * 400


def test_udh8_and_udh16_do_not_mix() -> None:
    p8, dc = make_parts("a" * 200, method="udh", ref=1)
    p16, _ = make_parts("b" * 200, method="udh16", ref=1)
    r = Reassembler()
    assert _feed(r, "k", p8[0], dc) is None
    assert _feed(r, "k", p16[1], dc) is None
    assert len(r) == 2


def test_timeout_expiry() -> None:
    parts, dc = make_parts("t" * 400, method="udh", ref=3)
    r = Reassembler(timeout=300.0)
    assert _feed(r, "k", parts[0], dc, now=0.0) is None
    assert _feed(r, "k", parts[1], dc, now=10.0) is None
    assert r.expire(300.0) == []  # exactly the timeout is not older than it
    dropped = r.expire(300.5)
    assert len(dropped) == 1
    d = dropped[0]
    assert (d.key, d.method, d.ref, d.total, d.reason, d.created) == ("k", "udh", 3, 3, "timeout", 0.0)
    assert [s.seq for s in d.segments] == [1, 2]
    assert d.segments[0].payload == parse_udh(parts[0].short_message)[1]
    assert d.missing == (3,)
    assert len(r) == 0
    # The late last part starts a fresh, incomplete group.
    assert _feed(r, "k", parts[2], dc, now=301.0) is None
    assert r.expire(301.0) == []
    # Feeding also expires: a stale group is dropped before a new part is considered.
    assert _feed(r, "other", Part(b"hi"), 0, now=700.0) is not None
    assert [d.reason for d in r.expire(700.0)] == ["timeout"]


def test_max_pending_drops_oldest() -> None:
    r = Reassembler(max_pending=2)
    groups = [make_parts(ch * 200, method="sar", ref=i) for i, ch in enumerate("xyz")]
    for now, (parts, dc) in enumerate(groups):
        assert _feed(r, "k", parts[0], dc, now=float(now)) is None
    assert len(r) == 2
    dropped = r.expire(3.0)
    assert [(d.ref, d.reason) for d in dropped] == [(0, "overflow")]
    assert r.expire(3.0) == []
    # The evicted group cannot complete any more; the kept ones can.
    assert _feed(r, "k", groups[0][0][1], 0, now=4.0) is None
    msg = _feed(r, "k", groups[2][0][1], 0, now=4.0)
    assert msg is not None and msg.text == "z" * 200


def test_single_part_and_payload_return_immediately() -> None:
    r = Reassembler()
    msg = r.feed("k", data_coding=0, esm_class=0, short_message=b"hi", now=0.0)
    assert msg == LogicalMessage(0, b"hi", (b"hi",), "single", None)
    big = encode("€" * 1000, 0)
    msg = r.feed("k", data_coding=0, esm_class=0, short_message=b"", message_payload=big, now=0.0)
    assert msg is not None and msg.method == "payload" and msg.text == "€" * 1000 and msg.segment_count == 1
    # UDH with only a port IE: stripped, still a single message.
    sm = bytes([6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0]) + b"body"
    msg = r.feed("k", data_coding=4, esm_class=0x40, short_message=sm, now=0.0)
    assert msg is not None and (msg.payload, msg.method) == (b"body", "single")
    # A concat IE with total 1 completes immediately.
    msg = r.feed("k", data_coding=0, esm_class=0x43, short_message=concat_udh(7, 1, 1) + b"x", now=0.0)
    assert msg is not None and (msg.text, msg.method, msg.ref) == ("x", "udh", 7)
    assert len(r) == 0


def test_joined_payload_repairs_pairs_split_by_a_careless_client() -> None:
    # smpplib-style byte slicing can cut "€" (1B 65) in half; reassembly must still give "€".
    data = encode("a" * 152 + "€" + "b" * 10, 0)
    chunks = [data[:153], data[153:]]
    r = Reassembler()
    msgs = [
        r.feed("k", data_coding=0, esm_class=0x40, short_message=concat_udh(1, 2, i) + c, now=0.0)
        for i, c in enumerate(chunks, 1)
    ]
    assert msgs[1] is not None and msgs[1].text == "a" * 152 + "€" + "b" * 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"esm_class": 0x40, "short_message": b""},
        {"esm_class": 0x40, "short_message": bytes([9, 0, 3, 1, 2, 1])},
        {"esm_class": 0x40, "short_message": bytes([5, 0, 3, 1, 2, 0]) + b"x"},  # seq 0
        {"esm_class": 0x40, "short_message": bytes([5, 0, 3, 1, 2, 3]) + b"x"},  # seq > total
        {"esm_class": 0x40, "short_message": bytes([5, 0, 3, 1, 0, 0]) + b"x"},  # total 0
        {"esm_class": 0x40, "short_message": bytes([4, 0, 2, 1, 2]) + b"x"},  # concat IE too short
        {"esm_class": 0, "short_message": b"x", "sar": (1, 2, 0)},
        {"esm_class": 0, "short_message": b"x", "sar": (1, 2, 3)},
        {"esm_class": 0, "short_message": b"x", "sar": (1, 0, 0)},
        {"esm_class": 0, "short_message": b"x", "sar": (70000, 2, 1)},
        {"esm_class": 0, "short_message": b"x", "message_payload": b"y"},
    ],
)
def test_reassembler_malformed(kwargs: dict[str, object]) -> None:
    r = Reassembler()
    with pytest.raises(TextEncodingError):
        r.feed("k", data_coding=0, now=0.0, **kwargs)  # type: ignore[arg-type]
    assert len(r) == 0


def test_reassembler_rejects_bad_config() -> None:
    with pytest.raises(ValueError):
        Reassembler(max_pending=0)
    with pytest.raises(ValueError):
        Reassembler(timeout=0)


# ---------------------------------------------------------------------------
# Cross-check against smpplib.gsm (an independent implementation)
# ---------------------------------------------------------------------------

# smpplib's table puts "`" where 03.38 has "§" (0x5F) and lacks the form feed escape; and it
# slices encoded bytes blindly, so escapes are only compared when no split happens.
SMPPLIB_SAFE_GSM = GSM_BASIC.replace("§", "") + GSM_EXT.replace("\f", "")
PRINTABLE_ASCII_NO_BACKTICK = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "`")


@settings(max_examples=150)
@given(long_text(st.one_of(st.sampled_from(SMPPLIB_SAFE_GSM), st.sampled_from("çЖ☃é")), 120))
def test_single_segment_matches_smpplib(text: str) -> None:
    sm_parts, sm_encoding, sm_esm = smpplib.gsm.make_parts(text)
    assert sm_encoding == choose_data_coding(text)
    assert (sm_encoding == smpplib.consts.SMPP_ENCODING_DEFAULT) == is_gsm7(text)
    if count_segments(text) == 1:
        assert sm_parts == [encode(text, sm_encoding)]
        assert sm_esm == 0


@settings(max_examples=100)
@given(
    st.one_of(
        long_text(st.sampled_from(PRINTABLE_ASCII_NO_BACKTICK.translate({ord(c): None for c in GSM_EXT})), 500),
        long_text(st.sampled_from("абвгдежз ,.!?"), 250),
    )
)
def test_splitting_without_pairs_matches_smpplib(text: str) -> None:
    # No escapes and no astral characters: here smpplib's byte slicing is correct.
    sm_parts, sm_encoding, sm_esm = smpplib.gsm.make_parts(text)
    parts, dc = make_parts(text, method="udh")
    assert dc == sm_encoding
    assert len(parts) == len(sm_parts) == count_segments(text)
    if len(parts) > 1:
        assert sm_esm == smpplib.consts.SMPP_GSMFEAT_UDHI
        assert [p.short_message[6:] for p in parts] == [s[6:] for s in sm_parts]
    else:
        assert parts[0].short_message == sm_parts[0]


@settings(max_examples=50)
@given(long_text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), 400))
def test_latin1_splitting_matches_smpplib(text: str) -> None:
    sm_parts, sm_encoding, _ = smpplib.gsm.make_parts(text, encoding=smpplib.consts.SMPP_ENCODING_ISO88591)
    parts, dc = make_parts(text, DataCoding.LATIN1)
    assert dc == sm_encoding == 3
    assert [_payload_of(p) for p in parts] == [s[6:] if len(sm_parts) > 1 else s for s in sm_parts]
