"""Fixtures for the HTTP front ends: a simulator on real sockets, and SMPP clients opened from its loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio

from simulator.app import Simulator
from simulator.config import AccountConfig, Config, ControlConfig, SmppConfig
from simulator.core.scenario import parse_scenario
from simulator.testing import SmppTestClient

FAST_DELIVERY = "defaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 10ms\n"


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
async def smpp_peer(sim: Simulator) -> AsyncIterator[Callable[..., Awaitable[SmppTestClient]]]:
    """Open bound SMPP clients off the loop: `await smpp_peer("acme", "transceiver")`. Closed at teardown."""
    peers: list[SmppTestClient] = []

    async def connect(system_id: str, bind_type: str = "receiver") -> SmppTestClient:
        peer = await asyncio.wait_for(asyncio.to_thread(SmppTestClient, sim.smpp_port, system_id, "secret", bind_type),
                                      10)
        peers.append(peer)
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

