"""Shared fixtures: a live simulator on loopback and smpplib clients bound to it."""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator

import pytest
import smpplib.client
import smpplib.consts

from simulator.core.scenario import Scenario, parse_scenario
from simulator.testing import SimulatorThread, loopback_config

HAPPY = """
seed: 7
defaults:
  receipt:
    states: [{state: DELIVRD}]
    delay: 20ms
"""


def happy_scenario(delay: str = "20ms") -> Scenario:
    return parse_scenario(HAPPY.replace("20ms", delay))


class SmppClient:
    """An smpplib client with the bookkeeping tests need: responses and deliver_sm collected by sequence."""

    def __init__(self, port: int, *, timeout: float = 5.0) -> None:
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=timeout, allow_unknown_opt_params=True)
        self.responses: list = []  # submit_sm_resp, including errors
        self.delivered: list = []  # deliver_sm
        self.errors: list = []  # every PDU with a non-zero command_status
        self.client.set_message_sent_handler(lambda pdu: self.responses.append(pdu))
        self.client.set_message_received_handler(self._received)
        self.client.set_error_pdu_handler(lambda pdu: self.errors.append(pdu))
        self.answer_deliver_sm = lambda pdu: None  # return a status to answer deliver_sm with it
        self.client.connect()

    def _received(self, pdu):
        self.delivered.append(pdu)
        return self.answer_deliver_sm(pdu)

    def bind(self, kind: str = "transceiver", system_id: str = "acme", password: str = "secret", **kwargs):
        return getattr(self.client, f"bind_{kind}")(system_id=system_id, password=password, **kwargs)

    def submit(self, destination: str = "447700900001", text: bytes = b"hello", **fields):
        fields.setdefault("source_addr", "12345")
        return self.client.send_message(destination_addr=destination, short_message=text, **fields)

    def pump(self, until: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Read PDUs until `until()` holds or the deadline passes."""
        deadline = time.monotonic() + timeout
        sock = self.client._socket
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([sock], [], [], min(remaining, 0.2))
            if ready:
                self.client.read_once()
        return True

    def readable_now(self) -> None:
        """Read whatever has already arrived, without waiting."""
        sock = self.client._socket
        while select.select([sock], [], [], 0)[0]:
            self.client.read_once()

    def close(self) -> None:
        try:
            if self.client.state in (smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX, smpplib.consts.SMPP_CLIENT_STATE_BOUND_RX,
                                     smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX):
                self.client.unbind()
        except Exception:
            pass
        try:
            self.client.disconnect()
        except Exception:
            pass


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(loopback_config(control=False), scenario=happy_scenario()) as running:
        yield running


@pytest.fixture
def smpp_client_factory() -> Iterator[Callable[[int], SmppClient]]:
    clients: list[SmppClient] = []

    def make(port: int) -> SmppClient:
        client = SmppClient(port)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
