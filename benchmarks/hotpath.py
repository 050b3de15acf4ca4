"""The per-message hot path in one process, without sockets: decode, decide, store, schedule, encode.

`python -m benchmarks hotpath` drives a real SmppConnection (the server's own adapter, session,
codec and carrier) through a recording transport, on a manual clock: window-sized batches of
submit_sm in, submit_sm_resp out; the clock moved past the receipt delay, the scheduler fired,
deliver_sm out and deliver_sm_resp in. It reports CPU microseconds per message for each half.
What it leaves out -- epoll, the read and write syscalls, and sleeping between them -- is what the
socket benchmark (`python -m benchmarks run`) adds. `--pause` measures the sleeping part: the same
submits with a sleep between windows, as a server waits for its next read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import struct
import sys
import time
from typing import Any

from benchmarks import report
from benchmarks.run import seconds
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
from simulator.core.carrier import Carrier
from simulator.core.clock import ManualClock
from simulator.core.scenario import parse_scenario
from simulator.smpp.server import SmppConnection, SmppServer


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
        if length < 16:
            raise SystemExit(f"the server wrote a PDU with command_length {length}")
        found.append((offset, length, command, sequence))
        offset += length
    return found


def _connect(carrier) -> tuple[Any, RecordingTransport]:
    connection = SmppConnection(SmppServer(carrier))
    transport = RecordingTransport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    connection.data_received(bind_pdu(BIND_TRANSCEIVER, 1, "bench", "bench"))
    connection.flush()
    transport.take()
    return connection, transport


def _batches(messages: int, window: int) -> list[bytes]:
    templates = [submit_sm_template("12345", f"4479{i % 1000:08d}", b"x" * 40, 1) for i in range(window)]
    batches = []
    for start in range(0, messages, window):
        chunk = bytearray()
        for i, template in enumerate(templates):
            pdu = bytearray(template)
            struct.pack_into(">I", pdu, 12, start + i + 1)
            chunk += pdu
        batches.append(bytes(chunk))
    return batches


def _answer_receipts(connection: Any, transport: RecordingTransport) -> tuple[int, int]:
    """Answer every deliver_sm written so far, as a client would; (submit_sm_resp, deliver_sm) seen."""
    responses = receipts = 0
    # The server keeps at most deliver_window receipts in flight: each answer may release more.
    while out := transport.take():
        sequences = []
        for _, _, command, sequence in split_pdus(out):
            if command == DELIVER_SM:
                sequences.append(sequence)
            elif command == SUBMIT_SM_RESP:
                responses += 1
        receipts += len(sequences)
        if sequences:
            connection.data_received(b"".join(HEADER.pack(17, DELIVER_SM_RESP, 0, s) + b"\0" for s in sequences))
            connection.flush()
    return responses, receipts


def _check(carrier, messages: int, responses: int, receipts: int) -> None:
    if receipts != messages or responses != messages:
        raise SystemExit(f"expected {messages} responses and receipts, got {responses} and {receipts}")
    if carrier.outbox.in_flight or carrier.outbox.held():
        raise SystemExit("receipts left unanswered in the outbox")


def _submit_all(connection: Any, transport: RecordingTransport, batches: list[bytes], pause: float = 0.0) -> int:
    """Feed every window of submit_sm (sleeping `pause` after each, if any); the submit_sm_resp seen."""
    responses = 0
    for batch in batches:
        connection.data_received(batch)
        connection.flush()
        responses += sum(1 for p in split_pdus(transport.take()) if p[2] == SUBMIT_SM_RESP)
        if pause:
            time.sleep(pause)
    return responses


def run_phased(config, scenario, messages: int, window: int) -> dict[str, float]:
    """Every submit first, then every receipt: each half measured on its own."""
    clock = ManualClock()
    carrier = Carrier(config, clock=clock, scenario=scenario)
    connection, transport = _connect(carrier)
    batches = _batches(messages, window)
    started = time.process_time()
    responses = _submit_all(connection, transport, batches)
    submit_cpu = time.process_time() - started
    clock.advance(2.5)
    started = time.process_time()
    carrier.scheduler.run_due(limit=None)
    connection.flush()
    _, receipts = _answer_receipts(connection, transport)
    receipt_cpu = time.process_time() - started
    _check(carrier, messages, responses, receipts)
    connection.connection_lost(None)
    return {"submit": submit_cpu, "receipt": receipt_cpu}


def run_interleaved(config, scenario, messages: int, window: int, rate: float) -> float:
    """As in a sustained run: a window of submits every window/rate seconds, receipts fired as they fall due."""
    clock = ManualClock()
    carrier = Carrier(config, clock=clock, scenario=scenario)
    connection, transport = _connect(carrier)
    batches = _batches(messages, window)
    step = window / rate
    responses = receipts = 0
    started = time.process_time()
    for batch in batches:
        connection.data_received(batch)
        connection.flush()
        clock.advance(step)
        carrier.scheduler.run_due(limit=None)
        connection.flush()
        got = _answer_receipts(connection, transport)
        responses += got[0]
        receipts += got[1]
    clock.advance(2.5)
    carrier.scheduler.run_due(limit=None)
    connection.flush()
    got = _answer_receipts(connection, transport)
    cpu = time.process_time() - started
    _check(carrier, messages, responses + got[0], receipts + got[1])
    connection.connection_lost(None)
    return cpu


def run_paused(config, scenario, messages: int, window: int, pause: float) -> tuple[float, float]:
    """The submit half again, sleeping `pause` between windows, as a server waits for its next read.

    Returns the (user, system) CPU seconds. Against `run_phased`'s submit half this shows what each
    wake-up costs in CPU: the code is the same, only the sleeps between the batches are new.
    """
    clock = ManualClock()
    carrier = Carrier(config, clock=clock, scenario=scenario)
    connection, transport = _connect(carrier)
    batches = _batches(messages, window)
    before = resource.getrusage(resource.RUSAGE_SELF)
    responses = _submit_all(connection, transport, batches, pause)
    after = resource.getrusage(resource.RUSAGE_SELF)
    if responses != messages:
        raise SystemExit(f"expected {messages} responses, got {responses}")
    connection.connection_lost(None)
    return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def run(messages: int, window: int, rounds: int, rate: float = 5000.0, pause: float = 0.0) -> dict[str, Any]:
    config = parse_config("smpp: {window: %d}\n" % max(window, 10))
    scenario = parse_scenario(scenario_yaml(2.0))
    tune_gc()  # as `carrier-sim serve` does
    best: dict[str, float] = {}
    for _ in range(rounds):
        phased = run_phased(config, scenario, messages, window)
        phased["interleaved"] = run_interleaved(config, scenario, messages, window, rate)
        for key, value in phased.items():
            best[key] = min(best.get(key, value), value)
    per = {key: round(value / messages * 1e6, 2) for key, value in best.items()}
    per["total"] = round(per["submit"] + per["receipt"], 2)
    result = {"benchmark": "hotpath", "messages": messages, "window": window, "rounds": rounds, "rate": rate,
              "cpu_us_per_message": per, "cpu_ms_per_1k_messages": per["total"],
              "cpu_ms_per_1k_messages_interleaved": per["interleaved"]}
    if pause > 0:
        # Paused messages are fewer (the sleeps take wall time); the best of the rounds, as above.
        paused_messages = max(window, min(messages, int(2.0 / pause) * window))
        user, system = min((run_paused(config, scenario, paused_messages, window, pause) for _ in range(rounds)), key=sum)
        paused = (user + system) / paused_messages * 1e6
        wakeups = -(-paused_messages // window)
        result["paused"] = {
            "pause_s": pause, "messages": paused_messages, "wakeups": wakeups,
            "submit_us_per_message": round(paused, 2),
            "user_us_per_message": round(user / paused_messages * 1e6, 2),
            "system_us_per_message": round(system / paused_messages * 1e6, 2),
            "extra_us_per_wakeup": round((paused - per["submit"]) * paused_messages / wakeups, 1),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks hotpath", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    parser.add_argument("--rate", type=float, default=5000.0, help="interleaved: submits per (simulated) second")
    parser.add_argument("--pause", type=seconds, default=0.0,
                        help="also run the submit half sleeping this long between windows (e.g. 0.5ms): "
                             "the CPU each wake-up costs")
    parser.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    parser.add_argument("--out", help="JSON file (default benchmarks/results/hotpath-<timestamp>.json)")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        uvloop = None

    async def measure() -> dict[str, Any]:
        return run(args.messages, args.window, args.rounds, args.rate, args.pause)  # SmppConnection needs a running loop

    result = (uvloop.run if uvloop else asyncio.run)(measure())
    result["machine"] = report.machine()
    path = report.write_json(result, args.out, "hotpath")
    if args.json:
        print(json.dumps(result))
    else:
        per = result["cpu_us_per_message"]
        print(f"hot path, {args.messages:,} messages, window {args.window}, best of {args.rounds} (CPU, no sockets)")
        print(f"  submit  (decode, decide, store, schedule, encode resp)  {per['submit']:7.2f} us/msg")
        print(f"  receipt (fire, build, encode deliver_sm, settle resp)  {per['receipt']:7.2f} us/msg")
        print(f"  total                                                   {per['total']:7.2f} us/msg"
              f"  = {per['total']:.1f} ms per 1,000")
        print(f"  interleaved at {args.rate:,.0f}/s (receipts fire between submits)    {per['interleaved']:7.2f} us/msg")
        if "paused" in result:
            paused = result["paused"]
            print(f"  submit, sleeping {paused['pause_s'] * 1e3:g} ms between windows          "
                  f"{paused['submit_us_per_message']:7.2f} us/msg (user {paused['user_us_per_message']:.2f}, "
                  f"system {paused['system_us_per_message']:.2f})")
            print(f"  so each wake-up costs about {paused['extra_us_per_wakeup']:,.0f} us of CPU more")
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
