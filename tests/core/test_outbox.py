"""The receipt/MO pipeline: round robin, holding while no bind is up, hand-back on detach, retries."""

from __future__ import annotations

from simulator.core.clock import ManualClock
from simulator.core.outbox import Delivery, Outbox, RetryPolicy
from simulator.core.records import Message, MessageState, Receipt
from simulator.core.scheduler import Scheduler


class FakeEndpoint:
    def __init__(self, mailbox: str, capacity: int = 100) -> None:
        self.mailbox = mailbox
        self.capacity = capacity
        self.offered: list[Delivery] = []
        self.open: list[Delivery] = []

    def has_capacity(self) -> bool:
        return len(self.open) < self.capacity

    def offer(self, delivery: Delivery) -> None:
        self.offered.append(delivery)
        self.open.append(delivery)


def receipt(n: int) -> Receipt:
    message = Message(id=f"m{n}", system_id="acme", channel="smpp", source="1", destination="2", data_coding=0,
                      payload=b"x", submitted_at=0.0)
    return Receipt(message=message, state=MessageState.DELIVERED, error=0, done_at=0.0)


def make(retry: RetryPolicy | None = None) -> tuple[Outbox, ManualClock, Scheduler]:
    clock = ManualClock()
    scheduler = Scheduler(clock)
    return Outbox(scheduler, clock, retry), clock, scheduler


def test_round_robin_alternates_between_endpoints() -> None:
    outbox, _, _ = make()
    a, b = FakeEndpoint("acme"), FakeEndpoint("acme")
    outbox.attach(a)
    outbox.attach(b)
    for n in range(10):
        outbox.post("acme", receipt(n))
    assert [d.item.message.id for d in a.offered] == [f"m{n}" for n in range(0, 10, 2)]
    assert [d.item.message.id for d in b.offered] == [f"m{n}" for n in range(1, 10, 2)]


def test_held_while_no_endpoint_then_flushed_in_order_on_attach() -> None:
    outbox, _, _ = make()
    for n in range(5):
        outbox.post("acme", receipt(n))
    outbox.post("other", receipt(99))
    assert outbox.held("acme") == 5 and outbox.held() == 6
    endpoint = FakeEndpoint("acme")
    outbox.attach(endpoint)
    assert [d.item.message.id for d in endpoint.offered] == ["m0", "m1", "m2", "m3", "m4"]
    assert outbox.held("acme") == 0 and outbox.held("other") == 1


def test_capacity_is_respected_and_settling_frees_it() -> None:
    outbox, _, _ = make()
    endpoint = FakeEndpoint("acme", capacity=2)
    outbox.attach(endpoint)
    for n in range(5):
        outbox.post("acme", receipt(n))
    assert len(endpoint.offered) == 2 and outbox.held("acme") == 3
    first = endpoint.open.pop(0)
    outbox.settle(first, endpoint, True)
    assert len(endpoint.offered) == 3 and outbox.delivered == 1


def test_detach_hands_in_flight_deliveries_back_in_order() -> None:
    outbox, _, _ = make()
    dropped = FakeEndpoint("acme", capacity=3)
    outbox.attach(dropped)
    for n in range(5):
        outbox.post("acme", receipt(n))
    outbox.detach(dropped)
    assert outbox.in_flight == 0 and outbox.held("acme") == 5
    fresh = FakeEndpoint("acme")
    outbox.attach(fresh)
    assert [d.item.message.id for d in fresh.offered] == ["m0", "m1", "m2", "m3", "m4"]
    # A late answer from the dropped bind is ignored: no double count.
    outbox.settle(dropped.offered[0], dropped, True)
    assert outbox.delivered == 0


def test_errors_are_retried_with_backoff_then_abandoned() -> None:
    outbox, clock, scheduler = make(RetryPolicy(first_delay=1.0, factor=2.0, max_delay=60.0, max_attempts=3))
    endpoint = FakeEndpoint("acme")
    outbox.attach(endpoint)
    outbox.post("acme", receipt(1))
    outbox.settle(endpoint.open.pop(), endpoint, False, "0x08")
    clock.advance(0.9)
    scheduler.run_due()
    assert len(endpoint.offered) == 1, "not before the back-off"
    clock.advance(0.2)
    scheduler.run_due()
    assert len(endpoint.offered) == 2
    outbox.settle(endpoint.open.pop(), endpoint, False, "0x08")
    clock.advance(2.1)
    scheduler.run_due()
    assert len(endpoint.offered) == 3
    outbox.settle(endpoint.open.pop(), endpoint, False, "0x08")
    clock.advance(100)
    scheduler.run_due()
    assert len(endpoint.offered) == 3 and outbox.abandoned == 1 and outbox.retried == 2
    events = [event for _, event, _ in endpoint.offered[0].item.message.history]
    assert events.count("delivery_retry") == 2 and events[-1] == "delivery_abandoned"


def test_pause_holds_deliveries_until_it_ends() -> None:
    outbox, clock, scheduler = make()
    endpoint = FakeEndpoint("acme")
    outbox.attach(endpoint)
    outbox.pause(30)
    outbox.post("acme", receipt(1))
    assert not endpoint.offered
    clock.advance(30)
    scheduler.run_due()
    assert len(endpoint.offered) == 1
