"""The asyncio SMPP listener: a thin adapter between sockets, the sans-IO session and the carrier core."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections import OrderedDict
from dataclasses import dataclass
from itertools import count
from typing import Any

from simulator.config import AccountConfig, SmppConfig
from simulator.core.accounts import Account
from simulator.core.carrier import Carrier, Submission, SubmitResult
from simulator.core.limits import TokenBucket
from simulator.core.outbox import Delivery
from simulator.core.records import Message, Receipt
from simulator.core.scenario_model import ConnectionBehaviour

from . import deliveries
from .balance import Balancer
from .codec import Leniency, encode
from .pdu import (
    RESPONSE_BIT,
    CommandId,
    DataSm,
    EnquireLink,
    GenericNack,
    Pdu,
    QuerySm,
    ReplaceSm,
    SubmitMulti,
    SubmitSm,
    UnsuccessSme,
)
from .session import (
    BindRequested,
    LocalProtocolError,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    Session,
    SessionConfig,
    State,
    Unbound,
)
from .status import Status
from .times import SmppTimeError, format_absolute, parse_smpp_time
from .tlv import Tag

_log = logging.getLogger("carrier_sim.smpp")
# Enum members read for every PDU, bound once (see session.py: Enum class lookups are slow).
_BOUND, _CLOSED = State.BOUND, State.CLOSED
_SUBMIT_SM, _DATA_SM, _DELIVER_SM = int(CommandId.SUBMIT_SM), int(CommandId.DATA_SM), int(CommandId.DELIVER_SM)
_ENQUIRE_LINK = int(CommandId.ENQUIRE_LINK)
_bind_ids = count(1)
_DEFAULT_RECEIPTS = AccountConfig(system_id="x").receipts


@dataclass(slots=True)
class BindInfo:
    """What the control API shows about a bind."""

    id: str
    system_id: str
    bind_type: str
    peer: str
    interface_version: int
    connected_at: float
    window_in_use: int
    deliveries_in_flight: int


class SmppConnection(asyncio.Protocol):
    """One client connection. As a bound receiver or transceiver it is also an outbox endpoint."""

    def __init__(self, server: SmppServer, *, movable: bool = False, handed_by: int | None = None) -> None:
        self.server = server
        self.movable = movable  # just accepted from the plain listener: `serve --workers` may hand it over
        self.handed_by = handed_by  # the worker that accepted it and handed it to this one
        self.carrier = server.carrier
        self.config = server.config
        self.session = Session(server.session_config)
        self.id = f"b{next(_bind_ids)}"
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.mailbox = ""
        self.account: Account | None = None
        self.bucket: TokenBucket | None = None
        self.loop = asyncio.get_running_loop()
        self.connected_at = self.carrier.clock.wall()
        self.last_received = self.loop.time()
        self.enquire_sent_at: float | None = None
        self.pdus_since_bind = 0
        self.submits_since_bind = 0
        self.stalled = False
        self.scenario_bucket: TokenBucket | None = None  # the scenario's tps_per_bind
        self._sent: OrderedDict[int, float] = OrderedDict()  # our deliver_sm sequence -> time sent
        self._flush_pending = False
        self._attached = False
        self._counted = False  # in the worker balancer's load
        self.closed = asyncio.Event()

    # ------------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        balancer = self.server.balancer
        if balancer is not None:
            if self.movable and balancer.hand_off(transport):
                return  # another worker serves it now
            balancer.add(self.handed_by)
            self._counted = True
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_received = self.loop.time()
        session = self.session
        try:
            session.feed(data)
            while (event := session.next_event()) is not None:
                self._handle(event)
        except Exception:
            # Nothing a client sends may take the server down: log it and drop only this connection.
            _log.exception("bind %s: unexpected error; closing the connection", self.id)
            self.session.close()
        # One write per loop iteration, however many reads and timers produced output in it.
        self._flush_soon()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted and self.server.balancer is not None:
            self._counted = False
            self.server.balancer.remove()
        self.session.close()
        self._detach()
        self.server.connections.discard(self)
        self.closed.set()

    # ------------------------------------------------------------------ dispatch

    def _handle(self, event: Any) -> None:
        if isinstance(event, RequestReceived):
            self.pdus_since_bind += 1
            self._request(event.pdu)
            if self.server.counts_pdus:
                self.server.after_request(self)
        elif isinstance(event, ResponseReceived):
            self._response(event)
        elif isinstance(event, BindRequested):
            self._bind(event)
        elif isinstance(event, ProtocolViolation):
            self.server.violations += 1
            _log.debug("bind %s: %s", self.id, event.error)
        elif isinstance(event, Unbound):
            _log.info("bind %s (%s): closed: %s", self.id, self.session.system_id or "-", event.reason)
            self._detach()

    def _bind(self, event: BindRequested) -> None:
        pdu = event.pdu
        status, account = self.carrier.accounts.authenticate(pdu.system_id, pdu.password, event.bind_type.value)
        refusal = self.server.bind_refusal(pdu.system_id)
        if refusal and status == Status.ESME_ROK:
            status, account = refusal, None
        if account is None or status != Status.ESME_ROK:
            self.session.reject_bind(status, f"bind refused with 0x{status:02X}")
            return
        self.account = account
        account.binds += 1
        config: AccountConfig = account.config
        if config.window is not None:
            self.session.window = config.window
        self.bucket = TokenBucket(config.tps_per_bind, clock=self.carrier.clock) if config.tps_per_bind else None
        self.session.accept_bind(account.system_id, our_system_id=self.config.system_id)
        self.mailbox = account.system_id
        self.pdus_since_bind = 0
        self.submits_since_bind = 0
        self.apply_scenario()
        _log.info("bind %s: %s bound as %s from %s", self.id, account.system_id, event.bind_type.value, self.peer)
        if event.bind_type.can_receive:
            self._attached = True
            self.carrier.outbox.attach(self)
            self.server.receivers_changed(self.mailbox)

    def _detach(self) -> None:
        if self.account is not None:
            self.account.binds = max(0, self.account.binds - 1)
            self.account = None
        if self._attached:
            self._attached = False
            self.carrier.outbox.detach(self)
            self.server.receivers_changed(self.mailbox)

    def _request(self, pdu: Pdu) -> None:
        command_id = pdu.command_id
        if command_id == _SUBMIT_SM or command_id == _DATA_SM:
            self._submit(pdu)  # type: ignore[arg-type]
        elif command_id == CommandId.SUBMIT_MULTI:
            self._submit_multi(pdu)  # type: ignore[arg-type]
        elif command_id == CommandId.QUERY_SM:
            self._query(pdu)  # type: ignore[arg-type]
        elif command_id == CommandId.CANCEL_SM:
            ok = self.carrier.cancel(pdu.message_id, self.session.system_id)  # type: ignore[attr-defined]
            self.session.respond(pdu.response(Status.ESME_ROK if ok else Status.ESME_RCANCELFAIL))
        elif command_id == CommandId.REPLACE_SM:
            self._replace(pdu)  # type: ignore[arg-type]
        else:
            self.session.respond(pdu.response(Status.ESME_RINVCMDID))

    def _times(self, pdu: SubmitSm | SubmitMulti | DataSm | ReplaceSm) -> tuple[float | None, float | None, int]:
        schedule = getattr(pdu, "schedule_delivery_time", "")
        validity = getattr(pdu, "validity_period", "")
        if not schedule and not validity:
            return None, None, Status.ESME_ROK  # the usual submit: deliver now, the default validity
        now = self.carrier.clock.wall()
        try:
            schedule_at = parse_smpp_time(schedule, now=now) if schedule else None
        except SmppTimeError:
            return None, None, Status.ESME_RINVSCHED
        try:
            expire_at = parse_smpp_time(validity, now=now) if validity else None
        except SmppTimeError:
            return None, None, Status.ESME_RINVEXPIRY
        return schedule_at, expire_at, Status.ESME_ROK

    def _throttled(self) -> int:
        bucket = self.bucket
        if bucket is not None and not bucket.try_acquire():
            return int(self.account.config.throttle_status) if self.account else Status.ESME_RTHROTTLED
        scenario_bucket = self.scenario_bucket
        if scenario_bucket is not None and not scenario_bucket.try_acquire():
            return int(self.carrier.scenario.limits().tps_per_bind_status)
        return Status.ESME_ROK

    def apply_scenario(self) -> None:
        """Bring this bind in line with the scenario's current connection behaviour and limits."""
        scenario = self.carrier.scenario
        connection, limits = scenario.connection(), scenario.limits()
        session = self.session
        session.answer_enquire_link = not connection.mute_enquire_link
        account_window = self.account.config.window if self.account else None
        session.window = limits.window if limits.window is not None else (
            account_window if account_window is not None else self.config.window)
        session.window_status = int(limits.window_status) if limits.window is not None else int(self.config.window_status)
        if limits.tps_per_bind is None:
            self.scenario_bucket = None
        elif self.scenario_bucket is None or self.scenario_bucket.rate != limits.tps_per_bind:
            self.scenario_bucket = TokenBucket(limits.tps_per_bind, clock=self.carrier.clock)
        transport = self.transport
        if transport is not None and bool(connection.stall) != self.stalled:
            self.stalled = bool(connection.stall)
            if self.stalled:
                transport.pause_reading()  # half-open: the client's writes back up in the kernel
            else:
                transport.resume_reading()

    def _submission(self, pdu: SubmitSm | DataSm | SubmitMulti, destination: str, schedule_at, expire_at) -> Submission:
        tlvs = pdu.tlvs
        sar = payload = None
        if tlvs:
            if Tag.SAR_MSG_REF_NUM in tlvs and Tag.SAR_TOTAL_SEGMENTS in tlvs and Tag.SAR_SEGMENT_SEQNUM in tlvs:
                sar = (tlvs[Tag.SAR_MSG_REF_NUM], tlvs[Tag.SAR_TOTAL_SEGMENTS], tlvs[Tag.SAR_SEGMENT_SEQNUM])
            payload = tlvs.get(Tag.MESSAGE_PAYLOAD)
        # Positional (in Submission's field order): one is built per submit_sm.
        return Submission(
            self.session.system_id, "smpp", pdu.source_addr, destination, pdu.data_coding,
            getattr(pdu, "short_message", b""), pdu.esm_class, pdu.registered_delivery, schedule_at, expire_at,
            sar, payload if isinstance(payload, bytes) else None, self.session.legacy,  # type: ignore[arg-type]
        )

    def _admit(self, pdu: SubmitSm | DataSm | SubmitMulti) -> tuple[float | None, float | None] | None:
        """The bind's throughput limits and the PDU's times; None if the submit was refused for them."""
        status = self._throttled()  # (the usual submit, with no bucket to ask, skips this: see `_submit`)
        schedule_at = expire_at = None
        if not status:
            schedule_at, expire_at, status = self._times(pdu)
        if status:
            self.session.respond(pdu.response(status))
            return None
        return schedule_at, expire_at

    def _submit(self, pdu: SubmitSm | DataSm) -> None:
        """A submit_sm or data_sm. The usual one goes straight through: no bind limit to ask, no schedule or
        validity to parse, and its answer the id, at once. `_admit` and `_answer` take every other case."""
        if (self.bucket is None and self.scenario_bucket is None and not getattr(pdu, "schedule_delivery_time", "")
                and not getattr(pdu, "validity_period", "")):
            schedule_at = expire_at = None
        else:
            admitted = self._admit(pdu)
            if admitted is None:
                return
            schedule_at, expire_at = admitted
        result = self.carrier.submit(self._submission(pdu, pdu.destination_addr, schedule_at, expire_at), self.account)
        if result.respond and result.latency <= 0 and not (result.status or result.nack or result.omit_body):
            # Encoded straight from the id (no response Pdu).
            self.session.respond_with_id(pdu.command_id | RESPONSE_BIT, pdu.sequence_number, result.message_id)
            self._responded_now(result)
        else:
            self._answer(pdu, result)
        self.submits_since_bind += 1

    def _answer(self, pdu: Pdu, result: SubmitResult, **fields: Any) -> None:
        """Any answer but the usual submit's (see `_submit`): none, late, an error, a nack or with more fields."""
        if not result.respond:
            self.session.forget(pdu.sequence_number)
            return
        if result.nack:
            response: Pdu = GenericNack(sequence_number=pdu.sequence_number, command_status=result.status or Status.ESME_RSYSERR)
        elif result.status:
            response = pdu.response(result.status, **fields)
        else:
            response = pdu.response(result.status, message_id=result.message_id, **fields)
        if result.latency > 0:
            self.carrier.scheduler.call_later(result.latency, self._respond_later, response, result.omit_body,
                                              result.message)
        else:
            self._respond(response, result.omit_body)
            self._responded_now(result)

    @staticmethod
    def _responded_now(result: SubmitResult) -> None:
        if result.message is not None:
            result.message.responded_at = result.message.submitted_at  # answered in the same turn

    def _respond(self, response: Pdu, omit_body: bool) -> None:
        if omit_body:
            self.session.forget(response.sequence_number)
            self.session.send_raw(encode(response, omit_body=True))
        else:
            self.session.respond(response)

    def _respond_later(self, response: Pdu, omit_body: bool, message: Message | None) -> None:
        if self.session.state is _CLOSED:
            return
        self._respond(response, omit_body)
        if message is not None:
            message.responded_at = self.carrier.clock.wall()
        self._flush_soon()

    def _submit_multi(self, pdu: SubmitMulti) -> None:
        admitted = self._admit(pdu)
        if admitted is None:
            return
        schedule_at, expire_at = admitted
        first: SubmitResult | None = None
        failed: list[UnsuccessSme] = []
        for dest in pdu.dest_addresses:
            if dest.dest_flag != 1:
                failed.append(UnsuccessSme(0, 0, dest.address, Status.ESME_RCNTSUBDL))
                continue
            result = self.carrier.submit(self._submission(pdu, dest.address, schedule_at, expire_at), self.account)
            if result.status:
                failed.append(UnsuccessSme(dest.ton, dest.npi, dest.address, result.status))
            elif first is None:
                first = result
        if first is None:
            status = failed[0].error_status if len(failed) == 1 else Status.ESME_RSUBMITFAIL
            self.session.respond(pdu.response(status, unsuccess_sme=tuple(failed)))
            return
        self._answer(pdu, first, unsuccess_sme=tuple(failed))

    def _query(self, pdu: QuerySm) -> None:
        message = self.carrier.query(pdu.message_id, self.session.system_id)
        if message is None:
            self.session.respond(pdu.response(Status.ESME_RQUERYFAIL))
            return
        final = format_absolute(message.final_at) if message.final_at is not None and message.state.is_final else ""
        self.session.respond(pdu.response(
            message_id=pdu.message_id, final_date=final, message_state=int(message.state),
            error_code=min(message.error, 255),
        ))

    def _replace(self, pdu: ReplaceSm) -> None:
        schedule_at, expire_at, status = self._times(pdu)
        if status:
            self.session.respond(pdu.response(status))
            return
        payload = pdu.tlvs.get(Tag.MESSAGE_PAYLOAD, pdu.short_message)
        ok = self.carrier.replace(pdu.message_id, self.session.system_id, bytes(payload),  # type: ignore[arg-type]
                                  schedule_at=schedule_at, expire_at=expire_at,
                                  registered_delivery=pdu.registered_delivery)
        self.session.respond(pdu.response(Status.ESME_ROK if ok else Status.ESME_RREPLACEFAIL))

    def _response(self, event: ResponseReceived) -> None:
        context = event.context
        if isinstance(context, Delivery):
            self._sent.pop(event.pdu.sequence_number, None)
            status = event.pdu.command_status
            ok = not status and not isinstance(event.pdu, GenericNack)
            self.carrier.outbox.settle(context, self, ok, "" if ok else f"answered 0x{status:02X}")
        elif event.request_command_id == _ENQUIRE_LINK:
            self.enquire_sent_at = None

    # ------------------------------------------------------------------ outbox endpoint

    def has_capacity(self) -> bool:
        return self.session.state is _BOUND and len(self._sent) < self.config.deliver_window

    def offer(self, delivery: Delivery) -> None:
        account = self.account  # the mailbox's own account: a bound endpoint always has it
        receipts = account.config.receipts if account else _DEFAULT_RECEIPTS
        item = delivery.item
        body = (deliveries.receipt_deliver_sm_body(item, receipts, legacy=self.session.legacy)
                if isinstance(item, Receipt) else None)
        try:
            if body is not None:
                sequence = self.session.send_encoded(_DELIVER_SM, body, delivery)
            else:
                sequence = self.session.send_request(deliveries.build(item, receipts, legacy=self.session.legacy),
                                                     delivery)
        except LocalProtocolError as error:
            self.carrier.outbox.settle(delivery, self, False, str(error))
            return
        self._sent[sequence] = self.loop.time()
        self._flush_soon()

    # ------------------------------------------------------------------ writing

    def _flush_soon(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_pending = False
        transport = self.transport
        if transport is None:
            return
        data = self.session.data_to_send()
        if data and not transport.is_closing():
            transport.write(data)
        if self.session.state is _CLOSED and not transport.is_closing():
            transport.close()

    # ------------------------------------------------------------------ housekeeping

    def tick(self, now: float) -> None:
        """Once a second: partial PDUs, deliver_sm timeouts, enquire_link and inactivity."""
        config = self.config
        session = self.session
        if session.has_partial and now - self.last_received > config.partial_pdu_timeout:
            session.discard_partial()
        timeout = config.response_timeout
        while self._sent:
            sequence, sent_at = next(iter(self._sent.items()))
            if now - sent_at < timeout:
                break
            del self._sent[sequence]
            context = session.expire(sequence)
            if isinstance(context, Delivery):
                self.carrier.outbox.settle(context, self, False, "no deliver_sm_resp")
        if session.state is _BOUND:
            idle = now - self.last_received
            if config.inactivity_timeout and idle > config.inactivity_timeout:
                _log.info("bind %s: inactive for %.0fs; unbinding", self.id, idle)
                self.unbind()
            elif self.enquire_sent_at is not None:
                if now - self.enquire_sent_at > config.enquire_link_timeout:
                    _log.info("bind %s: enquire_link unanswered; dropping the bind", self.id)
                    self.abort()
                    return
            elif config.enquire_link_interval and idle > config.enquire_link_interval:
                self.enquire_sent_at = now
                session.send_request(EnquireLink())
        elif session.state is State.UNBINDING and self.enquire_sent_at is None:
            self.enquire_sent_at = now  # reuse as the unbind deadline
        elif session.state is State.UNBINDING and now - (self.enquire_sent_at or now) > config.enquire_link_timeout:
            self.abort()
            return
        self.flush()

    def unbind(self) -> None:
        if self.session.state is _BOUND:
            self.session.unbind()
            self.enquire_sent_at = None
            self.flush()

    def abort(self) -> None:
        self.session.close()
        if self.transport is not None:
            self.transport.abort()

    def info(self) -> BindInfo:
        return BindInfo(
            id=self.id, system_id=self.session.system_id, bind_type=self.session.bind_type.value if self.session.bind_type else "",
            peer=self.peer, interface_version=self.session.interface_version, connected_at=self.connected_at,
            window_in_use=self.session.window_in_use, deliveries_in_flight=len(self._sent),
        )


def malformed_pdu(kind: str, sequence: int) -> bytes:
    """A PDU no SMSC should send, for scenarios that test how a gateway copes with one."""
    if kind == "bad_length":
        return struct.pack(">IIII", 12, CommandId.DELIVER_SM, 0, sequence & 0x7FFFFFFF)
    if kind == "unknown_command":
        return struct.pack(">IIII", 16, 0x000000FE, 0, sequence & 0x7FFFFFFF)
    # bad_sequence: a response to a request the client never sent
    return struct.pack(">IIII", 17, CommandId.SUBMIT_SM_RESP, 0, 0x7FFFFFF0 - (sequence & 0xFFFF)) + b"\0"


def _counts_pdus(behaviour: ConnectionBehaviour) -> bool:
    """Whether a connection behaviour acts on PDU counts, so that every request must go by after_request()."""
    return bool(behaviour.inject or behaviour.disconnect_after_pdus or behaviour.unbind_after_pdus
                or behaviour.rebind_after_messages)


class SmppServer:
    """Listens for SMPP (and SMPP over TLS) and serves each connection with an SmppConnection."""

    def __init__(self, carrier: Carrier, config: SmppConfig | None = None) -> None:
        self.carrier = carrier
        self.config = config or carrier.config.smpp
        leniency = Leniency(fields=frozenset(self.config.leniency.fields), max_length=self.config.leniency.max_length)
        self.session_config = SessionConfig(
            window=self.config.window, window_status=int(self.config.window_status), max_pdu=self.config.max_pdu,
            leniency=leniency,
        )
        self.connections: set[SmppConnection] = set()
        self.servers: list[asyncio.base_events.Server] = []
        self.violations = 0
        self.reuse_port = False  # set for `serve --workers N`: every worker listens on the same port
        self.relay = None  # a WorkerLink, when other workers may hold an account's binds
        self.balancer: Balancer | None = None  # `serve --workers`: spreads new connections over the workers
        self._adopting: set[asyncio.Task[Any]] = set()
        self._disconnects_done: set[float] = set()
        self.counts_pdus = _counts_pdus(carrier.scenario.connection())
        carrier.add_scenario_listener(self.apply_scenario)

    async def start(self) -> list[tuple[str, int, bool]]:
        """Start listening; returns (host, port, tls) for each listener (port 0 picks a free port)."""
        loop = asyncio.get_running_loop()
        config = self.config
        listening = []
        server = await loop.create_server(lambda: SmppConnection(self, movable=True), config.host, config.port,
                                          reuse_address=True,
                                          reuse_port=self.reuse_port or None, backlog=4096)
        self.servers.append(server)
        listening.append((config.host, server.sockets[0].getsockname()[1], False))
        if config.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(config.tls.cert, config.tls.key)
            tls_server = await loop.create_server(lambda: SmppConnection(self), config.host, config.tls.port,
                                                  ssl=context, reuse_address=True, reuse_port=self.reuse_port or None,
                                                  backlog=4096)
            self.servers.append(tls_server)
            listening.append((config.host, tls_server.sockets[0].getsockname()[1], True))
        return listening

    def adopt(self, sock: socket.socket, handed_by: int | None) -> None:
        """Serve a connection worker `handed_by` accepted and handed over (see balance.py)."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.connect_accepted_socket(lambda: SmppConnection(self, handed_by=handed_by), sock))
        self._adopting.add(task)

        def adopted(task: asyncio.Task[Any]) -> None:
            self._adopting.discard(task)
            if task.cancelled() or task.exception() is not None:
                _log.warning("could not serve a connection handed over by worker %s: %s", handed_by,
                             "cancelled" if task.cancelled() else task.exception())
                sock.close()
                if self.balancer is not None and handed_by is not None:
                    self.balancer.lost_in_transit(handed_by)

        task.add_done_callback(adopted)

    async def housekeeping(self) -> None:
        """Once a second, for every connection: timeouts, enquire_link, inactivity. Runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            now = loop.time()
            for connection in list(self.connections):
                try:
                    connection.tick(now)
                except Exception:
                    _log.exception("bind %s: housekeeping failed", connection.id)

    def receivers_changed(self, mailbox: str) -> None:
        if self.relay is not None:
            count = sum(1 for c in self.connections if c._attached and c.mailbox == mailbox)
            self.relay.local_binds_changed(mailbox, count)

    def bind_refusal(self, system_id: str) -> int:
        """The status a bind gets during an outage (a scenario's refuse_binds or a fault), else 0."""
        fault = self.carrier.faults.take("refuse_binds", self.carrier.clock.now(), system_id)
        if fault is not None:
            return fault.status
        return int(self.carrier.scenario.connection().refuse_binds or 0)

    def after_request(self, connection: SmppConnection) -> None:
        """The scenario's connection faults that count PDUs: disconnects, unbinds, rebinds, injections."""
        behaviour = self.carrier.scenario.connection()
        received = connection.pdus_since_bind
        if behaviour.inject is not None and received % behaviour.inject.every_pdus == 0:
            connection.session.send_raw(malformed_pdu(behaviour.inject.kind, received))
        if behaviour.disconnect_after_pdus and received >= behaviour.disconnect_after_pdus:
            _log.info("bind %s: scenario disconnects after %d PDUs", connection.id, received)
            connection.flush()
            connection.abort()
        elif behaviour.unbind_after_pdus and received >= behaviour.unbind_after_pdus:
            connection.flush()
            connection.unbind()
        elif behaviour.rebind_after_messages and connection.submits_since_bind >= behaviour.rebind_after_messages:
            connection.flush()
            connection.unbind()

    def apply_scenario(self) -> None:
        """Called when the scenario switches or a phase starts or ends."""
        self.counts_pdus = _counts_pdus(self.carrier.scenario.connection())
        for connection in list(self.connections):
            if connection.session.state is _BOUND:
                connection.apply_scenario()
                connection.flush()
        scenario = self.carrier.scenario
        now = self.carrier.clock.now()
        for offset in scenario.connection().disconnect_at or ():
            moment = scenario.started + offset
            if abs(moment - now) < 1e-6 and moment not in self._disconnects_done:
                self._disconnects_done.add(moment)
                _log.info("scenario drops every bind at +%gs", offset)
                self.kick(None, drop=True)

    def kick(self, system_id: str | None, *, drop: bool) -> int:
        """Unbind (or drop the TCP connection of) every bind, or every bind of one account."""
        kicked = 0
        for connection in list(self.connections):
            if system_id is not None and connection.session.system_id != system_id:
                continue
            if connection.session.state is not _BOUND:
                continue
            kicked += 1
            if drop:
                connection.abort()
            else:
                connection.unbind()
        return kicked

    def binds(self) -> list[SmppConnection]:
        return [c for c in self.connections if c.session.state is _BOUND]

    def find(self, bind_id: str) -> SmppConnection | None:
        for connection in self.connections:
            if connection.id == bind_id:
                return connection
        return None

    async def stop(self, *, grace: float = 2.0) -> None:
        """Stop accepting, unbind every session, and close what has not answered within `grace` seconds."""
        for server in self.servers:
            server.close()
        for connection in list(self.connections):
            connection.unbind()
        waiters = [c.closed.wait() for c in list(self.connections)]
        if waiters:
            done, pending = await asyncio.wait([asyncio.ensure_future(w) for w in waiters], timeout=grace)
            for task in pending:
                task.cancel()
        for connection in list(self.connections):
            connection.abort()
        for server in self.servers:
            await server.wait_closed()
