"""One SMPP transceiver bind on smpplib, made fit for load: window, sequence map, reader, timeouts, rebind.

smpplib encodes and decodes the PDUs but has no window, no response matching, no timeouts and is
not safe to share between greenlets. This class adds them: a semaphore of `window` permits held
from a submit_sm's write until its answer; a sequence -> in-flight map; one reader greenlet per
connection (two greenlets waiting on one socket raise ConcurrentObjectUseError under gevent) that
reads in large chunks and answers deliver_sm/enquire_link in one write per chunk; a housekeeping
greenlet that expires unanswered requests and keeps the link alive; writes serialised by a lock;
back-off after 0x58/0x14 with the request queued for resubmission; rebind after a drop.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from dataclasses import dataclass

import gevent
import smpplib.client
import smpplib.exceptions
from gevent.event import Event
from gevent.lock import BoundedSemaphore, Semaphore
from smpplib import smpp

from . import smpp_pdus
from .flow import FlowControl
from .smpp_pdus import (DATA_SM, DELIVER_SM, ENQUIRE_LINK, ENQUIRE_LINK_RESP, GENERIC_NACK, MAX_PDU, RETRYABLE,
                        SUBMIT_SM_RESP, UNBIND, UNBIND_RESP, status_name)
from .smpp_target import SmppTarget
from .harness import Harness
from .receipts import parse_smpp_receipt
from .tracker import Tracked
from .workload import OutgoingMessage

class BindDown(Exception):
    """The bind is not (or no longer) bound; the sender should rebind."""


@dataclass(slots=True)
class InFlight:
    """One written submit_sm waiting for its answer."""

    message: Tracked
    out: OutgoingMessage
    part: int  # index into out.segments
    sent_at: float  # perf_counter of this attempt's write
    attempt: int
    intended: float | None


class SmppBind:
    """A transceiver bind that submits the harness's messages and hands receipts to its tracker."""

    def __init__(self, name: str, target: SmppTarget, harness: Harness, *, window: int = 10,
                 request_timeout: float = 10.0, max_retries: int = 5, registered_delivery: int = 1,
                 enquire_link_interval: float = 30.0, backoff: tuple[float, float] = (0.05, 2.0),
                 rebind_backoff: tuple[float, float] = (0.5, 5.0)) -> None:
        self.name = name
        self.target = target
        self.harness = harness
        self.window = window
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.registered_delivery = registered_delivery
        self.enquire_link_interval = enquire_link_interval
        self.meter = harness.add_meter(name)
        self.client: smpplib.client.Client | None = None
        self.sock: socket.socket | None = None
        self.bound = False
        self.flow = FlowControl(window, base=backoff[0], maximum=backoff[1])
        self._freed = Event()
        self._rebind_base, self._rebind_max = rebind_backoff
        self._rebind_delay = self._rebind_base
        self._next_bind_at = 0.0
        self._ever_bound = False
        self._closing = False
        self.encoder: smpp_pdus.SubmitEncoder | None = None
        self.responses: smpp_pdus.Responses | None = None
        self._inflight: dict[int, InFlight] = {}
        self._retries: deque[InFlight] = deque()
        self._out: list[bytes] = []  # submit_sm written but not yet flushed: one send() per window's worth
        self._out_items: list[InFlight] = []
        self._slots = BoundedSemaphore(window)
        self._write_lock = Semaphore()
        self._last_write = time.perf_counter()
        self._enquire_sent: dict[int, float] = {}
        self._unbound = Event()
        self._reader: gevent.Greenlet | None = None
        self._housekeeper: gevent.Greenlet | None = None

    # ------------------------------------------------------------------ binding

    def ensure_bound(self) -> bool:
        """Bind if not bound, at most once per rebind back-off; reported as SMPP `bind` requests."""
        if self.bound:
            return True
        delay = self._next_bind_at - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        harness = self.harness
        started = time.perf_counter()
        try:
            self._connect()
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
            harness.submits.bind_failures += 1
            self._next_bind_at = time.perf_counter() + self._rebind_delay
            self._rebind_delay = min(self._rebind_delay * 2, self._rebind_max)
            harness.environment.events.request.fire(
                request_type="SMPP", name="bind", response_time=(time.perf_counter() - started) * 1000,
                response_length=0, exception=error, context={})
            return False
        harness.environment.events.request.fire(
            request_type="SMPP", name="bind", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=None, context={})
        if self._ever_bound:
            harness.submits.rebinds += 1
        self._ever_bound = True
        self._rebind_delay = self._rebind_base
        return True

    def _connect(self) -> None:
        target = self.target
        client = smpplib.client.Client(target.host, target.port, timeout=5, allow_unknown_opt_params=True)
        try:
            client.connect()
            client.bind_transceiver(system_id=target.system_id, password=target.password,
                                    system_type=target.system_type)
        except BaseException:
            client.disconnect()
            raise
        sock = client._socket  # smpplib exposes no accessor; the reader and writers use it directly
        sock.settimeout(None)  # the housekeeper's enquire_link notices a dead peer
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client, self.sock = client, sock
        self.encoder = smpp_pdus.SubmitEncoder(client, registered_delivery=self.registered_delivery)
        self.responses = smpp_pdus.Responses(client)
        self.bound, self._closing = True, False
        self._last_write = time.perf_counter()
        self._reader = gevent.spawn(self._read_loop, sock)
        self._housekeeper = gevent.spawn(self._housekeep)

    def close(self) -> None:
        """Unbind politely (waiting briefly for unbind_resp), then drop the connection."""
        self._closing = True
        if self.bound and self.client is not None:
            self._unbound.clear()
            try:
                self._write(smpp.make_pdu("unbind", client=self.client).generate())
                self._unbound.wait(2.0)
            except BindDown:
                pass
        self._drop("closed", count=False)
        self.harness.remove_meter(self.meter)

    # ------------------------------------------------------------------ sending

    def wait_ready(self) -> None:
        """Honour the back-off after 0x58/0x14 -- the pause, then the reduced in-flight cap."""
        delay = self.flow.pause_until - time.perf_counter()
        if delay > 0:
            self.flush()  # never sleep on queued requests: their answers are what ends the wait
            gevent.sleep(delay)
        while self.bound and self.flow.capped and len(self._inflight) >= self.flow.allowed:
            self.flush()
            self._freed.clear()
            self._freed.wait(0.05)

    def resend_due(self) -> bool:
        """Resubmit one request queued after 0x58/0x14; False when none is queued."""
        if not self._retries:
            return False
        inflight = self._retries.popleft()
        try:
            self._acquire()
        except BindDown:
            self._retries.appendleft(inflight)
            raise
        self._queue(inflight)
        self.flush()
        return True

    def send(self, out: OutgoingMessage, intended: float | None = None) -> None:
        """Queue every part of a message, each holding a window slot until its answer. Parts go out
        when the window fills or the sender calls flush(); at once in the open model, where the
        intended send time matters."""
        harness = self.harness
        message: Tracked | None = None
        for index in range(len(out.segments)):
            try:
                waited = self._acquire()
            except BindDown:
                if message is not None:  # a long message cut short by a drop cannot be completed
                    harness.failed(message, 0.0, "connection lost", request_type="SMPP", name="submit_sm")
                raise
            if message is None:
                message = harness.message_sent(out, intended)
            harness.histograms.record("window_wait", waited)
            self._queue(InFlight(message, out, index, time.perf_counter(), 0, intended))
        if intended is not None:
            self.flush()

    def _acquire(self) -> float:
        if self._slots.locked():
            self.flush()  # about to wait for answers: what is queued must be on its way first
        started = time.perf_counter()
        self._slots.acquire()
        if not self.bound:
            self._slots.release()
            raise BindDown(self.name)
        return time.perf_counter() - started

    def _queue(self, inflight: InFlight) -> None:
        out = inflight.out
        assert self.encoder is not None
        sequence, data = self.encoder.encode(out.source, out.to, out.segments[inflight.part])
        self._inflight[sequence] = inflight
        self._out.append(data)
        self._out_items.append(inflight)
        self.meter.submitted += 1
        self.meter.occupied(1)
        self.harness.submits.segments += 1

    def flush(self) -> None:
        """Write what is queued in one send(); times start now (a message's receipt time too)."""
        if not self._out:
            return
        data, items = b"".join(self._out), self._out_items
        self._out, self._out_items = [], []
        now = time.perf_counter()
        for item in items:
            item.sent_at = now
            if item.part == 0 and item.attempt == 0:
                self.harness.restamp(item.message, now)
        try:
            self._write(data)
        except BindDown:
            pass  # _drop() has failed everything in flight, these included

    def _write(self, data: bytes) -> None:
        sock = self.sock
        if sock is None:
            raise BindDown(self.name)
        try:
            with self._write_lock:
                sock.sendall(data)
        except OSError as error:
            self._drop(f"write failed: {error}")
            raise BindDown(self.name) from error
        self._last_write = time.perf_counter()

    # ------------------------------------------------------------------ reading

    def _read_loop(self, sock: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                chunk = sock.recv(262144)
                if not chunk:
                    raise ConnectionError("closed by the peer")
                buffer = buffer + chunk if buffer else chunk
                offset, size, replies = 0, len(buffer), []
                while size - offset >= 16:
                    length = int.from_bytes(buffer[offset:offset + 4], "big")
                    if length < 16 or length > MAX_PDU:
                        raise ConnectionError(f"command_length {length} is not a PDU")
                    if size - offset < length:
                        break
                    self._dispatch(buffer[offset:offset + length], replies)
                    offset += length
                buffer = buffer[offset:]
                if replies:
                    self._write(b"".join(replies))
        except (OSError, BindDown) as error:
            self._drop(str(error) or type(error).__name__)

    def _dispatch(self, raw: bytes, replies: list[bytes]) -> None:
        command_id = int.from_bytes(raw[4:8], "big")
        status = int.from_bytes(raw[8:12], "big")
        sequence = int.from_bytes(raw[12:16], "big")
        if command_id == SUBMIT_SM_RESP:
            message_id = None
            if status == 0 and len(raw) > 16:
                pdu = smpp_pdus.parse(raw, smpp_pdus.SubmitSMResp)
                message_id = getattr(pdu, "message_id", None)
                message_id = message_id.decode("latin-1") if message_id else None
            self._answered(sequence, status, message_id)
        elif command_id in (DELIVER_SM, DATA_SM):
            pdu = smpp_pdus.parse(raw, smpp_pdus.DeliverSM if command_id == DELIVER_SM else smpp_pdus.DataSM)
            replies.append(self._delivered(pdu, command_id))
        elif command_id == ENQUIRE_LINK:
            replies.append(self._response("enquire_link_resp", sequence))
        elif command_id == ENQUIRE_LINK_RESP:
            sent = self._enquire_sent.pop(sequence, None)
            if sent is not None:
                self.harness.histograms.record("enquire_link", time.perf_counter() - sent)
        elif command_id == GENERIC_NACK:
            self.harness.submits.generic_nacks += 1
            self._answered(sequence, status or 0x03, None, nack=True)
        elif command_id == UNBIND:
            self._write(self._response("unbind_resp", sequence))
            raise ConnectionError("unbound by the peer")
        elif command_id == UNBIND_RESP:
            self._unbound.set()

    def _delivered(self, pdu, command_id: int) -> bytes:
        """A receipt (or MO): hand it to the tracker and build its response."""
        harness = self.harness
        tlv_id = getattr(pdu, "receipted_message_id", None)
        is_receipt = bool((getattr(pdu, "esm_class", 0) or 0) & 0x3C) or bool(tlv_id)  # receipt/ack types
        receipt = parse_smpp_receipt(getattr(pdu, "short_message", None), tlv_id,
                                     getattr(pdu, "message_state", None)) if is_receipt else None
        if receipt is None:
            harness.submits.mo_received += 1
        else:
            harness.receipt(receipt.state, tlv_id=receipt.tlv_id, text_id=receipt.text_id)
            self.meter.receipts += 1
        return self._response("deliver_sm_resp" if command_id == DELIVER_SM else "data_sm_resp", pdu.sequence)

    def _response(self, command: str, sequence: int) -> bytes:
        assert self.responses is not None
        return self.responses(command, sequence)

    def _answered(self, sequence: int, status: int, message_id: str | None, nack: bool = False) -> None:
        inflight = self._inflight.pop(sequence, None)
        harness = self.harness
        if inflight is None:
            harness.submits.late_responses += 1
            return
        now = time.perf_counter()
        seconds = now - inflight.sent_at
        self._slots.release()
        meter = self.meter
        meter.occupied(-1)
        if self.flow.capped:
            self._freed.set()
        if status == 0:
            meter.answered_ok += 1
            self.flow.succeeded()
            harness.answered(inflight.message, seconds, message_id, request_type="SMPP", name="submit_sm",
                             histogram="submit", intended=inflight.intended if inflight.attempt == 0 else None)
        elif status in RETRYABLE and not nack and inflight.attempt < self.max_retries:
            if status == 0x58:
                meter.throttled += 1
            else:
                meter.queue_full += 1
            meter.retries += 1
            harness.retrying(seconds, request_type="SMPP", name=status_name(status), throttled=status == 0x58)
            inflight.attempt += 1
            self._retries.append(inflight)
            self.flow.throttled(now)
        else:
            reason = f"generic_nack {status_name(status)}" if nack else status_name(status)
            if status in RETRYABLE and not nack:
                reason += f" after {inflight.attempt} retries"
            harness.failed(inflight.message, seconds, reason, request_type="SMPP", name="submit_sm")

    # ------------------------------------------------------------------ timers and teardown

    def _housekeep(self) -> None:
        try:
            while self.bound:
                gevent.sleep(0.2)
                now = time.perf_counter()
                expired = []
                for sequence, inflight in self._inflight.items():
                    if now - inflight.sent_at < self.request_timeout:
                        break  # in write order: the rest are younger
                    expired.append(sequence)
                for sequence in expired:
                    inflight = self._inflight.pop(sequence)
                    self._slots.release()
                    self.meter.occupied(-1)
                    self.meter.timeouts += 1
                    self.harness.failed(inflight.message, now - inflight.sent_at, "timeout", request_type="SMPP",
                                        name="submit_sm", timeout=True)
                if any(now - sent > self.request_timeout for sent in self._enquire_sent.values()):
                    self._drop("enquire_link not answered")
                    return
                if now - self._last_write > self.enquire_link_interval and self.client is not None:
                    pdu = smpp.make_pdu("enquire_link", client=self.client)
                    self._enquire_sent[pdu.sequence] = now
                    self._write(pdu.generate())
        except BindDown:
            pass

    def _drop(self, reason: str, *, count: bool = True) -> None:
        """The connection is gone: fail what was in flight, free the window, let the sender rebind."""
        if self.sock is None:
            return
        was_bound = self.bound
        self.bound = False
        sock, self.sock = self.sock, None
        try:
            sock.close()
        except OSError:
            pass
        if count and was_bound and not self._closing:
            self.harness.submits.connection_drops += 1
        now = time.perf_counter()
        self._out, self._out_items = [], []
        inflight, self._inflight = list(self._inflight.values()), {}
        for item in inflight:
            self._slots.release()
            self.harness.failed(item.message, now - item.sent_at, "connection lost", request_type="SMPP",
                                name="submit_sm")
        self.meter.occupancy = 0
        self._enquire_sent.clear()
        self._unbound.set()
        current = gevent.getcurrent()
        for greenlet in (self._reader, self._housekeeper):
            if greenlet is not None and greenlet is not current:
                greenlet.kill(block=False)
