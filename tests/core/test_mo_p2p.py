"""MO from handsets (API and CLI), ESME-to-ESME conversations, opt-out keywords and auto-replies."""

from __future__ import annotations

import subprocess
import sys

import pytest

from simulator.config import AccountConfig
from simulator.core.handsets import AutoReplyRule, HandsetConfig
from simulator.core.scenario import parse_scenario
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status
from simulator.testing import SimulatorThread, SmppTestClient, loopback_config

FAST = parse_scenario("defaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 10ms\n")


@pytest.fixture
def two_accounts():
    config = loopback_config(accounts=[
        AccountConfig(system_id="alpha", password="a", numbers=["4470001"]),
        AccountConfig(system_id="beta", password="b", numbers=["4470002000-4470002999"]),
    ])
    with SimulatorThread(config, scenario=FAST) as running:
        yield running


def test_mo_from_the_cli_reaches_a_bound_receiver_with_its_data_coding(two_accounts) -> None:
    receiver = SmppTestClient(two_accounts.smpp_port, "alpha", "a", bind="receiver")
    for text, coding in (("Hello from the CLI", 0), ("Привет из консоли", 8)):
        before = len(receiver.delivered)  # counted before the CLI runs: the client reads all along
        result = subprocess.run(
            [sys.executable, "-m", "simulator.cli", "mo", "--from", "447700900123", "--to", "4470001555", "--text", text,
             "--control", two_accounts.control_url],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "routed to alpha" in result.stdout
        assert receiver.wait_until(lambda: len(receiver.delivered) > before)
        pdu = receiver.delivered[-1]
        assert pdu.data_coding == coding and pdu.esm_class == 0
        assert sms_text.decode(pdu.short_message, coding) == text
        assert pdu.source_addr == b"447700900123" and pdu.destination_addr == b"4470001555"
    receiver.close()


def test_long_ucs2_mo_arrives_as_concatenated_parts(two_accounts) -> None:
    receiver = SmppTestClient(two_accounts.smpp_port, "beta", "b")
    text = ("Ünïcødé ✓ 🚀 " * 40)[:300]
    two_accounts.call(lambda: two_accounts.carrier.handset_send("447700900123", "4470002500", text))
    expected = sms_text.count_segments(text, 8)
    assert receiver.wait_until(lambda: len(receiver.delivered) == expected)
    reassembler = sms_text.Reassembler()
    logical = None
    for pdu in receiver.delivered:
        assert pdu.esm_class & sms_text.UDHI and pdu.data_coding == 8
        logical = reassembler.feed("k", data_coding=8, esm_class=pdu.esm_class, short_message=pdu.short_message,
                                   now=0.0) or logical
    assert logical is not None and logical.text == text and logical.segment_count == expected == 5
    receiver.close()


def test_two_accounts_text_each_other_through_the_carrier(two_accounts) -> None:
    alpha = SmppTestClient(two_accounts.smpp_port, "alpha", "a")
    beta = SmppTestClient(two_accounts.smpp_port, "beta", "b")
    alpha.submit_nowait(destination="4470002001", text=b"Hi beta, it's alpha", source="4470001001", registered_delivery=1)
    assert beta.wait_until(lambda: len(beta.delivered) == 1)
    mo = beta.delivered[0]
    assert mo.esm_class == 0 and mo.short_message == b"Hi beta, it's alpha"
    assert (mo.source_addr, mo.destination_addr) == (b"4470001001", b"4470002001")
    beta.submit_nowait(destination="4470001001", text=b"Hello alpha!", source="4470002001")
    assert alpha.wait_until(lambda: any(p.esm_class == 0 for p in alpha.delivered))
    reply = next(p for p in alpha.delivered if p.esm_class == 0)
    assert reply.short_message == b"Hello alpha!" and reply.source_addr == b"4470002001"
    assert alpha.wait_until(lambda: any(p.esm_class == 4 for p in alpha.delivered)), "alpha's MT was receipted too"
    for client in (alpha, beta):
        client.close()


def test_stop_refuses_later_mts_and_start_lets_them_through(sim) -> None:
    client = SmppTestClient(sim.smpp_port, "acme")
    client.submit_nowait(destination="447700900777", source="SHOP", text=b"Offer one")
    assert client.wait_until(lambda: len(client.responses) == 1) and client.responses[0].status == 0
    sim.call(lambda: sim.carrier.handset_send("447700900777", "SHOP", "STOP"))
    assert client.wait_until(lambda: any(p.short_message == b"STOP" for p in client.delivered)), "the STOP itself is an MO"
    client.submit_nowait(destination="447700900777", source="SHOP", text=b"Offer two")
    client.submit_nowait(destination="447700900777", source="OTHER", text=b"From someone else")
    assert client.wait_until(lambda: len(client.responses) == 3)
    assert client.responses[1].status == Status.ESME_RSUBMITFAIL, "opted out of SHOP"
    assert client.responses[2].status == 0, "only the sender it stopped is refused"
    sim.call(lambda: sim.carrier.handset_send("447700900777", "SHOP", "START"))
    client.submit_nowait(destination="447700900777", source="SHOP", text=b"Offer three")
    assert client.wait_until(lambda: len(client.responses) == 4) and client.responses[3].status == 0
    import time

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        inbox = sim.call(lambda: [m.text for m in sim.carrier.handsets.inbox("447700900777")])
        if "Offer three" in inbox:
            break
        time.sleep(0.02)
    assert "Offer three" in inbox and "Offer two" not in inbox
    assert any("unsubscribed" in text for text in inbox) and any("resubscribed" in text for text in inbox)
    client.close()


def test_opted_out_can_be_accepted_with_a_rejected_receipt_instead() -> None:
    with SimulatorThread(loopback_config(control=False), scenario=FAST) as running:
        running.call(lambda: setattr(running.carrier.handsets.config, "opted_out_status", 0))
        running.call(lambda: running.carrier.handsets.opt_out("447700900778", "SHOP"))
        client = SmppTestClient(running.smpp_port, "acme")
        client.submit_nowait(destination="447700900778", source="SHOP", registered_delivery=1)
        assert client.wait_until(lambda: len(client.delivered) == 1)
        assert client.responses[0].status == 0 and client.delivered[0].message_state == 8  # REJECTED
        client.close()


def test_help_gets_the_configured_reply_and_handsets_auto_reply() -> None:
    from simulator.core.carrier import Carrier, Submission
    from simulator.core.clock import ManualClock

    handsets = HandsetConfig(help_reply="Help: call 0800",
                             auto_reply=[AutoReplyRule(match=r"(?i)code (\d+)", reply="Got it")])
    clock = ManualClock()
    carrier = Carrier(loopback_config(control=False), scenario=FAST, handsets=handsets, clock=clock)
    carrier.handset_send("447700900999", "SHOP", "help")
    assert carrier.handsets.inbox("447700900999")[-1].text == "Help: call 0800"
    result = carrier.submit(Submission(system_id="acme", channel="smpp", source="4470001000",
                                       destination="447700900999", short_message=b"Your code 1234"))
    assert result.status == 0
    clock.advance(1)
    carrier.scheduler.run_due()
    replies = carrier.store.search(sender="447700900999", to="4470001000", direction="mo", limit=5)
    assert [m.text for m in replies] == ["Got it"] and replies[0].system_id == "acme"
    assert carrier.outbox.held("acme") == 1, "the auto-reply waits for acme's receiver bind"
