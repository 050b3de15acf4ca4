"""The one receipt/MO pipeline: round-robin to an account's live endpoints, held while none is up, retried with back-off."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Protocol

import msgspec

from .clock import Clock
from .records import Inbound, Item, MessageState, Receipt
from .scheduler import Scheduler

_log = logging.getLogger("carrier_sim.outbox")


class Endpoint(Protocol):
    """Something that can deliver items to one account: an SMPP receiver bind, a webhook poster."""

    mailbox: str  # the account's system_id

    def has_capacity(self) -> bool: ...

    def offer(self, delivery: Delivery) -> None:
        """Send now; report the result later with Outbox.settle()."""


class Delivery(msgspec.Struct, eq=False):  # one per receipt or MO: __init__ in C; compared by identity
    id: int
    mailbox: str
    item: Item
    created_at: float
    attempts: int = 0
    endpoint: Endpoint | None = None  # where it is in flight


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How receipts and MOs are retried after an error response or no response."""

    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))


class Outbox:
    """Routes each delivery to one of its mailbox's endpoints, round robin.

    While a mailbox has no endpoint with room, deliveries wait in its queue (in order) and go out
    as soon as an endpoint attaches or frees capacity. An endpoint that detaches hands its
    in-flight deliveries back, so nothing is lost when a client drops its bind before answering.
    """

    def __init__(self, scheduler: Scheduler, clock: Clock, retry: RetryPolicy | None = None) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self._ids = count(1)
        self._endpoints: dict[str, list[Endpoint]] = {}
        self._turn: dict[str, int] = {}
        self._waiting: dict[str, deque[Delivery]] = {}
        self._in_flight: dict[int, Delivery] = {}
        self.paused_until: float = 0.0
        self.delivered = 0
        self.abandoned = 0
        self.retried = 0

    # ------------------------------------------------------------------ endpoints

    def attach(self, endpoint: Endpoint) -> None:
        self._endpoints.setdefault(endpoint.mailbox, []).append(endpoint)
        self.pump(endpoint.mailbox)

    def detach(self, endpoint: Endpoint) -> None:
        endpoints = self._endpoints.get(endpoint.mailbox)
        if endpoints and endpoint in endpoints:
            endpoints.remove(endpoint)
            if not endpoints:
                del self._endpoints[endpoint.mailbox]
        returned = [d for d in self._in_flight.values() if d.endpoint is endpoint]
        for delivery in returned:
            del self._in_flight[delivery.id]
            delivery.endpoint = None
        if returned:
            # Back at the head of the queue, in their original order.
            waiting = self._queue(endpoint.mailbox)
            waiting.extendleft(sorted(returned, key=lambda d: d.id, reverse=True))
            self.pump(endpoint.mailbox)

    def endpoints(self, mailbox: str) -> list[Endpoint]:
        return list(self._endpoints.get(mailbox, ()))

    # ------------------------------------------------------------------ deliveries

    def post(self, mailbox: str, item: Item) -> Delivery:
        delivery = Delivery(next(self._ids), mailbox, item, self.clock.now())
        waiting = self._queue(mailbox)
        waiting.append(delivery)
        if len(waiting) == 1:
            # Only a queue that was empty can move now: deliveries already waiting wait for room, and
            # whatever makes room (an answer, a bind, the end of a pause) pumps the queue itself.
            self.pump(mailbox)
        return delivery

    def _queue(self, mailbox: str) -> deque[Delivery]:
        waiting = self._waiting.get(mailbox)
        if waiting is None:  # not setdefault: that would build a deque on every post
            waiting = self._waiting[mailbox] = deque()
        return waiting

    def pump(self, mailbox: str) -> None:
        waiting = self._waiting.get(mailbox)
        if not waiting or (self.paused_until and self.clock.now() < self.paused_until):
            return  # (the clock is read only while receipts are paused: pump() runs for every receipt)
        endpoints = self._endpoints.get(mailbox)
        if not endpoints:
            return
        size = len(endpoints)
        if size == 1:  # the usual case, one bind per account: no turns to take
            endpoint = endpoints[0]
            while waiting and endpoint.has_capacity():
                self._hand(waiting.popleft(), endpoint)
            return
        turn = self._turn.get(mailbox, 0)
        while waiting:
            for step in range(size):
                endpoint = endpoints[(turn + step) % size]
                if endpoint.has_capacity():
                    turn = (turn + step + 1) % size
                    break
            else:
                break  # every endpoint is full; settle() pumps again
            self._hand(waiting.popleft(), endpoint)
        self._turn[mailbox] = turn

    def _hand(self, delivery: Delivery, endpoint: Endpoint) -> None:
        """One delivery goes out on one endpoint, counted as an attempt and in flight until settled."""
        delivery.attempts += 1
        delivery.endpoint = endpoint
        self._in_flight[delivery.id] = delivery
        endpoint.offer(delivery)

    def settle(self, delivery: Delivery, endpoint: Endpoint, ok: bool, reason: str = "") -> None:
        """An endpoint reports the peer's answer: ok, or an error / no answer (retried with back-off)."""
        if delivery.endpoint is not endpoint or self._in_flight.pop(delivery.id, None) is None:
            return  # handed back by detach() and perhaps offered elsewhere since: this answer is stale
        delivery.endpoint = None
        message = delivery.item.message
        now = self.clock.wall()
        if ok:
            self.delivered += 1
            item = delivery.item
            if isinstance(item, Inbound):
                # An MO or P2P message is delivered once its account's bind has taken it.
                message.state = MessageState.DELIVERED
                message.final_at = now
            if (delivery.attempts == 1 and isinstance(item, Receipt) and not item.intermediate
                    and item.state is message.state and message.receipt_delivered_at is None):
                message.receipt_delivered_at = now  # the usual receipt: a time, not an event entry
            else:
                message.log(now, _delivered_event(item), "" if delivery.attempts == 1 else
                            f"attempt {delivery.attempts}")
        elif delivery.attempts >= self.retry.max_attempts:
            self.abandoned += 1
            message.log(now, "delivery_abandoned", f"{reason}; gave up after {delivery.attempts} attempts")
        else:
            self.retried += 1
            delay = self.retry.delay(delivery.attempts)
            message.log(now, "delivery_retry", f"{reason}; attempt {delivery.attempts + 1} in {delay:g}s")
            self.scheduler.call_later(delay, self._requeue, delivery)
        if endpoint is not None and self._waiting.get(endpoint.mailbox):
            self.pump(endpoint.mailbox)  # (only a queue with deliveries waiting can move)

    def _requeue(self, delivery: Delivery) -> None:
        self._queue(delivery.mailbox).append(delivery)
        self.pump(delivery.mailbox)

    # ------------------------------------------------------------------ control

    def pause(self, seconds: float) -> None:
        """Hold every delivery for a while (a scenario's 'pause receipts'), then release them."""
        self.paused_until = self.clock.now() + seconds
        self.scheduler.call_later(seconds, self.resume)

    def resume(self) -> None:
        self.paused_until = 0.0
        for mailbox in list(self._waiting):
            self.pump(mailbox)

    def held(self, mailbox: str | None = None) -> int:
        if mailbox is not None:
            return len(self._waiting.get(mailbox, ()))
        return sum(len(q) for q in self._waiting.values())

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def clear(self) -> None:
        self._waiting.clear()
        self._in_flight.clear()


_RECEIPT_DELIVERED = {state: f"receipt_delivered:{state.name}" for state in MessageState}


def _delivered_event(item: Item) -> str:
    if isinstance(item, Receipt):
        return _RECEIPT_DELIVERED[item.state]
    return "mo_delivered"
