"""Garbage-collector pauses are measured and shown on /metrics as a histogram and a longest-pause gauge."""

from __future__ import annotations

import gc

from simulator.core.metrics import GcPauses, Metrics


def test_gc_pauses_are_counted_and_rendered(monkeypatch) -> None:
    pauses = GcPauses()
    try:
        pauses.install()
        pauses.install()  # once only
        assert gc.callbacks.count(pauses._callback) == 1
        for _ in range(3):
            gc.collect(0)
    finally:
        gc.callbacks.remove(pauses._callback)  # the interpreter's own list: leave it as it was
    assert pauses.histogram.count >= 3  # the three asked for, and any the allocations above triggered
    assert 0.0 < pauses.longest <= pauses.histogram.total
    monkeypatch.setattr("simulator.core.metrics.GC_PAUSES", pauses)
    text = Metrics().render({})
    assert f"carrier_sim_gc_pause_seconds_count {pauses.histogram.count}" in text
    assert f"carrier_sim_gc_pause_max_seconds {pauses.longest:.6f}" in text


def test_no_gc_lines_before_any_pause(monkeypatch) -> None:
    monkeypatch.setattr("simulator.core.metrics.GC_PAUSES", GcPauses())
    assert "gc_pause" not in Metrics().render({})
