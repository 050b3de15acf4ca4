"""WhatsApp Business Cloud API over raw HTTP: send, the verification handshake, signed status and message webhooks."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simulator.config import WhatsAppConfig, WhatsAppNumberConfig
from simulator.core.scenario import parse_scenario
from simulator.pytest_plugin import default_config
from tests.http.fuzz import fuzz

TOKEN = "EAAG-whatsapp-token"
SECRET = "whatsapp-app-secret"
VERIFY = "my-verify-token"
PHONE_ID = "106540352242922"
DISPLAY = "15550783881"

SCENARIO = """
defaults:
  receipt: {states: [{state: DELIVRD}], delay: 20ms}
rules:
  - match: {destination: "4477009999"}
    receipt: {states: [{state: UNDELIV, err: 1}], delay: 20ms}
"""


@pytest.fixture
def carrier_sim_scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def carrier_sim_config(webhook_receiver):
    config = default_config()
    config.providers.whatsapp = WhatsAppConfig(
        access_tokens=[TOKEN], app_secret=SECRET, verify_token=VERIFY, webhook_url=webhook_receiver.url("/wa"),
        read_after=0.2, phone_numbers=[WhatsAppNumberConfig(id=PHONE_ID, display_phone_number="+" + DISPLAY)])
    return config


@pytest.fixture
def api(carrier_sim):
    with httpx.Client(base_url=carrier_sim.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def valid_signature(request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-hub-signature-256"], expected)


def statuses_of(requests) -> list[tuple[str, str]]:
    out = []
    for request in requests:
        value = request.json()["entry"][0]["changes"][0]["value"]
        out += [(s["id"], s["status"]) for s in value.get("statuses", [])]
    return out


def send_text(api, to: str, body: str) -> httpx.Response:
    return api.post(f"/v21.0/{PHONE_ID}/messages", json={"messaging_product": "whatsapp", "recipient_type": "individual",
                                                         "to": to, "type": "text", "text": {"body": body}})


def test_send_text_then_sent_delivered_read_webhooks_after_the_handshake(api, webhook_receiver):
    response = send_text(api, "+447700900001", "Hello on WhatsApp")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+447700900001", "wa_id": "447700900001"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.")

    [handshake] = webhook_receiver.wait_for("/wa", method="GET")
    query = parse_qs(urlsplit(handshake.path).query)
    assert query["hub.mode"] == ["subscribe"] and query["hub.verify_token"] == [VERIFY]
    assert query["hub.challenge"][0].isdigit()

    events = webhook_receiver.wait_for("/wa", 3)
    assert statuses_of(events) == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    assert all(valid_signature(e) for e in events)
    assert all(e.at > handshake.at for e in events)  # nothing before the URL was verified
    payload = events[1].json()
    assert payload["object"] == "whatsapp_business_account"
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["metadata"] == {"display_phone_number": DISPLAY, "phone_number_id": PHONE_ID}
    status = value["statuses"][0]
    assert status["recipient_id"] == "447700900001" and status["timestamp"].isdigit()
    assert status["pricing"]["billable"] is True


def test_an_undeliverable_message_gets_a_failed_status_with_errors(api, webhook_receiver):
    wamid = send_text(api, "447700999901", "nobody home").json()["messages"][0]["id"]
    events = webhook_receiver.wait_for("/wa", 2)
    assert statuses_of(events) == [(wamid, "sent"), (wamid, "failed")]
    [error] = events[1].json()["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"]
    assert error["code"] == 131026 and error["title"]


def test_inbound_messages_are_posted_signed(carrier_sim, webhook_receiver):
    carrier_sim.handset_send("447700900002", DISPLAY, "Hi business")
    [event] = webhook_receiver.wait_for("/wa")
    assert valid_signature(event)
    value = event.json()["entry"][0]["changes"][0]["value"]
    [message] = value["messages"]
    assert (message["from"], message["type"], message["text"]) == ("447700900002", "text", {"body": "Hi business"})
    assert message["id"].startswith("wamid.") and message["timestamp"].isdigit()
    assert value["contacts"][0]["wa_id"] == "447700900002"


def test_a_receiver_that_fails_the_handshake_gets_no_events(api, carrier_sim, webhook_receiver):
    webhook_receiver.answer("/wa", 403, "wrong token")  # the app refuses verification (and everything else)
    send_text(api, "447700900003", "anyone?")
    webhook_receiver.wait_for("/wa", method="GET")
    poster = carrier_sim.simulator.providers.poster
    deadline = time.monotonic() + 5
    while not (attempts := carrier_sim.call(lambda: poster.attempts(webhook_receiver.url("/wa")))):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert attempts[0].error == "handshake refused" and attempts[0].status is None
    assert webhook_receiver.received("/wa", method="POST") == []  # held, and retried with back-off


def test_graph_errors(api, carrier_sim):
    base = carrier_sim.base_url
    unauthorized = httpx.post(f"{base}/v21.0/{PHONE_ID}/messages", headers={"Authorization": "Bearer nope"},
                              json={"messaging_product": "whatsapp", "to": "447700900001", "text": {"body": "x"}})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == 190 and unauthorized.json()["error"]["type"] == "OAuthException"
    unknown = api.post("/v21.0/999/messages", json={"messaging_product": "whatsapp", "to": "447700900001",
                                                    "type": "text", "text": {"body": "x"}})
    assert unknown.status_code == 400 and unknown.json()["error"]["error_subcode"] == 33
    for body in ({}, {"messaging_product": "sms"}, {"messaging_product": "whatsapp"},
                 {"messaging_product": "whatsapp", "to": "447700900001"},
                 {"messaging_product": "whatsapp", "to": "447700900001", "type": "text", "text": "plain"},
                 {"messaging_product": "whatsapp", "to": "447700900001", "type": "hologram"},
                 {"messaging_product": "whatsapp", "to": "447700900001", "type": "image", "image": {}},
                 {"messaging_product": "whatsapp", "to": "447700900001", "type": "text", "text": {"body": "x" * 4097}},
                 {"messaging_product": "whatsapp", "to": "not-a-number", "type": "text", "text": {"body": "x"}}):
        response = api.post(f"/v21.0/{PHONE_ID}/messages", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert isinstance(error["code"], int) and error["message"] and error["fbtrace_id"]
    for raw in (b"", b"{", b"[1]", b"\xff"):
        assert api.post(f"/v21.0/{PHONE_ID}/messages", content=raw).status_code == 400
    template = api.post(f"/v21.0/{PHONE_ID}/messages", json={
        "messaging_product": "whatsapp", "to": "447700900004", "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    assert template.status_code == 200
    read = api.post(f"/v21.0/{PHONE_ID}/messages", json={"messaging_product": "whatsapp", "status": "read",
                                                         "message_id": "wamid.x"})
    assert read.json() == {"success": True}


PATHS = [f"/v21.0/{PHONE_ID}/messages", "/v21.0/999/messages", "/v19.0/123/messages", "/v21.0/x/y"]
KEYS = ["messaging_product", "to", "type", "text", "body", "image", "link", "template", "name", "status",
        "message_id", "recipient_type", "caption"]
AUTH = [{"authorization": f"Bearer {TOKEN}"}, {"authorization": "Bearer nope"}, {}]


def test_fuzzed_requests_never_crash_the_front_end(api):
    fuzz(api, paths=PATHS, keys=KEYS, auth=AUTH)


