"""A carrier on a manual clock with a capturing endpoint: scenarios tested without sockets or sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.config import Config
from simulator.core.carrier import Carrier, Submission, SubmitResult
from simulator.core.clock import ManualClock
from simulator.core.outbox import Delivery
from simulator.core.records import Receipt
from simulator.core.scenario import Scenario, load_scenario
from simulator.smpp import text as sms_text


@dataclass
class Capture:
    """An always-ready endpoint for one account that records what it is given and accepts it."""

    carrier: Carrier
    mailbox: str
    items: list = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def has_capacity(self) -> bool:
        return True

    def offer(self, delivery: Delivery) -> None:
        self.items.append(delivery.item)
        self.times.append(self.carrier.clock.now())
        self.carrier.outbox.settle(delivery, self, True)

    @property
    def receipts(self) -> list[Receipt]:
        return [item for item in self.items if isinstance(item, Receipt)]


class Harness:
    def __init__(self, scenario: Scenario | str) -> None:
        self.clock = ManualClock()
        if isinstance(scenario, str):
            scenario = load_scenario(scenario)
        self.carrier = Carrier(Config(), clock=self.clock, scenario=scenario)
        self.captures: dict[str, Capture] = {}

    def capture(self, system_id: str = "acme") -> Capture:
        capture = self.captures.get(system_id)
        if capture is None:
            capture = self.captures[system_id] = Capture(self.carrier, system_id)
            self.carrier.outbox.attach(capture)
        return capture

    def submit(self, destination: str = "447700900001", text: str = "hello", *, system_id: str = "acme",
               source: str = "12345", registered_delivery: int = 1, channel: str = "smpp") -> SubmitResult:
        return self.carrier.submit(Submission(
            system_id=system_id, channel=channel, source=source, destination=destination,
            short_message=sms_text.encode(text, 0), registered_delivery=registered_delivery,
        ))

    def advance(self, seconds: float, step: float | None = None) -> None:
        """Move time on, firing every timer due on the way (in steps, so phases change in between)."""
        step = step or seconds
        remaining = seconds
        while remaining > 1e-12:
            jump = min(step, remaining)
            self.clock.advance(jump)
            self.carrier.scheduler.run_due()
            remaining -= jump
