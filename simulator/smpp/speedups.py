"""The compiled codec primitives (`_speedups.c`), if they were built and are not switched off; else None.

`pip install` builds them where a C compiler is present. Set `CARRIER_SIM_PURE_PYTHON=1` to run the
pure-Python twins instead (tests and benchmarks compare the two); the behaviour is the same.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("CARRIER_SIM_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


SPEEDUPS = _load()
