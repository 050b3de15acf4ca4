"""Garbage-collector pauses are measured and shown on /metrics as a histogram and a longest-pause gauge."""

from __future__ import annotations

import gc

from simulator.core.metrics import GcPauses, Metrics
from simulator.core.records import MessageState
from simulator.smpp.status import Status


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


def test_every_state_and_status_counted_is_rendered() -> None:
    metrics = Metrics()
    for state in MessageState:  # a different count for each, so a state counted under another shows
        for _ in range(state.value + 1):
            metrics.finished(state)
            metrics.receipt(state)
    metrics.finished(MessageState.DELIVERED, 2.0)
    for status in (Status.ESME_ROK, Status.ESME_ROK, Status.ESME_RTHROTTLED):
        metrics.submitted(status)
    text = metrics.render({})
    for state in MessageState:
        finals = state.value + 1 + (state is MessageState.DELIVERED)
        assert f'carrier_sim_messages_final_total{{state="{state.name}"}} {finals}\n' in text
        assert f'carrier_sim_receipts_total{{state="{state.name}"}} {state.value + 1}\n' in text
    assert 'carrier_sim_submits_total{status="ESME_ROK",code="0x00"} 2\n' in text
    assert 'carrier_sim_submits_total{status="ESME_RTHROTTLED",code="0x58"} 1\n' in text
    assert 'carrier_sim_delivery_seconds_bucket{le="1"} 0\n' in text
    assert 'carrier_sim_delivery_seconds_bucket{le="2.5"} 1\n' in text
    assert "carrier_sim_delivery_seconds_count 1\n" in text


def test_nothing_counted_renders_no_counts_and_no_empty_histogram() -> None:
    text = Metrics().render({})
    assert "state=" not in text and "status=" not in text
    assert "delivery_seconds" not in text
