"""A protocol-only SMPP responder: what the headline's protocol work alone costs in CPython.

The issue behind the CPU target quotes two Go figures: a full simulator at about 25 ms per 1,000
messages, and a minimal SMSC "that does only the protocol work" at 3-6 ms, the floor. This is that
minimal SMSC written in Python the way carrier-sim's hot path is (uvloop protocols, one write per
connection and loop turn, one loop timer for every receipt), so `python -m benchmarks run` can
measure the floor for *this* language on *this* machine, in turns with carrier-sim itself:

    python -m benchmarks run --server-cmd 'python -m benchmarks.floor'

Per message it does what any SMSC must and nothing more: frame the submit_sm, read its addresses,
registered_delivery and text, issue a hex id, answer submit_sm_resp, and, when the receipt is due,
write a deliver_sm receipt (the standard text, receipted_message_id and message_state TLVs) within a
deliver window, then match its deliver_sm_resp. No store, scenario, metrics, history, limits or
faults: it is a yardstick, not a simulator, and it understands only what the bench sends.

It takes the arguments the bench gives `serve` (`--port`, `--control-port`, `--scenario`,
`--config`) and reads from those files just the receipt delay and the deliver window. It answers
submits at once, so a client's window never fills: it does not police one.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import struct
import sys
import time
from collections import deque
from typing import Any

import yaml

HEADER = struct.Struct(">IIII")
TLV_HEAD = struct.Struct(">HH")
RESP = 0x80000000
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x01, 0x02, 0x09
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x04, 0x05, 0x06, 0x15
GENERIC_NACK = RESP
TAG_SC_INTERFACE_VERSION, TAG_RECEIPTED_MESSAGE_ID, TAG_MESSAGE_STATE = 0x0210, 0x001E, 0x0427
DELIVERED = 2
ESME_RINVCMDLEN, ESME_RINVCMDID, ESME_RINVBNDSTS = 0x02, 0x03, 0x04

RECEIPT_TEXT = "id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:%s"
MESSAGE_STATE_TLV = TLV_HEAD.pack(TAG_MESSAGE_STATE, 1) + bytes((DELIVERED,))


class ReceiptDates:
    """YYMMDDhhmm for a wall time, formatted once per minute (receipts quote minutes)."""

    def __init__(self) -> None:
        self._minute = -1
        self._text = ""

    def __call__(self, wall: float) -> str:
        minute = int(wall // 60)
        if minute != self._minute:
            self._minute, self._text = minute, time.strftime("%y%m%d%H%M", time.gmtime(wall))
        return self._text


class Floor:
    """The shared part: the id counter, the receipts waiting for their time, and the one timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receipt_delay: float, deliver_window: int) -> None:
        self.loop = loop
        self.receipt_delay = receipt_delay
        self.deliver_window = deliver_window
        self.next_id = 1
        # One delay for every receipt, so they fall due in the order they were queued: a deque, not a heap.
        self.due: deque[tuple[float, FloorConnection, bytes, bytes, bytes, float, bytes]] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.dates = ReceiptDates()

    def queue_receipt(self, connection: FloorConnection, message_id: bytes, source: bytes, destination: bytes,
                      text: bytes) -> None:
        now = self.loop.time()
        self.due.append((now + self.receipt_delay, connection, message_id, source, destination, time.time(), text))
        if self.timer is None:
            self.timer = self.loop.call_at(now + self.receipt_delay, self.fire)

    def fire(self) -> None:
        self.timer = None
        due = self.due
        now = self.loop.time()
        done = time.time()
        while due and due[0][0] <= now:
            _, connection, message_id, source, destination, submitted, text = due.popleft()
            connection.receipt(message_id, source, destination, submitted, done, text)
        if due:
            # 1 ms resolution, as carrier-sim's scheduler: receipts due in the same millisecond go out together.
            self.timer = self.loop.call_at(max(due[0][0], now + 0.001), self.fire)


