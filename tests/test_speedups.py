"""The compiled twins are built where the suite requires them, and `CARRIER_SIM_PURE_PYTHON` switches them off."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

import pytest

from simulator import speedups
from simulator.core import scheduler
from simulator.smpp import codec, deliveries, session
from simulator.speedups import load

# scripts/test builds the extensions and sets this, so CI fails rather than skips when a build broke.
REQUIRED = os.environ.get("CARRIER_SIM_REQUIRE_SPEEDUPS", "") not in ("", "0")
# Leak tests: one leaked object a call, over 20,000 rounds of calls, would be well over this.
LEAK_BOUND = 64 * 1024


def memory_grown(exercise: Callable[[int], None]) -> int:
    """Bytes still allocated after `exercise(20_000)`, once `exercise(2_000)` has warmed caches up."""
    exercise(2_000)  # interned strings, small ints, free lists
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        exercise(20_000)
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_extensions_are_built_and_used_where_the_suite_requires_them():
    if not REQUIRED:
        pytest.skip("CARRIER_SIM_REQUIRE_SPEEDUPS is not set (scripts/test sets it)")
    smpp, core = load("simulator.smpp._speedups"), load("simulator.core._speedups")
    assert smpp is not None and core is not None
    assert deliveries.receipt_deliver_sm_body is smpp.receipt_deliver_sm_body
    assert codec._FAST_DECODERS[4] is smpp.decode_short_message  # submit_sm
    assert scheduler.Timer is core.Timer and issubclass(scheduler.Scheduler, core.TimerQueue)
    assert issubclass(session.Session, smpp.SessionCore)
    assert speedups.describe() == "compiled (C)"  # what `serve` announces


def test_pure_python_can_be_chosen():
    probe = ("from simulator.smpp import codec, deliveries, session; from simulator.core import scheduler, timers; "
             "print(codec.SPEEDUPS, deliveries.receipt_deliver_sm_body is deliveries.python_receipt_deliver_sm_body, "
             "codec._FAST_DECODERS[4] is codec._decode_short_message, scheduler.Timer is timers.Timer, "
             "issubclass(scheduler.Scheduler, timers.TimerQueue), "
             "session.Session.__mro__[1] is session.PythonSessionCore); "
             "from simulator.speedups import describe; print(describe())")
    env = dict(os.environ, CARRIER_SIM_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    first, banner = out.splitlines()
    assert first.split() == ["None", "True", "True", "True", "True", "True"]
    assert banner == "pure Python (CARRIER_SIM_PURE_PYTHON is set)"


def test_the_pure_python_twins_pass_the_scheduler_codec_session_and_server_suites():
    """The suites that exercise the twins most, run again with the compiled ones switched off."""
    env = dict(os.environ, CARRIER_SIM_PURE_PYTHON="1")
    suites = ["tests/core/test_scheduler.py", "tests/smpp/test_codec.py", "tests/smpp/test_deliveries.py",
              "tests/smpp/test_session.py", "tests/smpp/test_server.py"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites], env=env,
                            capture_output=True, text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout
