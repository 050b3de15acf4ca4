"""Tests for simulator.smpp.balance: who keeps a new connection, and handing it over intact."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from simulator.smpp.balance import Balancer


async def _until(condition: Callable[[], object]) -> None:
    """Let the loop run until `condition()` holds, for at most a second."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0.01)


class _Kept(asyncio.Protocol):
    """connection_made as SmppConnection does it: hand the connection over, or keep and count it."""

    def __init__(self, balancer: Balancer, outcomes: list[str]) -> None:
        self.balancer = balancer
        self.outcomes = outcomes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.balancer.hand_off(transport):
            self.outcomes.append("handed off")
        else:
            self.balancer.add()
            self.outcomes.append("kept")


@pytest.mark.asyncio
async def test_a_busier_worker_hands_the_connection_over_with_its_bytes_unread(tmp_path) -> None:
    loop = asyncio.get_running_loop()
    adopted: list[socket.socket] = []
    first, second = Balancer(str(tmp_path), 0, 2), Balancer(str(tmp_path), 1, 2)
    first.start(lambda sock, sender: None)
    second.start(lambda sock, sender: adopted.append(sock) if sender == 0 else None)
    outcomes: list[str] = []
    server = await loop.create_server(lambda: _Kept(first, outcomes), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        kept = socket.create_connection(("127.0.0.1", port))
        kept.sendall(b"first")
        await _until(lambda: outcomes)
        assert outcomes == ["kept"] and first.load(0) == 1 and second.load(0) == 1

        moved = socket.create_connection(("127.0.0.1", port))
        moved.sendall(b"hello")  # sent before the hand-over: it must reach the adopting worker
        await _until(lambda: adopted)
        assert outcomes == ["kept", "handed off"]
        assert first.handed_off == 1 and second.adopted == 1
        # Until the adopter serves the connection, the sender counts it as in flight.
        assert first.load(1) == 1 and second.load(1) == 0
        second.add(handed_by=0)
        assert first.load(1) == 1 and second.load(1) == 1

        peer = adopted[0]
        peer.settimeout(5)
        assert peer.recv(5) == b"hello"
        peer.sendall(b"answer")
        moved.settimeout(5)
        assert moved.recv(6) == b"answer"  # the same TCP connection, served by the other worker

        second.remove()
        assert first.load(1) == 0
        peer.close()
        moved.close()
        kept.close()
    finally:
        server.close()
        first.stop()
        second.stop()


@pytest.mark.asyncio
async def test_a_connection_stays_when_the_other_worker_cannot_take_it(tmp_path) -> None:
    loop = asyncio.get_running_loop()
    first = Balancer(str(tmp_path), 0, 2)
    first.start(lambda sock, sender: None)  # worker 1 never started: there is no inbox to hand over to
    first.add()  # this worker is busier than worker 1, so it tries
    outcomes: list[str] = []
    server = await loop.create_server(lambda: _Kept(first, outcomes), "127.0.0.1", 0)
    try:
        client = socket.create_connection(server.sockets[0].getsockname())
        await _until(lambda: outcomes)
        assert outcomes == ["kept"] and first.handed_off == 0 and first.load(0) == 2
        client.close()
    finally:
        server.close()
        first.stop()


def test_the_index_must_be_one_of_the_workers(tmp_path) -> None:
    with pytest.raises(ValueError, match="outside"):
        Balancer(str(tmp_path), 2, 2)


@pytest.mark.asyncio
async def test_a_connection_lost_in_transit_stops_counting_as_in_flight(tmp_path) -> None:
    loop = asyncio.get_running_loop()

    def refuse(sock: socket.socket, sender: int | None) -> None:
        raise OSError("no room")

    first, second = Balancer(str(tmp_path), 0, 2), Balancer(str(tmp_path), 1, 2)
    first.start(lambda sock, sender: None)
    second.start(refuse)
    first.add()
    outcomes: list[str] = []
    server = await loop.create_server(lambda: _Kept(first, outcomes), "127.0.0.1", 0)
    try:
        client = socket.create_connection(server.sockets[0].getsockname())
        await _until(lambda: second.adopted)
        assert outcomes == ["handed off"] and second.adopted == 1
        assert first.load(1) == 0  # not left in flight for ever
        client.close()
    finally:
        server.close()
        first.stop()
        second.stop()