class FloorConnection(asyncio.Protocol):
    """One bind: frames PDUs from its buffer, answers them, and writes once per loop turn."""

    def __init__(self, floor: Floor) -> None:
        self.floor = floor
        self.buffer = bytearray()
        self.out: list[bytes] = []
        self.flush_pending = False
        self.transport: Any = None
        self.bound = False
        self.next_sequence = 1
        self.in_flight: set[int] = set()  # sequence numbers of the deliver_sm not yet answered
        self.held: deque[bytes] = deque()  # receipt bodies waiting for room in the deliver window

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset = 0
        size = len(buffer)
        while size - offset >= 16:
            length, command, _status, sequence = HEADER.unpack_from(buffer, offset)
            if length < 16:
                self.send(GENERIC_NACK, ESME_RINVCMDLEN, sequence, b"")
                buffer.clear()
                size = offset = 0
                break
            end = offset + length
            if end > size:
                break
            self.handle(command, sequence, bytes(buffer[offset + 16:end]))
            offset = end
        if offset:
            del buffer[:offset]
        self.flush_soon()

    def handle(self, command: int, sequence: int, body: bytes) -> None:
        if command == SUBMIT_SM:
            self.submit(sequence, body)
        elif command == DELIVER_SM | RESP:
            in_flight = self.in_flight
            if sequence not in in_flight:
                return  # answers nothing we sent: ignored, as responses are never answered
            in_flight.remove(sequence)
            held = self.held
            while held and len(in_flight) < self.floor.deliver_window:
                self.send_deliver_sm(held.popleft())
        elif command == ENQUIRE_LINK:
            self.send(ENQUIRE_LINK | RESP, 0, sequence, b"")
        elif command in (BIND_TRANSCEIVER, BIND_TRANSMITTER, BIND_RECEIVER):
            self.bound = True
            self.send(command | RESP, 0, sequence,
                      b"floor\0" + TLV_HEAD.pack(TAG_SC_INTERFACE_VERSION, 1) + b"\x34")
        elif command == UNBIND:
            self.send(UNBIND | RESP, 0, sequence, b"")
            self.flush()
            if self.transport is not None:
                self.transport.close()
        elif not command & RESP:
            self.send(GENERIC_NACK, ESME_RINVCMDID, sequence, b"")

    def submit(self, sequence: int, body: bytes) -> None:
        if not self.bound:
            self.send(SUBMIT_SM | RESP, ESME_RINVBNDSTS, sequence, b"")
            return
        find = body.index
        try:
            pos = find(0) + 3                       # service_type; source ton, npi
            end = find(0, pos)
            source = body[pos:end]
            pos = end + 3                           # destination ton, npi
            end = find(0, pos)
            destination = body[pos:end]
            pos = end + 4                           # esm_class, protocol_id, priority_flag
            pos = find(0, find(0, pos) + 1) + 1     # schedule_delivery_time, validity_period
            registered_delivery = body[pos]
            length = body[pos + 4]                  # replace_if_present, data_coding, sm_default_msg_id
        except (ValueError, IndexError):
            self.send(GENERIC_NACK, ESME_RINVCMDLEN, sequence, b"")
            return
        text = body[pos + 5:pos + 5 + length]
        floor = self.floor
        message_id = b"%x" % floor.next_id
        floor.next_id += 1
        self.send(SUBMIT_SM | RESP, 0, sequence, message_id + b"\0")
        if registered_delivery & 0x03:
            floor.queue_receipt(self, message_id, source, destination, text[:20])

    def receipt(self, message_id: bytes, source: bytes, destination: bytes, submitted: float, done: float,
                text: bytes) -> None:
        if self.transport is None:
            return  # gone: a floor keeps nothing for later binds
        dates = self.floor.dates
        short_message = (RECEIPT_TEXT % (message_id.decode(), dates(submitted), dates(done),
                                         text.decode("ascii", "replace"))).encode()[:254]
        body = b"".join((
            b"\0\0\0", destination, b"\0\0\0", source,   # from the handset back to the sender
            b"\0\x04\0\0\0\0", b"\0\0\0\0", bytes((len(short_message),)), short_message,
            TLV_HEAD.pack(TAG_RECEIPTED_MESSAGE_ID, len(message_id) + 1), message_id, b"\0", MESSAGE_STATE_TLV,
        ))
        if len(self.in_flight) < self.floor.deliver_window:
            self.send_deliver_sm(body)
        else:
            self.held.append(body)
        self.flush_soon()

    def send_deliver_sm(self, body: bytes) -> None:
        sequence = self.next_sequence
        self.next_sequence = sequence + 1 if sequence < 0x7FFFFFFF else 1
        self.in_flight.add(sequence)
        self.send(DELIVER_SM, 0, sequence, body)

    def send(self, command: int, status: int, sequence: int, body: bytes) -> None:
        self.out.append(HEADER.pack(16 + len(body), command, status, sequence) + body)

    def flush_soon(self) -> None:
        if not self.flush_pending:
            self.flush_pending = True
            self.floor.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.flush_pending = False
        if self.out and self.transport is not None:
            self.transport.write(b"".join(self.out))
        self.out.clear()


def _delay(text: Any) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", str(text))
    if not match:
        raise SystemExit(f"floor: cannot read the receipt delay {text!r}")
    return float(match.group(1)) * (0.001 if match.group(2) == "ms" else 1.0)


def _read_yaml(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    with open(path) as file:
        return yaml.safe_load(file) or {}


async def serve(port: int, receipt_delay: float, deliver_window: int) -> None:
    loop = asyncio.get_running_loop()
    floor = Floor(loop, receipt_delay, deliver_window)
    server = await loop.create_server(lambda: FloorConnection(floor), "127.0.0.1", port)
    port = server.sockets[0].getsockname()[1]
    # The bench reads its listeners from a banner in carrier-sim's form.
    print(f"smpp     smpp://127.0.0.1:{port}  (benchmarks.floor: protocol only)", flush=True)
    print("accounts open: any system_id and password bind", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="serve", choices=("serve",))
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--control-port", type=int, default=0, help="accepted for the bench; there is no control API")
    parser.add_argument("--scenario", help="the bench's scenario file: its receipt delay")
    parser.add_argument("--config", help="the bench's config file: smpp.deliver_window")
    args = parser.parse_args(argv)
    receipt = _read_yaml(args.scenario).get("defaults", {}).get("receipt", {})
    deliver_window = int(_read_yaml(args.config).get("smpp", {}).get("deliver_window", 10))
    server = serve(args.port, _delay(receipt.get("delay", "2s")), deliver_window)
    try:
        import uvloop
    except ImportError:
        asyncio.run(server)
    else:
        uvloop.run(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
