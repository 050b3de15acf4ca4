"""A minimal, fast SMPP 3.4 load client, written for the benchmark alone.

Nothing here imports the simulator: PDUs are encoded with `struct`, submit_sm templates are encoded
once and only their sequence numbers are patched, reads parse the 16-octet header and, where needed,
the message_id (submit_sm_resp) or receipted_message_id (deliver_sm). Every read is answered with one
batched write (deliver_sm_resp and the next submits together).
"""

from __future__ import annotations

import asyncio
import struct
import time
from array import array
from collections import Counter

HEADER = struct.Struct(">IIII")
_header = HEADER.unpack_from
_pack_seq = struct.Struct(">I").pack_into
_resp17 = struct.Struct(">IIIIB").pack  # a 17-octet response whose body is one empty C-string
_tlv = struct.Struct(">HH").unpack_from

BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSCEIVER = 0x00000009
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
ENQUIRE_LINK = 0x00000015
DATA_SM = 0x00000103
GENERIC_NACK = 0x80000000
RESP = 0x80000000
SUBMIT_SM_RESP = SUBMIT_SM | RESP
DELIVER_SM_RESP = DELIVER_SM | RESP
ENQUIRE_LINK_RESP = ENQUIRE_LINK | RESP
UNBIND_RESP = UNBIND | RESP
DATA_SM_RESP = DATA_SM | RESP

BIND_COMMANDS = {"transceiver": BIND_TRANSCEIVER, "transmitter": BIND_TRANSMITTER, "receiver": BIND_RECEIVER}
TAG_RECEIPTED_MESSAGE_ID = 0x001E
ESME_RINVCMDID = 0x03
MAX_PDU = 70_000

# Sequence numbers: submits count up from 1; control PDUs live far above them.
CONTROL_SEQ = 0x70000000

clock = time.monotonic  # CLOCK_MONOTONIC: comparable across the bench's processes


def cstr(value: str | bytes) -> bytes:
    return (value.encode("latin-1") if isinstance(value, str) else value) + b"\0"


def pdu(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, sequence) + body


def bind_pdu(command_id: int, sequence: int, system_id: str, password: str, system_type: str = "bench") -> bytes:
    body = cstr(system_id) + cstr(password) + cstr(system_type) + bytes((0x34, 0, 0)) + cstr("")
    return pdu(command_id, sequence, body)


def submit_sm_template(source: str, destination: str, text: bytes, registered_delivery: int) -> bytes:
    """A submit_sm with sequence number 0: patch octets 12-15 to use it."""
    body = (
        cstr("")                      # service_type
        + bytes((5, 0)) + cstr(source)  # alphanumeric source
        + bytes((1, 1)) + cstr(destination)
        + bytes((0, 0, 0))            # esm_class, protocol_id, priority_flag
        + cstr("") + cstr("")         # schedule_delivery_time, validity_period
        + bytes((registered_delivery, 0, 0, 0))  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
        + bytes((len(text),)) + text
    )
    return pdu(SUBMIT_SM, 0, body)


def receipt_id(data: bytes, pos: int, end: int) -> tuple[bool, bytes]:
    """(is it a receipt, receipted_message_id) of the deliver_sm body in data[pos:end].

    A receipt has esm_class 0x04, or carries receipted_message_id: some SMSCs (simulators among them) leave
    esm_class at 0 on their receipts. The id is read from the text when there is no such TLV (SMPP 3.3).
    """
    find = data.index
    pos = find(0, pos, end) + 3          # service_type, source ton/npi
    pos = find(0, pos, end) + 3          # source_addr, dest ton/npi
    pos = find(0, pos, end) + 1          # destination_addr
    esm = data[pos]
    pos = find(0, pos + 3, end) + 1      # esm, protocol_id, priority; schedule_delivery_time
    pos = find(0, pos, end) + 5          # validity_period; registered_delivery, replace, data_coding, default_msg_id
    sm_length = data[pos]
    text_at = pos + 1
    pos = text_at + sm_length
    while pos + 4 <= end:
        tag, length = _tlv(data, pos)
        if tag == TAG_RECEIPTED_MESSAGE_ID:
            value = data[pos + 4:pos + 4 + length]
            return True, value[:-1] if value.endswith(b"\0") else value
        pos += 4 + length
    if not esm & 0x04:
        return False, b""
    text = data[text_at:text_at + sm_length]
    start = text.find(b"id:")
    if start < 0:
        return True, b""
    stop = text.find(b" ", start)
    return True, text[start + 3:stop if stop >= 0 else len(text)]


