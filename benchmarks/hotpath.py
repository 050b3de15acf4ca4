"""The per-message hot path in one process, without sockets: decode, decide, store, schedule, encode.

`python -m benchmarks hotpath` drives a real SmppConnection (the server's own adapter, session,
codec and carrier) through a recording transport, on a manual clock: window-sized batches of
submit_sm in, submit_sm_resp out; the clock moved past the receipt delay, the scheduler fired,
deliver_sm out and deliver_sm_resp in. It reports CPU microseconds per message for each half.
What it leaves out -- epoll, the read and write syscalls -- is what the socket benchmark
(`python -m benchmarks run`) adds; the difference between the two is the I/O's share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
import time
from typing import Any

from benchmarks.server import scenario_yaml
from benchmarks.smpp_client import (
    BIND_TRANSCEIVER,
    DELIVER_SM,
    DELIVER_SM_RESP,
    HEADER,
    SUBMIT_SM_RESP,
    bind_pdu,
    submit_sm_template,
)
from simulator.app import tune_gc
from simulator.config import parse_config
from simulator.core.clock import ManualClock
from simulator.core.scenario import parse_scenario
from simulator.smpp.server import SmppServer


class RecordingTransport:
    """Stands in for the socket: keeps what the server writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def split_pdus(data: bytes) -> list[tuple[int, int, int, int]]:
    """(offset, length, command_id, sequence) of every PDU in `data`."""
    found = []
    offset = 0
    while offset + 16 <= len(data):
        length, command, _, sequence = HEADER.unpack_from(data, offset)
        found.append((offset, length, command, sequence))
        offset += length
    return found


async def run(messages: int, window: int, rounds: int) -> dict[str, Any]:
    clock = ManualClock()
    config = parse_config("smpp: {window: %d}\n" % max(window, 10))
    scenario = parse_scenario(scenario_yaml(2.0))
    from simulator.core.carrier import Carrier

    tune_gc()  # as `carrier-sim serve` does
    best: dict[str, float] = {}
    for _ in range(rounds):
        carrier = Carrier(config, clock=clock, scenario=scenario)
        server = SmppServer(carrier)
        connection = server_connection(server)
        transport = RecordingTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(bind_pdu(BIND_TRANSCEIVER, 1, "bench", "bench"))
        connection.flush()
        transport.take()
        templates = [submit_sm_template("12345", f"4479{i % 1000:08d}", b"x" * 40, 1) for i in range(window)]
        batches = []
        for start in range(0, messages, window):
            chunk = bytearray()
            for i, template in enumerate(templates):
                pdu = bytearray(template)
                struct.pack_into(">I", pdu, 12, start + i + 1)
                chunk += pdu
            batches.append(bytes(chunk))

        started = time.process_time()
        responses = 0
        for batch in batches:
            connection.data_received(batch)
            connection.flush()
            responses += sum(1 for p in split_pdus(transport.take()) if p[2] == SUBMIT_SM_RESP)
        submit_cpu = time.process_time() - started

        clock.advance(2.5)
        started = time.process_time()
        carrier.scheduler.run_due(limit=None)
        connection.flush()
        receipts = 0
        # The server keeps at most deliver_window receipts in flight: answer each write, as a client would.
        while out := transport.take():
            sequences = [sequence for _, _, command, sequence in split_pdus(out) if command == DELIVER_SM]
            receipts += len(sequences)
            connection.data_received(b"".join(HEADER.pack(17, DELIVER_SM_RESP, 0, s) + b"\0" for s in sequences))
            connection.flush()
        receipt_cpu = time.process_time() - started
        if receipts != messages or responses != messages:
            raise SystemExit(f"expected {messages} responses and receipts, got {responses} and {receipts}")
        if carrier.outbox.in_flight or carrier.outbox.held():
            raise SystemExit("receipts left unanswered in the outbox")
        for key, value in (("submit", submit_cpu), ("receipt", receipt_cpu)):
            best[key] = min(best.get(key, value), value)
        connection.connection_lost(None)
    per = {key: round(value / messages * 1e6, 2) for key, value in best.items()}
    per["total"] = round(per["submit"] + per["receipt"], 2)
    return {"benchmark": "hotpath", "messages": messages, "window": window, "rounds": rounds,
            "cpu_us_per_message": per, "cpu_ms_per_1k_messages": per["total"]}


def server_connection(server: SmppServer):
    from simulator.smpp.server import SmppConnection

    return SmppConnection(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks hotpath", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    result = (uvloop.run if uvloop else asyncio.run)(run(args.messages, args.window, args.rounds))
    if args.json:
        print(json.dumps(result))
    else:
        per = result["cpu_us_per_message"]
        print(f"hot path, {args.messages:,} messages, window {args.window}, best of {args.rounds} (CPU, no sockets)")
        print(f"  submit  (decode, decide, store, schedule, encode resp)  {per['submit']:7.2f} us/msg")
        print(f"  receipt (fire, build, encode deliver_sm, settle resp)  {per['receipt']:7.2f} us/msg")
        print(f"  total                                                   {per['total']:7.2f} us/msg"
              f"  = {per['total']:.1f} ms per 1,000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
