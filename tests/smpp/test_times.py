"""Tests for simulator.smpp.times: SMPP absolute/relative times and receipt dates."""

from __future__ import annotations

import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.smpp.times import (
    SECONDS_PER_MONTH,
    SECONDS_PER_YEAR,
    SmppTimeError,
    format_absolute,
    format_receipt_date,
    format_relative,
    parse_receipt_date,
    parse_smpp_time,
)

# Computed independently of the module: 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z.
Y2000 = 946_684_800
Y2100 = 4_102_444_800
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_empty_string_is_none() -> None:
    assert parse_smpp_time("", now=NOW) is None


def test_absolute_utc() -> None:
    # 2026-01-01 00:00:00.0 UTC
    assert parse_smpp_time("260101000000000+", now=0.0) == NOW


def test_absolute_tenths_honoured() -> None:
    assert parse_smpp_time("260101000000700+", now=0.0) == NOW + 0.7


def test_absolute_positive_offset_is_ahead_of_utc() -> None:
    # 12:00 local at UTC+2 (08 quarter-hours) is 10:00 UTC.
    assert parse_smpp_time("260101120000008+", now=0.0) == NOW + 10 * 3600


def test_absolute_negative_offset_is_behind_utc() -> None:
    # 12:00 local at UTC-05:30 (22 quarter-hours) is 17:30 UTC.
    assert parse_smpp_time("260101120000022-", now=0.0) == NOW + 17.5 * 3600


def test_absolute_offset_crosses_date_line() -> None:
    # 2026-01-01 01:00 at UTC+12 is 2025-12-31 13:00 UTC.
    assert parse_smpp_time("260101010000048+", now=0.0) == NOW - 11 * 3600


def test_absolute_leap_day() -> None:
    assert parse_smpp_time("240229000000000+", now=0.0) == calendar.timegm((2024, 2, 29, 0, 0, 0))


def test_absolute_ignores_now() -> None:
    assert parse_smpp_time("260101000000000+", now=123.0) == parse_smpp_time("260101000000000+", now=9e9)


def test_relative_fields_use_365_day_years_and_30_day_months() -> None:
    value = "010203040506000R"  # 1 y 2 mo 3 d 04:05:06
    expected = 365 * 86400 + 2 * 30 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6
    assert parse_smpp_time(value, now=NOW) == NOW + expected


def test_relative_ignores_tnn() -> None:
    assert parse_smpp_time("000000000100948R", now=NOW) == NOW + 60


def test_relative_fields_are_a_duration_not_range_checked() -> None:
    # 25 hours and 90 minutes are meaningful as a period.
    assert parse_smpp_time("000000259000000R", now=NOW) == NOW + 25 * 3600 + 90 * 60


def test_relative_zero_is_now() -> None:
    assert parse_smpp_time("000000000000000R", now=NOW) == NOW


def test_result_is_float_even_for_int_now() -> None:
    result = parse_smpp_time("000000000001000R", now=100)
    assert isinstance(result, float) and result == 101.0


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("26010100000000+", "16 characters"),
        ("2601010000000000+", "16 characters"),
        ("26010100000000a+", "digits"),
        ("2601010000 0000+", "digits"),
        ("26010100000000²+", "digits"),
        ("261301000000000+", "month 13"),
        ("260001000000000+", "month 00"),
        ("260100000000000+", "day 00"),
        ("260230000000000+", "day 30"),
        ("250229000000000+", "day 29"),
        ("260101240000000+", "hour 24"),
        ("260101006000000+", "minute 60"),
        ("260101000060000+", "second 60"),
        ("260101000000049+", "49 quarter-hours"),
        ("260101000000000Z", "'Z'"),
        ("260101000000000 ", "' '"),
        ("000000000000000r", "'r'"),
        ("abcdefghijklmnoR", "digits"),
    ],
)
def test_invalid_raises(value: str, fragment: str) -> None:
    with pytest.raises(SmppTimeError) as exc:
        parse_smpp_time(value, now=NOW)
    assert fragment in str(exc.value)
    assert repr(value) in str(exc.value)


def test_smpp_time_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_smpp_time("bogus", now=NOW)


def test_format_absolute_defaults_to_utc() -> None:
    assert format_absolute(NOW + 0.7) == "260101000000700+"


def test_format_absolute_offsets() -> None:
    assert format_absolute(NOW + 10 * 3600, quarter_hours=8) == "260101120000008+"
    assert format_absolute(NOW + 17.5 * 3600, quarter_hours=-22) == "260101120000022-"