def data_sm_receipt_id(data: bytes, pos: int, end: int) -> tuple[bool, bytes]:
    """(is it a receipt, receipted_message_id) of a data_sm body (receipts sent as data_sm by some SMSCs)."""
    find = data.index
    pos = find(0, pos, end) + 3          # service_type, source ton/npi
    pos = find(0, pos, end) + 3          # source_addr, dest ton/npi
    pos = find(0, pos, end) + 1          # destination_addr
    esm = data[pos]
    pos += 3                             # esm_class, registered_delivery, data_coding
    while pos + 4 <= end:
        tag, length = _tlv(data, pos)
        if tag == TAG_RECEIPTED_MESSAGE_ID:
            value = data[pos + 4:pos + 4 + length]
            return True, value[:-1] if value.endswith(b"\0") else value
        pos += 4 + length
    return bool(esm & 0x04), b""


class Tracker:
    """Everything one client process learns: counts, latencies and the receipts still expected.

    Shared by all binds of one process, because a receipt may come back on any bind of the system_id.
    """

    def __init__(self, track_receipts: bool) -> None:
        self.track = track_receipts
        self.pending: dict[bytes, float] = {}  # message_id -> submit write time, receipt not seen yet
        self.early: dict[bytes, float] = {}  # receipts read before their submit_sm_resp
        self.seen: set[bytes] = set()
        self.submit_latency = array("d")
        self.corrected_latency = array("d")  # paced: from the scheduled send time, not the actual write
        self.lateness = array("d")  # paced: actual write - scheduled time
        self.receipt_latency = array("d")
        self.submitted = 0
        self.resp_ok = 0
        self.resp_error: Counter[int] = Counter()
        self.receipts = 0
        self.duplicates = 0
        self.other_deliver = 0  # deliver_sm that are not receipts (no 0x04 in esm_class, no receipted_message_id)
        self.first_write = 0.0
        self.last_write = 0.0
        self.last_resp = 0.0
        self.last_receipt = 0.0
        self.last_progress = 0.0
        self.errors: list[str] = []

    def resp_ok_id(self, message_id: bytes, written: float) -> None:
        if not self.track:
            return
        received = self.early.pop(message_id, None)
        if received is None:
            self.pending[message_id] = written
        else:
            self.seen.add(message_id)
            self.receipts += 1
            self.receipt_latency.append(received - written)

    def receipt(self, message_id: bytes, now: float) -> None:
        self.last_receipt = self.last_progress = now
        if not self.track:
            self.receipts += 1
            return
        written = self.pending.pop(message_id, None)
        if written is not None:
            self.seen.add(message_id)
            self.receipts += 1
            self.receipt_latency.append(now - written)
        elif message_id in self.seen or message_id in self.early:
            self.duplicates += 1
        else:
            self.early[message_id] = now


class Feed:
    """How many submits one bind may have written by now: all of them (burst) or a schedule (paced)."""

    def __init__(self, quota: int, rate: float = 0.0, start: float = 0.0, phase: float = 0.0) -> None:
        self.quota = quota
        self.rate = rate  # per bind, messages/s; 0 = as fast as the window allows
        self.start = start
        self.phase = phase  # 0..1: staggers binds so their schedules interleave
        self.allowed = 0

    def due(self, now: float) -> int:
        if self.rate <= 0:
            self.allowed = self.quota
        else:
            self.allowed = min(self.quota, max(0, int((now - self.start) * self.rate + 1 - self.phase)))
        return self.allowed

    def scheduled(self, index: int) -> float:
        return self.start + (index + self.phase) / self.rate


