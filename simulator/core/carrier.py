"""The carrier core every front end submits into: accept, decide, store, schedule, deliver and receipt."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from itertools import count
from typing import Any

import msgspec

from simulator.config import Config
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

from .accounts import Account, Accounts
from .clock import Clock, SystemClock
from .faults import Faults
from .handsets import HandsetConfig, Handsets
from .ids import IdFormat, MessageIds
from .limits import TokenBucket
from .metrics import Metrics
from .outbox import Outbox, RetryPolicy
from .records import Inbound, Message, MessageState, Receipt, quoted_text
from .scenario import DeliveryOutcome, Scenario, Traffic
from .scenario_model import Limits
from .scheduler import Scheduler, Timer
from .store import MessageStore

_log = logging.getLogger("carrier_sim.carrier")

# registered_delivery bits (SMPP 3.4 5.2.17)
RECEIPT_MASK = 0x03
RECEIPT_ANY = 0x01
RECEIPT_FAILURE = 0x02
INTERMEDIATE = 0x10
# Read for every message, bound once: an Enum class lookup goes through EnumType.__getattr__'s slot.
_OK = int(Status.ESME_ROK)
_DELIVERED, _DELETED = MessageState.DELIVERED, MessageState.DELETED


class Submission(msgspec.Struct):
    """One submitted PDU's worth of message, in front-end-neutral terms (one is made per submit: __init__ in C)."""

    system_id: str
    channel: str  # smpp, http, smtp
    source: str
    destination: str
    data_coding: int = 0
    short_message: bytes = b""
    esm_class: int = 0
    registered_delivery: int = 0
    schedule_at: float | None = None  # wall clock
    expire_at: float | None = None  # wall clock
    sar: tuple[int, int, int] | None = None
    message_payload: bytes | None = None
    legacy: bool = False
    id_format: str | None = None  # None: the account's format
    ref: Any = None


class SubmitResult(msgspec.Struct, gc=False):  # it holds no container that could refer back to it
    status: int
    message_id: str = ""
    latency: float = 0.0
    respond: bool = True
    nack: bool = False
    omit_body: bool = False
    message: Message | None = None


