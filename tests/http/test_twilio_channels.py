"""One carrier across channels: Twilio API and SMPP share routing, scenario outcomes and throughput timing."""

from __future__ import annotations

import time

import pytest
from twilio.request_validator import RequestValidator

from simulator.config import AccountConfig, TwilioAccountConfig, TwilioConfig, TwilioNumberConfig
from simulator.core.scenario import parse_scenario
from simulator.pytest_plugin import SmppTestClient, default_config

ACCOUNT = "AC" + "c3" * 16
TOKEN = "channels-token"
NUMBER = "+15017122661"

# One scenario file for every channel: each rule names no channel, so it applies to SMPP and HTTP alike.
SCENARIO = """
name: parity
seed: 11
defaults:
  receipt:
    states: [{state: DELIVRD}]
    delay: 20ms
rules:
  - name: unreachable handsets
    match: {destination: "4477009999"}
    receipt: {states: [{state: UNDELIV, err: 1}], delay: 30ms}
  - name: carrier rejects
    match: {destination: "4477008888"}
    receipt: {states: [{state: REJECTD, err: 2}], delay: 30ms}
  - name: unknown subscriber at submit
    match: {destination: "4477007777"}
    submit: {status: 0x0B}
"""


@pytest.fixture
def carrier_sim_scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def carrier_sim_config(webhook_receiver):
    config = default_config()
    config.accounts = [AccountConfig(system_id="acme", numbers=["4479"])]
    config.providers.twilio = TwilioConfig(accounts=[TwilioAccountConfig(
        sid=ACCOUNT, auth_token=TOKEN, numbers=[
            TwilioNumberConfig(number=NUMBER, sms_url=webhook_receiver.url("/sms")),
            TwilioNumberConfig(number="+15017120000", type="long_code", mps=1.0),
        ])])
    return config


@pytest.fixture
def client(carrier_sim):
    return carrier_sim.twilio_client(ACCOUNT, TOKEN)


def final(client, sid: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        message = client.messages(sid).fetch()
        if message.status in ("delivered", "undelivered", "failed"):
            return message
        assert time.monotonic() < deadline, message.status
        time.sleep(0.02)


def test_twilio_mt_to_an_smpp_customers_number_arrives_as_mo_on_its_bind(client, smpp_client):
    receiver = smpp_client("acme", bind="receiver")
    created = client.messages.create(to="+447900123456", from_=NUMBER, body="Across the carrier")
    [pdu] = receiver.deliveries()
    assert SmppTestClient.text(pdu) == "Across the carrier"
    assert pdu.source_addr in (b"15017122661", "15017122661")
    assert pdu.destination_addr in (b"447900123456", "447900123456")
    assert not pdu.esm_class & 0x04  # an MO, not a receipt
    assert final(client, created.sid).status == "delivered"


def test_smpp_mt_to_a_twilio_number_reaches_its_inbound_webhook(client, smpp_client, webhook_receiver):
    esme = smpp_client("acme")
    response = esme.submit("447900123456", "15017122661", "From an SMPP bind")
    assert response.status == 0
    [request] = webhook_receiver.wait_for("/sms")
    assert (request.form["From"], request.form["To"], request.form["Body"]) == ("+447900123456", NUMBER,
                                                                                "From an SMPP bind")
    assert RequestValidator(TOKEN).validate(webhook_receiver.url("/sms"), request.form,
                                            request.headers["x-twilio-signature"])
    assert [m.direction for m in client.messages.list()] == ["inbound"]


@pytest.mark.parametrize(("handset", "receipt_stat", "twilio"), [
    ("447700900001", "DELIVRD", ("delivered", None)),
    ("447700999901", "UNDELIV", ("undelivered", 30003)),
    ("447700888801", "REJECTD", ("undelivered", 30007)),
])
def test_the_same_scenario_rule_decides_smpp_and_twilio_outcomes(client, smpp_client, handset, receipt_stat, twilio):
    esme = smpp_client("acme")
    assert esme.submit("447900000001", handset, "parity", registered_delivery=1).status == 0
    [receipt] = esme.wait_for(lambda p: p.command == "deliver_sm" and p.esm_class & 0x04)
    assert f"stat:{receipt_stat}" in SmppTestClient.text(receipt)

    created = client.messages.create(to="+" + handset, from_=NUMBER, body="parity")
    message = final(client, created.sid)
    assert (message.status, message.error_code) == twilio


def test_a_submit_status_rule_refuses_smpp_and_fails_the_twilio_message(client, smpp_client):
    esme = smpp_client("acme")
    assert esme.submit("447900000001", "447700777701", "nobody").status == 0x0B
    created = client.messages.create(to="+447700777702", from_=NUMBER, body="nobody")
    message = final(client, created.sid)
    assert (message.status, message.error_code) == ("failed", 30005)


def test_a_one_mps_sender_delivers_a_second_apart_in_real_time(client, smpp_client):
    receiver = smpp_client("acme", bind="receiver")
    started = time.monotonic()
    for i in range(4):
        client.messages.create(to=f"+44790000010{i}", from_="+15017120000", body=f"paced {i}")
    assert time.monotonic() - started < 1.0  # the API answers at once; the queue does the pacing
    pdus = receiver.deliveries(4, timeout=8)
    assert [SmppTestClient.text(p) for p in pdus] == [f"paced {i}" for i in range(4)]
    arrivals = [receiver.arrival(pdu) for pdu in pdus]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(0.8 <= gap <= 1.25 for gap in gaps), gaps