class SmppBind(asyncio.Protocol):
    """One bind: pipelined submit_sm under a window, every deliver_sm answered at once."""

    def __init__(self, tracker: Tracker, *, window: int, templates: bytes, template_length: int,
                 template_count: int, max_batch: int) -> None:
        self.tracker = tracker
        self.window = window
        self.templates = templates  # template_count + max_batch templates, back to back
        self.tlen = template_length
        self.tcount = template_count
        self.max_batch = max_batch
        self.transport: asyncio.Transport | None = None
        self.rest = b""
        self.next_seq = 1
        self.in_flight = 0
        self.sent_times = array("d")  # index seq-1: when that submit was written
        self.scheduled = array("d")  # paced: index seq-1: when it was due
        self.feed: Feed | None = None
        self.control: dict[int, tuple[asyncio.Future, float]] = {}  # control seq -> (future, sent at)
        self.control_seq = CONTROL_SEQ
        self.connected = asyncio.get_running_loop().create_future()
        self.lost = asyncio.get_running_loop().create_future()
        self.bound = False
        self.unbound_by_peer = False

    # ------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.connected.done():
            self.connected.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.bound = False
        for future, _ in self.control.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
                future.exception()  # retrieved: an unbind nobody waits for any more must not log a warning
        self.control.clear()
        if not self.lost.done():
            self.lost.set_result(exc)

    @property
    def done_submitting(self) -> bool:
        feed = self.feed
        return feed is None or (self.next_seq - 1 >= feed.quota and self.in_flight == 0) or self.lost.done()

    # ------------------------------------------------------------ control requests (bind, enquire_link, unbind)

    def request(self, command_id: int, body: bytes = b"") -> asyncio.Future:
        self.control_seq += 1
        future = asyncio.get_running_loop().create_future()
        self.control[self.control_seq] = (future, clock())
        assert self.transport is not None
        self.transport.write(pdu(command_id, self.control_seq, body))
        return future

    def bind_request(self, command_id: int, system_id: str, password: str) -> asyncio.Future:
        self.control_seq += 1
        future = asyncio.get_running_loop().create_future()
        self.control[self.control_seq] = (future, clock())
        assert self.transport is not None
        self.transport.write(bind_pdu(command_id, self.control_seq, system_id, password))
        return future

    # ------------------------------------------------------------ submits

    def pump(self, now: float, out: list[bytes] | None = None) -> None:
        """Write as many submits as the feed allows and the window has room for."""
        feed = self.feed
        if feed is None or self.transport is None or not self.bound:
            return
        written = self.next_seq - 1
        room = self.window - self.in_flight
        due = feed.allowed - written
        if due <= 0 and feed.rate > 0:
            due = feed.due(now) - written
        n = min(room, due)
        if n <= 0:
            return
        tlen = self.tlen
        chunks = out if out is not None else []
        tracker = self.tracker
        if tracker.first_write == 0.0:
            tracker.first_write = now
        while n > 0:
            batch = min(n, self.max_batch)
            seq = self.next_seq
            at = ((seq - 1) % self.tcount) * tlen
            buf = bytearray(self.templates[at:at + batch * tlen])
            offset = 12
            for s in range(seq, seq + batch):
                _pack_seq(buf, offset, s)
                offset += tlen
            chunks.append(buf)
            self.next_seq = seq + batch
            self.in_flight += batch
            self.sent_times.extend((now,) * batch)
            if feed.rate > 0:
                scheduled = feed.scheduled
                late = tracker.lateness
                for index in range(seq - 1, seq - 1 + batch):
                    due_at = scheduled(index)
                    self.scheduled.append(due_at)
                    late.append(now - due_at)
            n -= batch
        tracker.submitted += self.next_seq - 1 - written
        tracker.last_write = now
        if out is None:
            self.transport.write(b"".join(chunks))

    # ------------------------------------------------------------ reading

    def data_received(self, data: bytes) -> None:
        now = clock()
        if self.rest:
            data = self.rest + data
            self.rest = b""
        size = len(data)
        offset = 0
        out: list[bytes] = []
        tracker = self.tracker
        paced = self.feed is not None and self.feed.rate > 0
        while size - offset >= 16:
            length, command, status, seq = _header(data, offset)
            end = offset + length
            if length < 16 or length > MAX_PDU:
                tracker.errors.append(f"bad command_length {length} from the server; closing")
                self.transport.abort()  # type: ignore[union-attr]
                return
            if end > size:
                break
            if command == SUBMIT_SM_RESP:
                self.in_flight -= 1
                written = self.sent_times[seq - 1]
                tracker.submit_latency.append(now - written)
                if paced:
                    tracker.corrected_latency.append(now - self.scheduled[seq - 1])
                if status == 0:
                    tracker.resp_ok += 1
                    tracker.resp_ok_id(data[offset + 16:end - 1], written)
                else:
                    tracker.resp_error[status] += 1
                tracker.last_resp = tracker.last_progress = now
            elif command == DELIVER_SM or command == DATA_SM:
                out.append(_resp17(17, command | RESP, 0, seq, 0))
                try:
                    parse = receipt_id if command == DELIVER_SM else data_sm_receipt_id
                    is_receipt, message_id = parse(data, offset + 16, end)
                except (ValueError, IndexError):
                    is_receipt, message_id = False, b""
                    tracker.errors.append("undecodable deliver_sm")
                if is_receipt:
                    tracker.receipt(message_id, now)
                else:
                    tracker.other_deliver += 1
            elif command == ENQUIRE_LINK:
                out.append(pdu(ENQUIRE_LINK_RESP, seq))
            elif command == GENERIC_NACK:
                if seq < CONTROL_SEQ and 0 < seq < self.next_seq:
                    self.in_flight -= 1
                    tracker.resp_error[status or 0xFFFFFFFF] += 1
                    tracker.submit_latency.append(now - self.sent_times[seq - 1])
                    tracker.last_resp = tracker.last_progress = now
                else:
                    self._control_answer(seq, status, command, b"")
            elif command & RESP:
                self._control_answer(seq, status, command, data[offset + 16:end])
            elif command == UNBIND:
                out.append(pdu(UNBIND_RESP, seq))
                self.bound = False
                self.unbound_by_peer = True
            else:
                out.append(pdu(GENERIC_NACK, seq, status=ESME_RINVCMDID))
            offset = end
        if offset < size:
            self.rest = data[offset:]
        if self.feed is not None:
            self.pump(now, out)
        if out:
            self.transport.write(b"".join(out))  # type: ignore[union-attr]

    def _control_answer(self, seq: int, status: int, command: int, body: bytes) -> None:
        entry = self.control.pop(seq, None)
        if entry is None:
            self.tracker.errors.append(f"unexpected response 0x{command:08X} seq {seq}")
            return
        future, sent = entry
        if not future.done():
            future.set_result((status, clock() - sent, body))


