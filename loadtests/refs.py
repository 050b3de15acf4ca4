"""The harness's own message reference: `ref:<12 hex>` written into every text, read back anywhere."""

from __future__ import annotations

import random
import re
from typing import Final

REF_PATTERN: Final = re.compile(r"ref:([0-9a-f]{12})")
PREFIX_LENGTH: Final = len("ref:") + 12 + 1  # the reference and the space after it


class RefSource:
    """Unique references for one process: a random 24-bit process tag, then a 24-bit counter.

    The tag keeps references from different workers apart without coordination; the counter keeps
    them unique within a process for 16 million messages, then wraps onto a fresh tag.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._tag = self._rng.getrandbits(24)
        self._counter = 0

    def next(self) -> str:
        self._counter += 1
        if self._counter > 0xFFFFFF:
            self._tag, self._counter = self._rng.getrandbits(24), 1
        return f"{self._tag:06x}{self._counter:06x}"


def tag(ref: str) -> str:
    """How a reference appears in a text: `ref:0a1b2c000001 `."""
    return f"ref:{ref} "


def find_ref(text: str) -> str | None:
    """The first reference in a text (a message body, a receipt's `text:` field), or None."""
    match = REF_PATTERN.search(text)
    return match.group(1) if match else None
