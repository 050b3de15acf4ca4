"""Shared fixtures: a live simulator on loopback with a fast, always-delivered scenario."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(loopback_config(control=False), scenario=happy_scenario()) as running:
        yield running
