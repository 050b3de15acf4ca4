"""The serve process's collector: young generations collected on a clock while there is traffic."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from simulator import app
from simulator.core.clock import ManualClock
from simulator.core.scheduler import Scheduler


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The generations the pacer asks the collector for, recorded instead of collected."""
    asked: list[int] = []
    monkeypatch.setattr(app, "gc", SimpleNamespace(collect=asked.append))
    monkeypatch.setattr(app, "_gc_tuned", True)
    monkeypatch.setattr(app, "YOUNG_COLLECTION_PERIOD", 0.01)
    monkeypatch.setattr(app, "IDLE_COLLECTION_PERIOD", 0.01)
    return asked


@pytest.mark.asyncio
async def test_the_young_generations_are_collected_while_timers_are_scheduled(collections: list[int]) -> None:
    scheduler = Scheduler(ManualClock())
    pacer = asyncio.create_task(app.collect_young_on_a_clock(scheduler))
    try:
        for _ in range(10):
            scheduler.call_later(60.0, lambda: None)  # traffic
            await asyncio.sleep(0.015)
        assert len(collections) >= 3 and set(collections) == {1}, collections  # gen 0 and 1, about a look each
        await asyncio.sleep(0.05)  # the pacer's last look at the traffic
        collections.clear()
        await asyncio.sleep(0.2)
        assert collections == []  # nothing scheduled: nothing collected on the clock
        scheduler.call_later(60.0, lambda: None)
        await asyncio.sleep(0.05)
        assert collections == [1]  # traffic again
    finally:
        pacer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pacer


@pytest.mark.asyncio
async def test_without_tune_gc_it_leaves_the_collector_alone(collections: list[int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "_gc_tuned", False)
    scheduler = Scheduler(ManualClock())
    scheduler.call_later(1.0, lambda: None)
    # Returns at once: an embedded simulator (tests, the pytest plugin) keeps the default collector.
    await asyncio.wait_for(app.collect_young_on_a_clock(scheduler), 1.0)
    assert collections == []
