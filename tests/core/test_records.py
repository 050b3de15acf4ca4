"""Tests for simulator.core.records: messages and receipts stay out of the cyclic collector, and are still freed."""

from __future__ import annotations

import gc
import tracemalloc
from collections import deque

from simulator.config import Config
from simulator.core.carrier import Carrier
from simulator.core.handsets import HandsetConfig
from simulator.core.records import Message, MessageState, Receipt
from tests.core.scenario_harness import Harness


def test_messages_and_receipts_are_not_tracked_by_the_cyclic_collector() -> None:
    harness = Harness("happy-path")
    capture = harness.capture()
    result = harness.submit()
    harness.advance(60.0)
    assert result.message is not None and not gc.is_tracked(result.message)
    assert capture.receipts and not any(gc.is_tracked(receipt) for receipt in capture.receipts)
    assert not gc.is_tracked(Receipt(result.message, MessageState.DELIVERED, 0, 0.0))


class _Forgetful:
    """An endpoint that takes every delivery and keeps nothing of it."""

    def __init__(self, carrier: Carrier, mailbox: str) -> None:
        self.carrier = carrier
        self.mailbox = mailbox
        self.taken = 0

    def has_capacity(self) -> bool:
        return True

    def offer(self, delivery) -> None:
        self.taken += 1
        self.carrier.outbox.settle(delivery, self, True)


def test_messages_evicted_from_the_store_are_freed() -> None:
    # Untracked objects are freed by reference counting alone: a cycle through a message would leak
    # it. Past the store's capacity, memory must stay flat however many more messages go through.
    harness = Harness("happy-path")
    # Bounds small enough that one batch fills them: the store, each handset's inbox, the decision log.
    config = Config(store_capacity=200, handsets=HandsetConfig(inbox_size=1))
    harness.carrier = Carrier(config, clock=harness.clock, scenario=harness.carrier.scenario)
    harness.carrier.scenario.log = deque(maxlen=10)  # its own bound is 100,000
    endpoint = _Forgetful(harness.carrier, "acme")
    harness.carrier.outbox.attach(endpoint)

    def batch() -> None:
        for n in range(2_000):
            harness.submit(destination=f"4477009{n % 1000:05d}")
        harness.advance(60.0)

    tracemalloc.start()  # before the first batch: what the second frees must have been traced
    try:
        batch()  # fills the store, the handsets' inboxes and the other bounded tables
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        batch()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert endpoint.taken == 4_000  # every message got its receipt
    # 2,000 messages kept would take more than 450 KB (232 bytes each, before their receipts).
    assert grown < 50_000, grown


def test_a_message_keeps_its_fields_and_history() -> None:
    message = Message("m1", "acme", "smpp", "12345", "447700900001", 0, b"hi", 100.0, 1)
    assert (message.registered_delivery, message.esm_class, message.state) == (1, 0, MessageState.ENROUTE)
    message.log(101.0, "delivery_retry", "attempt 2")
    message.log(102.0, "delivery_abandoned")
    assert message.history == [(100.0, "submitted", "smpp"), (101.0, "delivery_retry", "attempt 2"),
                               (102.0, "delivery_abandoned", "")]