def test_format_absolute_rounds_to_nearest_tenth() -> None:
    assert format_absolute(NOW + 0.96) == "260101000001000+"
    assert format_absolute(NOW + 0.94) == "260101000000900+"


@pytest.mark.parametrize("qh", [49, -49])
def test_format_absolute_rejects_bad_offset(qh: int) -> None:
    with pytest.raises(SmppTimeError, match="quarter-hours"):
        format_absolute(NOW, quarter_hours=qh)


@pytest.mark.parametrize("epoch", [Y2000 - 1, Y2100, float("nan"), float("inf")])
def test_format_absolute_rejects_unrepresentable(epoch: float) -> None:
    with pytest.raises(SmppTimeError):
        format_absolute(epoch)


def test_format_absolute_range_applies_to_local_date() -> None:
    assert format_absolute(Y2000) == "000101000000000+"
    with pytest.raises(SmppTimeError, match="2000-2099"):
        format_absolute(Y2000, quarter_hours=-4)  # 1999-12-31 23:00 local


@given(
    tenths=st.integers(min_value=Y2000 * 10, max_value=Y2100 * 10 - 1),
    quarter_hours=st.integers(min_value=-48, max_value=48),
)
def test_absolute_round_trip(tenths: int, quarter_hours: int) -> None:
    epoch = tenths / 10
    local = epoch + quarter_hours * 900
    if not Y2000 <= local < Y2100:
        with pytest.raises(SmppTimeError):
            format_absolute(epoch, quarter_hours=quarter_hours)
        return
    text = format_absolute(epoch, quarter_hours=quarter_hours)
    assert len(text) == 16
    assert text[15] == ("-" if quarter_hours < 0 else "+")
    assert int(text[13:15]) == abs(quarter_hours)
    assert parse_smpp_time(text, now=0.0) == epoch


def test_format_relative_examples() -> None:
    assert format_relative(0) == "000000000000000R"
    assert format_relative(90) == "000000000130000R"
    assert format_relative(2 * 86400 + 3 * 3600) == "000002030000000R"
    assert format_relative(SECONDS_PER_YEAR + SECONDS_PER_MONTH) == "010100000000000R"
    assert format_relative(1.6) == "000000000002000R"  # whole seconds only


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), 100 * SECONDS_PER_YEAR])
def test_format_relative_rejects(seconds: float) -> None:
    with pytest.raises(SmppTimeError):
        format_relative(seconds)


@given(
    seconds=st.integers(min_value=0, max_value=100 * SECONDS_PER_YEAR - 1),
    now=st.floats(min_value=0, max_value=4e9, allow_nan=False),
)
def test_relative_round_trip(seconds: int, now: float) -> None:
    text = format_relative(seconds)
    assert len(text) == 16 and text.endswith("000R")
    assert parse_smpp_time(text, now=now) == now + seconds


def test_format_receipt_date() -> None:
    epoch = calendar.timegm((2024, 3, 5, 14, 7, 59)) + 0.9
    assert format_receipt_date(epoch, seconds=False) == "2403051407"
    assert format_receipt_date(epoch, seconds=True) == "240305140759"  # truncated, not rounded


def test_parse_receipt_date_both_lengths() -> None:
    assert parse_receipt_date("2403051407") == calendar.timegm((2024, 3, 5, 14, 7, 0))
    assert parse_receipt_date("240305140759") == calendar.timegm((2024, 3, 5, 14, 7, 59))


@pytest.mark.parametrize("text", ["", "240305140", "24030514075", "2403051407599", "24130514075", "2413051407", "24030514 7", "2402301407"])
def test_parse_receipt_date_rejects(text: str) -> None:
    with pytest.raises(SmppTimeError):
        parse_receipt_date(text)


def test_format_receipt_date_range() -> None:
    with pytest.raises(SmppTimeError):
        format_receipt_date(Y2100, seconds=True)


@given(seconds=st.integers(min_value=Y2000, max_value=Y2100 - 1), with_seconds=st.booleans())
def test_receipt_date_round_trip(seconds: int, with_seconds: bool) -> None:
    text = format_receipt_date(seconds + 0.5, seconds=with_seconds)
    assert len(text) == (12 if with_seconds else 10)
    expected = seconds if with_seconds else seconds - seconds % 60
    assert parse_receipt_date(text) == expected