class Carrier:
    """The one carrier: accounts, store, scheduler, scenario, handsets and the receipt/MO outbox."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        clock: Clock | None = None,
        scenario: Scenario | None = None,
        store_capacity: int | None = None,  # default: config.store_capacity
        handsets: HandsetConfig | None = None,
        retry: RetryPolicy | None = None,
        worker: tuple[int, int] = (0, 1),  # (index, count) under `serve --workers`: ids stay unique across them
    ) -> None:
        self.config = config or Config()
        self.clock = clock or SystemClock()
        self.scheduler = Scheduler(self.clock)
        self.store = MessageStore(store_capacity or self.config.store_capacity)
        index, workers = worker
        self.ids = MessageIds(_state_path(self.config, index if workers > 1 else None), stride=workers, offset=index)
        self.accounts = Accounts(self.config.accounts, self.clock)
        self.outbox = Outbox(self.scheduler, self.clock, retry)
        self.handsets = Handsets(handsets or self.config.handsets)
        self.metrics = Metrics()
        self.faults = Faults()
        # Long messages come in parts; this joins them (bounded: parts missing after 5 minutes fail).
        self.reassembler = sms_text.Reassembler(max_pending=10_000, timeout=300.0)
        self._mo_refs = count(1)
        self._scenario_listeners: list[Callable[[], None]] = []
        self._reset_listeners: list[Callable[[], None]] = []
        # (handset, sender) -> system_id. An OrderedDict: evicting from the front of a plain dict
        # rescans its deleted slots every time, which turns a bounded map quadratic.
        self._last_sender_account: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._pending: dict[str, int] = {}  # per account: accepted messages not yet final (queue_size)
        self._scenario_buckets: dict[str, TokenBucket] = {}
        self._boundary_timers: list[Timer] = []
        self.scenario = Scenario()
        self.set_scenario(scenario or Scenario())
        self.scheduler.call_later(60.0, self._sweep)

    # ------------------------------------------------------------------ observers

    def add_reset_listener(self, callback: Callable[[], None]) -> None:
        """Called after `reset()`, so front ends forget their own records too."""
        self._reset_listeners.append(callback)

    def add_scenario_listener(self, callback: Callable[[], None]) -> None:
        """Called when the scenario is switched or one of its phases starts or ends."""
        self._scenario_listeners.append(callback)

    def _scenario_changed(self) -> None:
        for listener in self._scenario_listeners:
            try:
                listener()
            except Exception:
                _log.exception("scenario listener failed")

    # ------------------------------------------------------------------ submission

    def submit(self, sub: Submission, account: Account | None = None) -> SubmitResult:
        """Decide on one submitted message. The caller answers its client with the result."""
        metrics = self.metrics
        account = account or self.accounts.get_or_create(sub.system_id)
        if not account.bucket.try_acquire():
            metrics.submitted(account.config.throttle_status)
            return SubmitResult(int(account.config.throttle_status))
        destination = sub.destination.strip()
        if not destination or not destination.lstrip("+").isalnum():
            metrics.submitted(Status.ESME_RINVDSTADR)
            return SubmitResult(Status.ESME_RINVDSTADR)
        now = self.clock.wall()
        if sub.schedule_at is not None and sub.schedule_at < now - 1.0:
            metrics.submitted(Status.ESME_RINVSCHED)
            return SubmitResult(Status.ESME_RINVSCHED)
        if sub.expire_at is not None and sub.expire_at < now - 1.0:
            metrics.submitted(Status.ESME_RINVEXPIRY)
            return SubmitResult(Status.ESME_RINVEXPIRY)

        if sub.message_payload is None and not sub.esm_class & sms_text.UDHI and sub.sar is None:
            payload, concat = sub.short_message, None  # the usual submit: one part, no UDH to parse
        else:
            payload, concat = self._split_concat(sub)
        part, parts = (concat[2], concat[1]) if concat else (1, 1)
        system_id = account.config.system_id
        traffic = Traffic(system_id, sub.channel, sub.source, destination, sub.data_coding, parts, payload)
        opted_out = self.handsets.opted_out(destination, sub.source)
        limits = self.scenario.limits()
        if self.faults.faults or opted_out or limits.tps is not None or limits.queue_size is not None:
            refusal = self._refusal(account, destination, opted_out, limits)
            if refusal is not None:
                metrics.submitted(refusal.status)
                return refusal
        decision = self.scenario.submit_outcome(traffic)
        latency = decision.latency
        slow = self.faults.take("submit_latency", self.clock.now(), system_id, destination) if self.faults.faults else None
        if slow is not None:
            latency += slow.latency
        if decision.status != _OK:
            metrics.submitted(decision.status)
            return SubmitResult(decision.status, latency=latency, respond=decision.respond,
                                nack=decision.nack, omit_body=decision.omit_body)

        fmt = IdFormat(sub.id_format) if sub.id_format else account.id_format
        # Positional, and the rarely set fields only when set: keyword arguments cost a microsecond a message.
        message = Message(self.ids.next(fmt, legacy=sub.legacy), system_id, sub.channel, sub.source,
                          destination, sub.data_coding, payload, now, sub.registered_delivery, sub.esm_class)
        if sub.schedule_at is not None or sub.expire_at is not None or sub.legacy or parts > 1 or sub.ref is not None:
            message.schedule_at = sub.schedule_at
            message.expire_at = sub.expire_at
            message.legacy = sub.legacy
            message.part = part
            message.parts = parts
            message.ref = sub.ref
        self.store.add(message)  # its history starts from submitted_at: no entry needed
        # A handset's reply to this sender goes back to this account.
        senders = self._last_sender_account
        senders[(destination, sub.source)] = system_id
        if len(senders) > 100_000:
            senders.popitem(last=False)  # bounded: the oldest conversation is forgotten first
        metrics.submitted(_OK)

        if sub.registered_delivery & INTERMEDIATE:
            self.scheduler.call_later(0.0, self._intermediate, message)
        if concat is None:
            outcome = self._accept((message,), traffic, opted_out, now)
        else:
            outcome = self._collect_part(message, sub, concat, opted_out)
        if outcome is not None and outcome.early and (message.registered_delivery & RECEIPT_MASK):
            # The receipt overtakes the response: answer 50 ms after the receipt is due.
            latency = max(latency, outcome.delay + 0.05)
        if latency > 0:
            metrics.observe("submit_response", latency)
        return SubmitResult(_OK, message.id, latency, decision.respond, decision.nack,
                            decision.omit_body, message)

    def _refusal(self, account: Account, destination: str, opted_out: bool, limits: Limits) -> SubmitResult | None:
        """Faults, scenario limits and opt-outs that refuse a submit before the scenario's rules see it."""
        faults = self.faults
        if faults.faults:
            now = self.clock.now()
            fault = faults.take("submit_status", now, account.system_id, destination)
            if fault is not None:
                return SubmitResult(fault.status)
            if faults.take("no_response", now, account.system_id, destination) is not None:
                return SubmitResult(Status.ESME_ROK, respond=False)
        if limits.tps is not None:
            bucket = self._scenario_buckets.get(account.system_id)
            if bucket is None or bucket.rate != limits.tps:
                bucket = self._scenario_buckets[account.system_id] = TokenBucket(limits.tps, clock=self.clock)
            if not bucket.try_acquire():
                return SubmitResult(int(limits.tps_status))
        if limits.queue_size is not None and self._pending.get(account.system_id, 0) >= limits.queue_size:
            return SubmitResult(int(limits.queue_status))
        if opted_out and self.handsets.config.opted_out_status:
            return SubmitResult(self.handsets.config.opted_out_status)
        return None

    def _split_concat(self, sub: Submission) -> tuple[bytes, tuple[int, int, int] | None]:
        """The payload and (ref, total, seq) of a part of a long message, from its UDH or SAR TLVs."""
        if sub.message_payload is not None:
            return sub.message_payload, None
        if sub.esm_class & sms_text.UDHI:
            try:
                ies, payload = sms_text.parse_udh(sub.short_message)
            except sms_text.TextEncodingError:
                return sub.short_message, None
            info = sms_text.concat_info(ies)
            if info and info[1] > 1:
                return payload, info
            return payload, None
        if sub.sar and sub.sar[1] > 1:
            return sub.short_message, sub.sar
        return sub.short_message, None

    def _collect_part(self, message: Message, sub: Submission, concat: tuple[int, int, int],
                      opted_out: bool) -> DeliveryOutcome | None:
        """One part of a long message: when the last one is in, the whole message goes on as one."""
        ref, total, _ = concat
        message.group = f"{message.system_id}:{ref}:{total}"
        now = self.clock.now()
        try:
            logical = self.reassembler.feed(
                (message.system_id, sub.source, message.destination), data_coding=sub.data_coding,
                esm_class=sub.esm_class, short_message=sub.short_message, sar=sub.sar,
                message_payload=sub.message_payload, now=now, context=message,
            )
        except sms_text.TextEncodingError as error:
            message.log(self.clock.wall(), "bad_concatenation", str(error))
            logical = None
            self._fail_parts([message], "bad concatenation data")
        self._fail_dropped(now)
        if logical is None:
            return None
        messages = list(logical.contexts)
        traffic = Traffic(message.system_id, message.channel, message.source, message.destination,
                          logical.data_coding, total, decoded=logical.text)
        return self._accept(messages, traffic, opted_out)

    def _fail_dropped(self, now: float) -> None:
        for dropped in self.reassembler.expire(now):
            self._fail_parts(list(dropped.contexts), f"parts {dropped.missing} never came ({dropped.reason})")

    def _sweep(self) -> None:
        """Once a minute: long messages whose missing parts never came are failed, even with no new traffic."""
        self._fail_dropped(self.clock.now())
        self.scheduler.call_later(60.0, self._sweep)

    def _fail_parts(self, messages: list[Message], reason: str) -> None:
        """Parts of a long message that can never be completed: undeliverable, with failure receipts."""
        if not messages:
            return
        outcome = DeliveryOutcome(state=MessageState.UNDELIVERABLE, err=0x64, network_error=None, delay=0.0,
                                  lost=False, duplicate=False, early=False, out_of_order=False, per_segment=True,
                                  wrong_id=None)
        for message in messages:
            message.due_at = self.clock.wall()
            message.log(message.due_at, "incomplete", reason)
        self._pending[messages[0].system_id] = self._pending.get(messages[0].system_id, 0) + len(messages)
        self._complete(messages, outcome)

    def _accept(self, messages: tuple[Message, ...] | list[Message], traffic: Traffic, opted_out: bool,
                wall: float | None = None) -> DeliveryOutcome:
        """A whole (logical) message is in: decide its fate and schedule its delivery (`wall`: now, if known)."""
        outcome = self.scenario.delivery_outcome(traffic)
        if opted_out:
            outcome = _with_state(outcome, MessageState.REJECTED, self.handsets.config.opted_out_error)
        if self.faults.faults and self.faults.take("drop_receipts", self.clock.now(), traffic.system_id,
                                                   traffic.destination):
            outcome = replace(outcome, lost=True)
        pending = self._pending
        pending[traffic.system_id] = pending.get(traffic.system_id, 0) + len(messages)
        first = messages[0]
        if wall is None:
            wall = self.clock.wall()
        if len(messages) == 1 and first.schedule_at is None and first.expire_at is None:
            # The usual message, one part to deliver now with the default validity: the lone message
            # goes in the timer as it is (no list), and a million pending timers cost less.
            first.due_at = deliver_at = wall + outcome.delay
            self.scheduler.call_later(deliver_at - wall, self._complete, first, outcome)
            return outcome
        start = max(wall, first.schedule_at or wall)
        deliver_at = start + outcome.delay
        if first.expire_at is not None and deliver_at > first.expire_at:
            deliver_at = max(wall, first.expire_at)
            outcome = _with_state(outcome, MessageState.EXPIRED, outcome.err or 3)
        for message in messages:
            if message.schedule_at is not None and message.schedule_at > wall:
                message.state = MessageState.SCHEDULED
                message.log(self.clock.wall(), "deferred", f"schedule_delivery_time {message.schedule_at:.3f}")
            message.due_at = deliver_at
        # A lone message in its timer as it is here too; the parts of a long message as their list.
        self.scheduler.call_later(deliver_at - wall, self._complete, messages[0] if len(messages) == 1 else messages,
                                  outcome)
        return outcome

    # ------------------------------------------------------------------ completion

    def _complete(self, target: Message | list[Message], outcome: DeliveryOutcome) -> None:
        """The moment the scenario chose (`due_at`) has come; receipts carry that time even if the timer ran late."""
        messages = [target] if isinstance(target, Message) else target
        first = messages[0]
        done = first.due_at or self.clock.wall()
        pending = self._pending
        left = pending.get(first.system_id, 0) - len(messages)
        pending[first.system_id] = left if left > 0 else 0  # (not max(): its call costs 0.7 % of a message)
        if len(messages) == 1:
            live = messages if first.state is not _DELETED else []
        else:
            live = [m for m in messages if m.state is not _DELETED]
        if not live:
            return
        for message in live:
            message.state = outcome.state
            message.error = outcome.err
            message.network_error = outcome.network_error
            message.final_at = done  # the history's "final" step, implied by final_at and due_at
            if outcome.state is _DELETED:
                # Implied steps skip DELETED (a cancellation logs its own): a scenario's DELETED is logged.
                message.log(done, "final", outcome.state.name)
        self.metrics.finished(outcome.state, done - live[0].submitted_at)
        if outcome.state is _DELIVERED:
            self._hand_over(live)
        self._send_receipts(live, outcome, done)

    def _send_receipts(self, messages: list[Message], outcome: DeliveryOutcome, done: float) -> None:
        first = messages[0]
        wanted = first.registered_delivery & RECEIPT_MASK
        if not wanted or (wanted == RECEIPT_FAILURE and outcome.state.is_success):
            return
        if outcome.lost:
            for message in messages:
                message.log(done, "receipt_lost", "by scenario")
            return
        if len(messages) == 1:
            # One part: per segment or not, it has the one receipt, quoting its own message (no quote).
            targets, quote = messages, None
        else:
            account = self.accounts.get(first.system_id)
            per_segment = outcome.per_segment or (account is not None and account.config.receipts.per_segment)
            targets = messages if per_segment else [first]
            quote = quoted_text(messages)  # each part's receipt quotes the start of the whole text
        for message in targets:
            # Positional, in Receipt's field order (message, state, error, done_at, network_error, quote,
            # submitted_parts, mangle_id): one is built per receipt.
            receipt = Receipt(message, outcome.state, outcome.err, done, outcome.network_error, quote, 1,
                              outcome.wrong_id)
            self.deliver_receipt(receipt, outcome.out_of_order)
            if outcome.duplicate:
                self.deliver_receipt(receipt, outcome.out_of_order)

    def deliver_receipt(self, receipt: Receipt, out_of_order: bool = False) -> None:
        message = receipt.message
        if out_of_order:
            # Held back so a later receipt overtakes it.
            self.scheduler.call_later(1.0, self.deliver_receipt, receipt)
            return
        self.metrics.receipt(receipt.state)
        if message.receipt_queued_at is None and not receipt.intermediate and receipt.state is message.state:
            message.receipt_queued_at = self.clock.wall()  # the usual receipt: a time, not an event entry
        else:
            message.log(self.clock.wall(), "receipt_queued", receipt.state.name)
        self.outbox.post(message.system_id, receipt)

    def _intermediate(self, message: Message) -> None:
        if message.state.is_final:
            return
        state = MessageState.ACCEPTED if message.state is MessageState.SCHEDULED else MessageState.ENROUTE
        self.deliver_receipt(Receipt(message=message, state=state, error=0, done_at=self.clock.wall(),
                                     intermediate=True))

    def _hand_over(self, messages: list[Message]) -> None:
        """A delivered message reaches its destination: another account (as MO) or a virtual handset."""
        first = messages[0]
        owner = self.accounts.owner_of(first.destination)
        if owner is not None and owner.system_id != first.system_id:
            text = "".join(m.text for m in messages)
            self._route_inbound(first.source, first.destination, text, first.data_coding, owner.system_id,
                                origin=first.system_id)
            return
        merged = Message(
            id=first.id, system_id=first.system_id, channel=first.channel, source=first.source,
            destination=first.destination, data_coding=first.data_coding,
            payload=b"".join(m.payload for m in messages), submitted_at=first.submitted_at,
            state=MessageState.DELIVERED, parts=len(messages),
        ) if len(messages) > 1 else first
        for reply in self.handsets.receive(merged):
            self.handset_send(reply.source, reply.destination, reply.text)

    # ------------------------------------------------------------------ MO and P2P

    def handset_send(self, source: str, destination: str, text: str, *, data_coding: int | None = None,
                     system_id: str | None = None) -> Message:
        """A handset sends a message (MO): to an account's number, back to an A2P sender, or to another handset."""
        target = system_id or self._mo_target(source, destination)
        coding = sms_text.choose_data_coding(text) if data_coding is None else data_coding
        # STOP/START/HELP apply to A2P senders: accounts, short codes and alphanumeric sender ids.
        bare = destination.lstrip("+")
        keyword_reply = None
        if target is not None or not bare.isdigit() or len(bare) <= 6:
            keyword_reply = self.handsets.keyword(source, destination, text)
        if target is None:
            # Handset to handset (P2P within the carrier), or to a sender no bound account owns.
            message = self._mo_record(source, destination, text, coding, "")
            self._finish_local(message)
        else:
            message = self._route_inbound(source, destination, text, coding, target, origin="")
        if keyword_reply:
            self._carrier_reply(destination, source, keyword_reply)
        return message

    def _finish_local(self, message: Message) -> None:
        """A message that stays inside the carrier (to a handset) is delivered at once."""
        message.state = MessageState.DELIVERED
        message.final_at = self.clock.wall()
        message.log(self.clock.wall(), "final", "DELIVERED to handset")
        self.metrics.finished(MessageState.DELIVERED)
        self.handsets.receive(message)

    def _mo_target(self, source: str, destination: str) -> str | None:
        owner = self.accounts.owner_of(destination)
        if owner is not None:
            return owner.system_id
        return self._last_sender_account.get((source, destination))

    def _mo_record(self, source: str, destination: str, text: str, coding: int, system_id: str) -> Message:
        message = Message(
            id=self.ids.next(IdFormat.HEX), system_id=system_id, channel="handset", source=source,
            destination=destination, data_coding=coding, payload=sms_text.encode(text, coding),
            submitted_at=self.clock.wall(), direction="mo",
        )
        self.store.add(message)
        return message

    def _route_inbound(self, source: str, destination: str, text: str, coding: int, system_id: str, *,
                       origin: str) -> Message:
        message = self._mo_record(source, destination, text, coding, system_id)
        if origin:
            message.log(message.submitted_at, "p2p", f"from account {origin}")
        parts, coding = sms_text.make_parts(text, coding, method="udh", ref=next(self._mo_refs) & 0xFF)
        for part in parts:
            self.outbox.post(system_id, Inbound(message=message, short_message=part.short_message,
                                                udhi=part.esm_class_udhi, sar=part.sar,
                                                message_payload=part.message_payload))
        self.metrics.mo()
        return message

    def _carrier_reply(self, sender: str, handset: str, text: str) -> None:
        """STOP/START/HELP confirmations: the carrier answers the handset on the sender's behalf."""
        message = self._mo_record(sender, handset, text, sms_text.choose_data_coding(text), "")
        message.direction = "mt"
        self._finish_local(message)

    # ------------------------------------------------------------------ store operations

    def query(self, message_id: str, system_id: str) -> Message | None:
        message = self.store.get(message_id)
        if message is None or message.system_id != system_id:
            return None
        return message

    def cancel(self, message_id: str, system_id: str) -> bool:
        message = self.query(message_id, system_id)
        if message is None or message.state.is_final:
            return False
        message.state = MessageState.DELETED
        message.final_at = self.clock.wall()
        message.log(self.clock.wall(), "cancelled")
        return True

    def replace(self, message_id: str, system_id: str, payload: bytes, *, schedule_at: float | None = None,
                expire_at: float | None = None, registered_delivery: int | None = None) -> bool:
        message = self.query(message_id, system_id)
        if message is None or message.state.is_final:
            return False
        message.payload = payload
        if schedule_at is not None:
            message.schedule_at = schedule_at
        if expire_at is not None:
            message.expire_at = expire_at
        if registered_delivery is not None:
            message.registered_delivery = registered_delivery
        message.log(self.clock.wall(), "replaced", f"{len(payload)} octets")
        return True

    def reset(self) -> None:
        """Forget every message, held delivery, opt-out, inbox and fault (binds stay up)."""
        self.store.clear()
        self.scheduler.clear()
        self.outbox.clear()
        self.handsets.reset()
        self.faults.clear()
        self.reassembler = sms_text.Reassembler(max_pending=10_000, timeout=300.0)
        self.scheduler.call_later(60.0, self._sweep)
        self._last_sender_account.clear()
        self._pending.clear()
        self.metrics.reset()
        self.set_scenario(self.scenario)
        for listener in self._reset_listeners:
            try:
                listener()
            except Exception:
                _log.exception("reset listener failed")

    # ------------------------------------------------------------------ scenarios

    def set_scenario(self, scenario: Scenario) -> None:
        """Switch scenarios at run time. Binds stay up; what is already scheduled keeps its outcome."""
        self.scenario = scenario
        scenario.start(self.clock)
        self._scenario_buckets.clear()
        for entry in scenario.spec.compliance.opt_out:
            self.handsets.opt_out(entry.handset, entry.sender)
        self._schedule_boundaries()
        self._scenario_changed()

    def trigger(self, name: str) -> list[str]:
        """Start the scenario's phases that wait on a control-API trigger."""
        started = self.scenario.trigger(name)
        if started:
            self._schedule_boundaries()
            self._scenario_changed()
        return started

    def _schedule_boundaries(self) -> None:
        for timer in self._boundary_timers:
            timer.cancel()
        now = self.clock.now()
        self._boundary_timers = [
            self.scheduler.call_at(moment, self._scenario_changed)
            for moment in self.scenario.boundaries() if moment >= now
        ]


def _with_state(outcome: DeliveryOutcome, state: MessageState, err: int) -> DeliveryOutcome:
    return replace(outcome, state=state, err=err)


def _state_path(config: Config, worker: int | None = None):
    """Where the id counter's high-water mark is kept (one file per worker under `serve --workers`)."""
    if not config.state_dir:
        return None
    from pathlib import Path

    return Path(config.state_dir) / ("message-ids.json" if worker is None else f"message-ids-worker{worker}.json")
