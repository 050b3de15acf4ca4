"""The compiled twins of hot pure-Python code (`_speedups.c` in a package), if built and not switched off.

`pip install` builds them where a C compiler is present. Set `CARRIER_SIM_PURE_PYTHON=1` to run the
pure-Python twins instead (tests and benchmarks compare the two); the behaviour is the same.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def pure_python() -> bool:
    """True when `CARRIER_SIM_PURE_PYTHON` asks for the pure-Python twins."""
    return os.environ.get("CARRIER_SIM_PURE_PYTHON", "") not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The compiled module `name` (e.g. "simulator.smpp._speedups"), or None: not built, or switched off."""
    if pure_python():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Every compiled twin the project has (setup.py builds them).
COMPILED = ("simulator.smpp._speedups", "simulator.core._speedups")


def describe() -> str:
    """How the per-message path runs, for the server's banner: compiled, or on the twins and why."""
    if pure_python():
        return "pure Python (CARRIER_SIM_PURE_PYTHON is set)"
    missing = [name for name in COMPILED if load(name) is None]
    if missing:
        return f"pure Python: {', '.join(missing)} not built (no C compiler at install?)"
    return "compiled (C)"