def build_templates(count: int, max_batch: int, text_length: int, registered_delivery: int,
                    source: str = "BENCH") -> tuple[bytes, int]:
    """`count` submit_sm templates to distinct destinations (plus max_batch repeated so slices never wrap)."""
    text = (b"carrier-sim benchmark message " * 10)[:text_length]
    templates = [submit_sm_template(source, f"4479{n % 100_000_000:08d}", text, registered_delivery)
                 for n in range(count)]
    length = len(templates[0])
    assert all(len(t) == length for t in templates)
    ring = b"".join(templates + templates[:max_batch])
    return ring, length


async def open_bind(host: str, port: int, tracker: Tracker, *, bind_type: str, system_id: str, password: str,
                    window: int, templates: bytes, template_length: int, template_count: int, max_batch: int,
                    timeout: float = 30.0) -> SmppBind:
    loop = asyncio.get_running_loop()
    factory = lambda: SmppBind(tracker, window=window, templates=templates,  # noqa: E731
                               template_length=template_length, template_count=template_count, max_batch=max_batch)
    _, protocol = await asyncio.wait_for(loop.create_connection(factory, host, port), timeout)
    status, _, _ = await asyncio.wait_for(protocol.bind_request(BIND_COMMANDS[bind_type], system_id, password), timeout)
    if status != 0:
        protocol.transport.close()
        raise ConnectionError(f"bind refused with 0x{status:02X}")
    protocol.bound = True
    return protocol
