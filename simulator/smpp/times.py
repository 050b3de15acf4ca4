"""SMPP time fields: absolute/relative ``YYMMDDhhmmsstnnp`` (SMPP 3.4 §7.1.1) and delivery-receipt dates."""

from __future__ import annotations

import calendar
import math
import re
from datetime import datetime, timezone
from typing import Final

__all__ = [
    "SmppTimeError",
    "SECONDS_PER_YEAR",
    "SECONDS_PER_MONTH",
    "parse_smpp_time",
    "format_absolute",
    "format_relative",
    "format_receipt_date",
    "parse_receipt_date",
]

# SMPP carries only a two-digit year; every SMSC in service reads it as 20YY.
_CENTURY: Final = 2000
_MIN_EPOCH: Final = calendar.timegm((2000, 1, 1, 0, 0, 0))
_END_EPOCH: Final = calendar.timegm((2100, 1, 1, 0, 0, 0))

# A relative period says "MM months", not which months, so its length has to be
# fixed by convention (the spec gives none): 365-day years and 30-day months,
# which keeps relative times independent of the calendar date they start on.
SECONDS_PER_YEAR: Final = 365 * 86_400
SECONDS_PER_MONTH: Final = 30 * 86_400

_QUARTER_HOUR: Final = 900
_MAX_QUARTER_HOURS: Final = 48

_DIGITS_RE: Final = re.compile(r"[0-9]+")  # str.isdigit() would also accept '²' and Arabic-Indic digits
_RECEIPT_DATE_RE: Final = re.compile(r"[0-9]{10}(?:[0-9]{2})?")


class SmppTimeError(ValueError):
    """An SMPP time string or value that cannot be parsed or represented."""


def _check_fields(what: str, value: str, year: int, month: int, day: int, hour: int, minute: int, second: int) -> None:
    if not 1 <= month <= 12:
        raise SmppTimeError(f"invalid {what} {value!r}: month {month:02d} is not 01-12")
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        raise SmppTimeError(f"invalid {what} {value!r}: day {day:02d} is not 01-{last_day} for {year}-{month:02d}")
    if hour > 23:
        raise SmppTimeError(f"invalid {what} {value!r}: hour {hour:02d} is not 00-23")
    if minute > 59:
        raise SmppTimeError(f"invalid {what} {value!r}: minute {minute:02d} is not 00-59")
    if second > 59:
        # SMPP has no leap-second notation; 60 would be a client bug, not a leap second.
        raise SmppTimeError(f"invalid {what} {value!r}: second {second:02d} is not 00-59")


def parse_smpp_time(value: str, *, now: float) -> float | None:
    """Return the Unix time a schedule_delivery_time / validity_period denotes.

    ``''`` (the NULL C-octet string: "immediate" / "SMSC default validity")
    gives None. An absolute time gives its instant in epoch seconds, tenths
    honoured and the ``nn`` quarter-hour UTC offset applied. A relative time
    gives ``now`` plus the period, with 365-day years and 30-day months; its
    fields are a plain duration, so they are not range-checked (``000000250000000R``
    is 25 hours) and ``tnn`` are ignored. Raises SmppTimeError otherwise.
    """
    if value == "":
        return None
    if len(value) != 16:
        raise SmppTimeError(f"invalid SMPP time {value!r}: expected 16 characters YYMMDDhhmmsstnnp, got {len(value)}")
    digits, p = value[:15], value[15]
    if not _DIGITS_RE.fullmatch(digits):
        raise SmppTimeError(f"invalid SMPP time {value!r}: the first 15 characters must be digits")
    yy, mo, dd, hh, mi, ss = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    if p == "R":
        period = (
            yy * SECONDS_PER_YEAR + mo * SECONDS_PER_MONTH + dd * 86_400 + hh * 3_600 + mi * 60 + ss
        )
        return float(now + period)
    if p not in "+-":
        raise SmppTimeError(f"invalid SMPP time {value!r}: last character must be '+', '-' or 'R', got {p!r}")
    tenths, nn = int(digits[12]), int(digits[13:15])
    if nn > _MAX_QUARTER_HOURS:
        raise SmppTimeError(f"invalid SMPP time {value!r}: UTC offset {nn:02d} quarter-hours is not 00-48")
    year = _CENTURY + yy
    _check_fields("SMPP time", value, year, mo, dd, hh, mi, ss)
    local = calendar.timegm((year, mo, dd, hh, mi, ss))
    # The fields are local time 'nn' quarter-hours ahead of ('+') or behind ('-') UTC.
    offset = nn * _QUARTER_HOUR * (1 if p == "+" else -1)
    # Divide integer tenths once so a formatted k/10 parses back to exactly k/10.
    return ((local - offset) * 10 + tenths) / 10


