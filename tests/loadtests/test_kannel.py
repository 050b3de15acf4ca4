"""A real gateway in the loop: Locust -> Kannel sendsms -> carrier-sim over SMPP -> receipts -> Kannel's
dlr-url -> the harness's webhook. Conservation must hold with nothing lost; the latency Kannel adds is
measured from the carrier's own arrival times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loadtests import kannel
from loadtests.embedded import EmbeddedSimulator

from .conftest import explain, loadtest, summary


@pytest.fixture
def kannel_installed() -> None:
    if kannel.available():
        return
    reason = "Kannel is not installed (bearerbox/smsbox not on PATH; apt-get install kannel)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the gateway-in-the-loop test (scripts/test installs it as root)")
    pytest.skip(reason)


@pytest.mark.timeout(150)
def test_kannel_between_locust_and_carrier_sim(kannel_installed, tmp_path: Path, reports: Path):
    with EmbeddedSimulator("happy-path", log=tmp_path / "simulator.log") as sim:
        host, port = sim.smpp_url.removeprefix("smpp://").rsplit(":", 1)
        with kannel.KannelGateway(tmp_path / "kannel", smpp_host=host, smpp_port=int(port)) as gateway:
            result = loadtest("--target", gateway.sendsms_url, "--gateway", "kannel", "--control-url", sim.control_url,
                              "--duration", "3s", "--users", "8", "--drain", "15s", "--max-missing", "0",
                              "--reports", reports)
    assert result.returncode == 0, explain(result)
    data = summary(reports)
    conservation, receipts = data["conservation"], data["receipts"]
    assert conservation["correlated"], conservation
    assert conservation["lost"] == 0 and conservation["arrived_not_receipted"] == 0, conservation
    assert conservation["sent"] == conservation["accepted"] == conservation["arrived"] == conservation["receipted"] > 100
    assert receipts["missing"] == receipts["orphan"] == 0 and receipts["states"] == {"DELIVRD": receipts["received"]}
    assert receipts["acked"] == receipts["sent"]  # Kannel's DLR type 8: accepted by the carrier
    gateway_added = data["latency"]["gateway"]
    assert gateway_added["count"] == conservation["arrived"] and gateway_added["max"] > 0
    assert "gateway-added" in result.stdout
    print(f"\nKannel: {conservation['sent']} messages, gateway-added latency p50 {gateway_added['p50']:.1f} ms, "
          f"p95 {gateway_added['p95']:.1f} ms, p99 {gateway_added['p99']:.1f} ms; "
          f"receipt p50 {data['latency']['receipt']['p50']:.1f} ms")
