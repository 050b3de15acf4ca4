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


def _listening_port(process: subprocess.Popen, workers: int = 2) -> int:
    """The SMPP port `serve --port 0` announces, once every worker listens on it."""
    port = None
    deadline = time.monotonic() + 20
    while port is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.split()[:1] == ["smpp"]:
            port = int(line.rsplit(":", 1)[1])
    assert port, "the first worker announces the SMPP listener"
    while _listeners(port) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _listeners(port) == workers, "every worker listens on the announced port"
    return port


def test_port_zero_gives_every_worker_the_same_free_port(tmp_path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--no-control", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = _listening_port(process)
        clients = [SmppTestClient(port, f"acct{n}") for n in range(6)]
        for client in clients:
            client.submit(registered_delivery=0)
            client.close()
    finally:
        process.terminate()
        assert process.wait(20) == 0


def _workers_of(parent: int) -> list[int]:
    """The pids whose parent is `parent`: the worker processes."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry))
    return sorted(pids)


def _holder(pids: list[int], server_port: int, client_port: int) -> int | None:
    """Which of `pids` holds the server side of the connection from `client_port`, from /proc."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if int(local, 16) == server_port and int(remote, 16) == client_port and fields[3] == "01":
                    inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


def _spread(port: int, pids: list[int], clients: list[SmppTestClient]) -> dict[int, int]:
    counts = dict.fromkeys(pids, 0)
    for client in clients:
        holder = _holder(pids, port, client.client._socket.getsockname()[1])
        assert holder is not None, "every bind is held by a worker"
        counts[holder] += 1
    return counts


def test_binds_are_spread_evenly_over_the_workers(tmp_path) -> None:
    # SO_REUSEPORT alone puts both of two binds on one worker half the time; handing connections
    # over to the least loaded worker makes the spread exact, whichever worker the kernel picks.
    scenario = tmp_path / "fast.yaml"
    scenario.write_text("defaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 50ms\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--no-control", "--workers", "2",
         "--scenario", str(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    clients: list[SmppTestClient] = []
    try:
        port = _listening_port(process)
        pids = _workers_of(process.pid)
        assert len(pids) == 2
        with open(f"/proc/{pids[0]}/cmdline", "rb") as f:
            arguments = f.read().decode().split("\0")
        runtime = os.path.dirname(arguments[arguments.index("--relay") + 1])
        assert {"relay.sock", "handoff-0.sock", "handoff-1.sock", "loads"} <= set(os.listdir(runtime))

        for n in range(8):  # by the kernel's hash alone, staying this even 8 times running has odds of 1 in 16
            clients.append(SmppTestClient(port, f"acct{n}", bind="transceiver"))
            counts = _spread(port, pids, clients)
            assert max(counts.values()) - min(counts.values()) <= 1, counts
        assert sorted(counts.values()) == [4, 4]
        for client in clients:  # every bind works where it ended up, receipts included
            client.submit(registered_delivery=1)
        for client in clients:
            assert client.wait_until(lambda c=client: len(c.delivered) == 1, timeout=10)

        # Loads fall as binds close: the next binds go to the worker that lost them.
        counts = _spread(port, pids, clients)
        emptied = pids[0]
        leaving = [c for c in clients if _holder(pids, port, c.client._socket.getsockname()[1]) == emptied][:2]
        for client in leaving:
            client.close()
            clients.remove(client)
        time.sleep(0.3)  # the worker sees both connections end
        clients += [SmppTestClient(port, f"later{n}", bind="transceiver") for n in range(2)]
        assert _spread(port, pids, clients) == counts
    finally:
        for client in clients:
            client.close()
        process.terminate()
        assert process.wait(20) == 0
    assert not os.path.exists(runtime), "the workers' sockets and loads are removed when serve stops"