def _check_epoch(epoch: float) -> None:
    if not math.isfinite(epoch):
        raise SmppTimeError(f"cannot represent {epoch!r} as an SMPP time")


def format_absolute(epoch: float, *, quarter_hours: int = 0) -> str:
    """Format an instant as an absolute SMPP time, rounded to the nearest tenth.

    ``quarter_hours`` (-48..48) is the local offset from UTC the fields are
    written in; 0 gives UTC (``...000+``). The local date must fall in 2000-2099.
    """
    _check_epoch(epoch)
    if not -_MAX_QUARTER_HOURS <= quarter_hours <= _MAX_QUARTER_HOURS:
        raise SmppTimeError(f"UTC offset of {quarter_hours} quarter-hours is outside -48..48")
    # Work in integer tenths so rounding happens once and the round trip is exact.
    total_tenths = round(epoch * 10) + quarter_hours * _QUARTER_HOUR * 10
    local_seconds, tenths = divmod(total_tenths, 10)
    if not _MIN_EPOCH <= local_seconds < _END_EPOCH:
        raise SmppTimeError(f"cannot represent {epoch!r} (offset {quarter_hours} quarter-hours): year outside 2000-2099")
    stamp = datetime.fromtimestamp(local_seconds, tz=timezone.utc).strftime("%y%m%d%H%M%S")
    sign = "-" if quarter_hours < 0 else "+"
    return f"{stamp}{tenths}{abs(quarter_hours):02d}{sign}"


def format_relative(seconds: float) -> str:
    """Format a non-negative period as a relative SMPP time (``...000R``), rounded to whole seconds.

    Uses the same 365-day year / 30-day month convention as parse_smpp_time, so
    the round trip is exact; at most 99 years.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise SmppTimeError(f"a relative SMPP time needs a finite, non-negative period; got {seconds!r}")
    rest = round(seconds)  # relative times have no tenths field
    years, rest = divmod(rest, SECONDS_PER_YEAR)
    if years > 99:
        raise SmppTimeError(f"period of {seconds!r} s exceeds the 99 years a relative SMPP time can hold")
    months, rest = divmod(rest, SECONDS_PER_MONTH)
    days, rest = divmod(rest, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def format_receipt_date(epoch: float, *, seconds: bool) -> str:
    """Format a receipt ``submit date``/``done date`` in UTC: ``YYMMDDhhmm``, or ``YYMMDDhhmmss`` if ``seconds``.

    Truncates (never rounds up) so a done date cannot appear to precede the instant it records.
    """
    _check_epoch(epoch)
    whole = math.floor(epoch)
    key = (whole, seconds)
    text = _receipt_dates.get(key)
    if text is not None:
        return text  # receipts come in bursts: each second is formatted once
    if not _MIN_EPOCH <= whole < _END_EPOCH:
        raise SmppTimeError(f"cannot represent {epoch!r} as a receipt date: year outside 2000-2099")
    text = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M")
    if len(_receipt_dates) >= 512:
        _receipt_dates.clear()
    _receipt_dates[key] = text
    return text


_receipt_dates: dict[tuple[int, bool], str] = {}


def parse_receipt_date(text: str) -> float:
    """Parse a receipt date (``YYMMDDhhmm`` or ``YYMMDDhhmmss``, read as UTC) to epoch seconds."""
    if not _RECEIPT_DATE_RE.fullmatch(text):
        raise SmppTimeError(f"invalid receipt date {text!r}: expected 10 or 12 digits YYMMDDhhmm[ss]")
    yy, mo, dd, hh, mi = (int(text[i : i + 2]) for i in range(0, 10, 2))
    ss = int(text[10:12]) if len(text) == 12 else 0
    year = _CENTURY + yy
    _check_fields("receipt date", text, year, mo, dd, hh, mi, ss)
    return float(calendar.timegm((year, mo, dd, hh, mi, ss)))
