"""Fixtures for the HTTP front ends: a simulator on real sockets, and blocking smpplib peers run in threads."""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio
import smpplib.client
import smpplib.consts
import smpplib.smpp

from simulator.app import Simulator
from simulator.config import AccountConfig, Config, ControlConfig, SmppConfig
from simulator.core.scenario import parse_scenario

FAST_DELIVERY = "defaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 10ms\n"


class SmppPeer:
    """A bound smpplib client whose PDUs are read by a background thread.

    deliver_sm, unbind and enquire_link are answered as they arrive; every PDU read is kept in
    `received`. `disconnected` is set when the server closes the connection (not when we do).
    """

    def __init__(self, port: int, system_id: str, bind_type: str = "receiver", password: str = "secret") -> None:
        self.port = port
        self.system_id = system_id
        self.bind_type = bind_type
        self.password = password
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
        self.received: list[Any] = []
        self.disconnected = threading.Event()
        self.answer_unbind = True  # False: ignore the server's unbind, as smpplib's own read_once() does
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ blocking API (call via to_thread)

    def open(self) -> None:
        self.client.connect()
        getattr(self.client, f"bind_{self.bind_type}")(system_id=self.system_id, password=self.password)
        self._thread = threading.Thread(target=self._read_loop, name=f"smpp-peer-{self.system_id}", daemon=True)
        self._thread.start()

    def wait_for(self, match: Callable[[Any], bool], count: int = 1, timeout: float = 5.0) -> list[Any]:
        """The first `count` received PDUs that match, once that many have arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [pdu for pdu in self.received if match(pdu)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    commands = [pdu.command for pdu in self.received]
                    raise AssertionError(f"{self.system_id}: {len(found)} of {count} PDUs within {timeout}s; "
                                         f"received {commands}")
                self._cond.wait(left)

    def wait_disconnected(self, timeout: float = 5.0) -> bool:
        return self.disconnected.wait(timeout)

    def submit(self, source: str, destination: str, short_message: bytes, *, data_coding: int = 0,
               registered_delivery: int = 0, esm_class: int = 0, timeout: float = 5.0) -> Any:
        """submit_sm and wait for its submit_sm_resp (returned)."""
        with self._send_lock:
            pdu = self.client.send_message(
                source_addr_ton=5 if not source.isdigit() else 1, source_addr_npi=0 if not source.isdigit() else 1,
                source_addr=source, dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination,
                short_message=short_message, data_coding=data_coding, esm_class=esm_class,
                registered_delivery=registered_delivery,
            )
            sequence = pdu.sequence
        return self.wait_for(lambda p: p.command == "submit_sm_resp" and p.sequence == sequence, timeout=timeout)[0]

    def close(self) -> None:
        if not self.disconnected.is_set() and self._thread is not None:
            try:
                with self._send_lock:
                    self.client.send_pdu(smpplib.smpp.make_pdu("unbind", client=self.client))
                self.wait_for(lambda p: p.command == "unbind_resp", timeout=2.0)
            except Exception:
                pass
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        try:
            self.client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
            self.client.disconnect()
        except Exception:
            pass

    # ------------------------------------------------------------------ reader thread

    def _answer(self, pdu: Any, command: str) -> None:
        response = smpplib.smpp.make_pdu(command, client=self.client)
        response.sequence = pdu.sequence
        with self._send_lock:
            self.client.send_pdu(response)

    def _read_loop(self) -> None:
        sock = self.client._socket
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.05)
                if not readable:
                    continue
                pdu = self.client.read_pdu()
            except Exception:  # EOF, reset, or our own close
                if not self._stop.is_set():
                    self.disconnected.set()
                break
            try:
                if pdu.command in ("deliver_sm", "data_sm"):
                    self._answer(pdu, f"{pdu.command}_resp")
                elif pdu.command == "unbind" and self.answer_unbind:
                    self._answer(pdu, "unbind_resp")
                elif pdu.command == "enquire_link":
                    self._answer(pdu, "enquire_link_resp")
            except Exception:
                pass  # the connection is going; the read above reports it
            with self._cond:
                self.received.append(pdu)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ helpers

    def deliveries(self) -> list[Any]:
        with self._cond:
            return [pdu for pdu in self.received if pdu.command == "deliver_sm"]


def test_config() -> Config:
    return Config(
        smpp=SmppConfig(port=0),
        control=ControlConfig(port=0),
        accounts=[
            AccountConfig(system_id="acme", numbers=["12345"]),
            AccountConfig(system_id="beta", numbers=["5555"]),
        ],
    )


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator on ephemeral ports with accounts acme (owns 12345) and beta (owns 5555); 10 ms DELIVRD."""
    simulator = Simulator(test_config(), scenario=parse_scenario(FAST_DELIVERY))
    await asyncio.wait_for(simulator.start(), 10)
    try:
        yield simulator
    finally:
        await asyncio.wait_for(simulator.stop(), 15)


@pytest_asyncio.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.control_url, timeout=10) as client:
        yield client


@pytest_asyncio.fixture
async def smpp_peer(sim: Simulator) -> AsyncIterator[Callable[..., Awaitable[SmppPeer]]]:
    """Open bound smpplib peers: `await smpp_peer("acme", "transceiver")`. Closed (unbound) at teardown."""
    peers: list[SmppPeer] = []

    async def connect(system_id: str, bind_type: str = "receiver") -> SmppPeer:
        peer = SmppPeer(sim.smpp_port, system_id, bind_type)
        peers.append(peer)
        await asyncio.wait_for(asyncio.to_thread(peer.open), 10)
        return peer

    try:
        yield connect
    finally:
        for peer in peers:
            await asyncio.wait_for(asyncio.to_thread(peer.close), 10)


async def eventually(probe: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, what: str = "condition") -> Any:
    """Await probe() until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {result!r})")
        await asyncio.sleep(0.01)

