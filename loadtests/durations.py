"""Durations as people write them on a command line or in YAML: `500ms`, `20s`, `2m`, `1h30m`, `0.25`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h)?", re.IGNORECASE)
_SECONDS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | float | int) -> float:
    """Seconds from `500ms`, `20s`, `2m`, `1h30m` or a bare number of seconds; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    text = value.strip()
    position, total, parts = 0, 0.0, 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ValueError(f"not a duration: {value!r} (write e.g. 500ms, 20s, 2m, 1h30m)")
        unit = (match.group(2) or "s").lower()
        if match.group(2) is None and parts:
            raise ValueError(f"not a duration: {value!r} (a unit is missing after the first part)")
        total += float(match.group(1)) * _SECONDS[unit]
        position = match.end()
        while position < len(text) and text[position] == " ":
            position += 1
        parts += 1
    if not parts:
        raise ValueError(f"not a duration: {value!r}")
    return total


def format_ms(milliseconds: float | None) -> str:
    """A latency for a table: `0.412 ms`, `41.2 ms`, `1.53 s`, or `-` when unknown."""
    if milliseconds is None:
        return "-"
    if milliseconds < 10:
        return f"{milliseconds:.3f} ms"
    if milliseconds < 1000:
        return f"{milliseconds:.1f} ms"
    return f"{milliseconds / 1000:.2f} s"
