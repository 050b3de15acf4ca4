"""The harness's own GSM-7/UCS-2 encoder and long-message splitter."""

from __future__ import annotations

import pytest

from loadtests import text as sms


def _body(segment: sms.Segment) -> bytes:
    return segment.short_message[6:] if segment.esm_class & sms.UDHI else segment.short_message


def test_short_gsm_text_is_one_segment_without_udh():
    [segment] = sms.segments("hello @ world")
    assert segment.esm_class == 0 and segment.data_coding == sms.GSM7
    assert segment.short_message == b"hello \x00 world"  # '@' is septet 0x00


def test_escape_characters_count_two_septets_and_stay_whole_across_a_split():
    text = "a" * 152 + "€" + "b" * 10  # the euro's escape pair would straddle septets 153/154
    assert sms.units(text, sms.GSM7) == 164
    parts = sms.segments(text, reference=7)
    assert len(parts) == 2
    first, second = (_body(part) for part in parts)
    assert len(first) == 152 and not first.endswith(b"\x1b")
    assert second.startswith(b"\x1b\x65")


def test_surrogate_pairs_stay_whole_across_a_split():
    text = "ж" * 66 + "😀" + "ж" * 10  # the emoji's two UTF-16 units would straddle units 67/68
    parts = sms.segments(text, sms.UCS2, reference=1)
    assert [len(_body(p)) // 2 for p in parts] == [66, 12]
    assert b"".join(_body(p) for p in parts).decode("utf-16-be") == text


def test_udh_carries_reference_total_and_sequence():
    parts = sms.segments("x" * 400, reference=0x1A2)
    assert [p.short_message[:6] for p in parts] == [bytes((5, 0, 3, 0xA2, 3, n)) for n in (1, 2, 3)]
    assert all(p.esm_class == sms.UDHI for p in parts)
    assert [len(_body(p)) for p in parts] == [153, 153, 94]


def test_capacity_boundaries():
    assert len(sms.segments("x" * 160)) == 1 and len(sms.segments("x" * 161)) == 2
    assert len(sms.segments("ж" * 70)) == 1 and len(sms.segments("ж" * 71)) == 2


def test_text_outside_gsm_goes_ucs2_and_gsm_refuses_it():
    assert sms.choose_coding("Привет") == sms.UCS2
    with pytest.raises(sms.EncodingError):
        sms.encode("Привет", sms.GSM7)
