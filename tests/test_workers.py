"""`carrier-sim serve --workers 2`: one port, two processes, receipts reach whichever worker holds the bind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from simulator.testing import SmppTestClient



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_workers(tmp_path):
    scenario = tmp_path / "fast.yaml"
    scenario.write_text("defaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 50ms\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", str(port), "--no-control", "--workers", "2",
         "--scenario", str(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(0.5)  # both workers listening
    yield port
    process.terminate()
    assert process.wait(20) == 0


def test_receipts_cross_workers_to_the_only_receiver(two_workers) -> None:
    receiver = SmppTestClient(two_workers, "acme", bind="receiver")
    time.sleep(0.3)  # the hub learns where the receiver is
    ids = set()
    for _ in range(12):  # each transmitter lands on either worker: all on the receiver's has odds 1 in 4096
        sender = SmppTestClient(two_workers, "acme", bind="transmitter")
        sender.submit_nowait(registered_delivery=1)
        assert sender.wait_until(lambda: len(sender.responses) == 1)
        ids.add(sender.responses[0].message_id)
        sender.close()
    assert receiver.wait_until(lambda: len(receiver.delivered) >= 12, timeout=10)
    time.sleep(0.3)
    assert {p.receipted_message_id for p in receiver.delivered} == ids and len(receiver.delivered) == 12
    receiver.close()


def _listeners(port: int) -> int:
    """Sockets listening on `port` on this machine, from /proc/net/tcp (state 0A is LISTEN)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    count += 1
    return count


def test_port_zero_gives_every_worker_the_same_free_port(tmp_path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--no-control", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.split()[:1] == ["smpp"]:
                port = int(line.rsplit(":", 1)[1])
        assert port, "the first worker announces the SMPP listener"
        while _listeners(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _listeners(port) == 2, "both workers listen on the announced port"
        clients = [SmppTestClient(port, f"acct{n}") for n in range(6)]
        for client in clients:
            client.submit(registered_delivery=0)
            client.close()
    finally:
        process.terminate()
        assert process.wait(20) == 0
