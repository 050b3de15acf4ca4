"""A message's history: the usual steps are implied by its fields (no event list), the unusual ones logged."""

from __future__ import annotations

from simulator.config import Config
from simulator.core.carrier import Carrier, Submission
from simulator.core.clock import ManualClock
from simulator.core.outbox import Delivery
from simulator.core.records import MessageState
from simulator.core.scenario import parse_scenario


class Endpoint:
    """An account's receiving end that answers every delivery with `answers` in turn (True = ok)."""

    def __init__(self, carrier: Carrier, answers: list[bool] | None = None) -> None:
        self.mailbox = "acme"
        self.carrier = carrier
        self.answers = list(answers or [])
        self.offered: list[Delivery] = []

    def has_capacity(self) -> bool:
        return True

    def offer(self, delivery: Delivery) -> None:
        self.offered.append(delivery)
        ok = self.answers.pop(0) if self.answers else True
        self.carrier.outbox.settle(delivery, self, ok, "" if ok else "answered 0x08")


def carrier_with(receipt: str) -> tuple[Carrier, ManualClock]:
    clock = ManualClock()
    scenario = parse_scenario(f"seed: 1\ndefaults:\n  receipt: {{states: [{{state: DELIVRD}}], delay: 2s{receipt}}}\n")
    return Carrier(Config(), clock=clock, scenario=scenario), clock


def submit(carrier: Carrier):
    result = carrier.submit(Submission("acme", "smpp", "12345", "447700900001", short_message=b"hi",
                                       registered_delivery=1))
    assert result.status == 0 and result.message is not None
    return result.message


def test_the_usual_life_needs_no_event_list() -> None:
    carrier, clock = carrier_with("")
    carrier.outbox.attach(Endpoint(carrier))
    message = submit(carrier)
    clock.advance(3.0)  # the timer runs a second late: the final step keeps the scenario's moment
    carrier.scheduler.run_due()
    assert message.events is None
    start = message.submitted_at
    assert [(round(at - start, 3), event, detail) for at, event, detail in message.history] == [
        (0.0, "submitted", "smpp"),
        (0.0, "scheduled", "due 2.000s after submit"),
        (2.0, "final", "DELIVERED"),
        (3.0, "receipt_queued", "DELIVERED"),
        (3.0, "receipt_delivered:DELIVERED", ""),
    ]


def test_a_duplicate_receipt_and_a_retry_are_logged() -> None:
    carrier, clock = carrier_with(", duplicate: 1.0")
    endpoint = Endpoint(carrier, answers=[True, False, True])
    carrier.outbox.attach(endpoint)
    message = submit(carrier)
    clock.advance(2.0)
    carrier.scheduler.run_due()
    clock.advance(1.0)  # the retry's back-off
    carrier.scheduler.run_due()
    events = [(event, detail) for _, event, detail in message.history]
    assert events.count(("receipt_queued", "DELIVERED")) == 2, "the copy is queued too"
    assert ("receipt_delivered:DELIVERED", "") in events, "the first copy, first time"
    assert ("receipt_delivered:DELIVERED", "attempt 2") in events, "the copy, after its retry"
    assert any(event == "delivery_retry" for event, _ in events)
    assert len(endpoint.offered) == 3


def test_a_cancelled_message_has_no_final_step() -> None:
    carrier, clock = carrier_with("")
    message = submit(carrier)
    assert carrier.cancel(message.id, "acme")
    clock.advance(3.0)
    carrier.scheduler.run_due()
    events = [event for _, event, _ in message.history]
    assert message.state is MessageState.DELETED
    assert "cancelled" in events and "final" not in events and "receipt_queued" not in events
