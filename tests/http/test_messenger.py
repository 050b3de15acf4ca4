"""Messenger Send API over raw HTTP: send, signed delivery/read/message webhooks, Graph errors."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from simulator.config import MessengerConfig, MessengerPageConfig
from simulator.core.scenario import parse_scenario
from simulator.http.messenger import OPEN_PAGE_ID
from simulator.pytest_plugin import default_config
from simulator.testing import SimulatorThread
from tests.http.fuzz import fuzz

PAGE_ID = "104538112345678"
PAGE_TOKEN = "EAAB-page-token"
SECRET = "messenger-app-secret"
PSID = "2911234567890123"


@pytest.fixture
def carrier_sim_config(webhook_receiver):
    config = default_config()
    config.providers.messenger = MessengerConfig(app_secret=SECRET, read_after=0.2,
                                                 webhook_url=webhook_receiver.url("/fb"),
                                                 pages=[MessengerPageConfig(id=PAGE_ID, access_token=PAGE_TOKEN)])
    return config


@pytest.fixture
def api(carrier_sim):
    with httpx.Client(base_url=carrier_sim.base_url, timeout=10) as client:
        yield client


def signed(request) -> bool:
    digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return request.headers["x-hub-signature-256"] == f"sha256={digest}"


def test_send_then_delivery_and_read_webhooks(api, webhook_receiver):
    response = api.post("/v21.0/me/messages", params={"access_token": PAGE_TOKEN},
                        json={"messaging_type": "RESPONSE", "recipient": {"id": PSID}, "message": {"text": "Hi!"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recipient_id"] == PSID and body["message_id"].startswith("m_")

    events = webhook_receiver.wait_for("/fb", 2)
    assert all(signed(e) for e in events)
    delivery, read = (e.json() for e in events)
    assert delivery["object"] == "page" and delivery["entry"][0]["id"] == PAGE_ID
    [event] = delivery["entry"][0]["messaging"]
    assert event["sender"] == {"id": PSID} and event["recipient"] == {"id": PAGE_ID}
    assert event["delivery"]["mids"] == [body["message_id"]] and event["delivery"]["watermark"] > 0
    [event] = read["entry"][0]["messaging"]
    assert event["read"]["watermark"] >= delivery["entry"][0]["messaging"][0]["delivery"]["watermark"]


def test_the_page_id_path_and_bearer_token_work_too(api):
    response = api.post(f"/v21.0/{PAGE_ID}/messages", headers={"Authorization": f"Bearer {PAGE_TOKEN}"},
                        json={"messaging_type": "UPDATE", "recipient": {"id": PSID}, "message": {"text": "Update"}})
    assert response.status_code == 200 and response.json()["recipient_id"] == PSID
    typing = api.post("/v21.0/me/messages", params={"access_token": PAGE_TOKEN},
                      json={"recipient": {"id": PSID}, "sender_action": "typing_on"})
    assert typing.json() == {"recipient_id": PSID}


def test_inbound_messages_reach_the_page_webhook(carrier_sim, webhook_receiver):
    carrier_sim.handset_send(PSID, PAGE_ID, "Hello page")
    [event] = webhook_receiver.wait_for("/fb")
    assert signed(event)
    [messaging] = event.json()["entry"][0]["messaging"]
    assert messaging["sender"] == {"id": PSID} and messaging["recipient"] == {"id": PAGE_ID}
    assert messaging["message"]["text"] == "Hello page" and messaging["message"]["mid"].startswith("m_")


def test_open_mode_any_token_and_replies_come_back(webhook_receiver):
    config = default_config()
    config.providers.messenger = MessengerConfig(webhook_url=webhook_receiver.url("/open"), read_after=None)
    with SimulatorThread(config, scenario=parse_scenario("defaults: {receipt: {delay: 10ms}}")) as thread:
        response = httpx.post(f"{thread.simulator.providers_url}/v21.0/me/messages", params={"access_token": "any"},
                              json={"messaging_type": "RESPONSE", "recipient": {"id": PSID}, "message": {"text": "hi"}})
        assert response.status_code == 200
        webhook_receiver.wait_for("/open")  # the delivery
        thread.call(thread.carrier.handset_send, PSID, OPEN_PAGE_ID, "hello back")
        [reply] = webhook_receiver.wait_for("/open", where=lambda r: b'"message"' in r.body)
        assert reply.json()["entry"][0]["messaging"][0]["message"]["text"] == "hello back"


def test_graph_errors(api):
    bad_token = api.post("/v21.0/me/messages", params={"access_token": "nope"},
                         json={"messaging_type": "RESPONSE", "recipient": {"id": PSID}, "message": {"text": "x"}})
    assert bad_token.status_code == 401 and bad_token.json()["error"]["code"] == 190
    missing = api.post("/v21.0/me/messages", json={})
    assert missing.status_code == 401
    token = {"access_token": PAGE_TOKEN}
    for body in ({}, {"recipient": {"id": PSID}, "message": {"text": "no type"}},
                 {"messaging_type": "RESPONSE", "message": {"text": "x"}},
                 {"messaging_type": "RESPONSE", "recipient": {"id": "abc"}, "message": {"text": "x"}},
                 {"messaging_type": "RESPONSE", "recipient": {"id": PSID}},
                 {"messaging_type": "RESPONSE", "recipient": {"id": PSID}, "message": {"text": "x" * 2001}},
                 {"messaging_type": "SOMETIMES", "recipient": {"id": PSID}, "message": {"text": "x"}},
                 {"recipient": {"id": PSID}, "sender_action": "dance"}):
        response = api.post("/v21.0/me/messages", params=token, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["type"] in ("OAuthException", "GraphMethodException")
    for raw in (b"", b"{", b"\x00\xff", b'"text"'):
        assert api.post("/v21.0/me/messages", params=token, content=raw).status_code == 400
    unknown = api.post("/v21.0/me/likes", params=token, json={})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100


PATHS = ["/v21.0/me/messages", f"/v21.0/{PAGE_ID}/messages", "/v21.0/1/messages", f"/v21.0/me/messages?access_token={PAGE_TOKEN}"]
KEYS = ["messaging_type", "recipient", "id", "message", "text", "attachment", "type", "sender_action"]
AUTH = [{"authorization": f"Bearer {PAGE_TOKEN}"}, {"authorization": "Bearer nope"}, {}]


def test_fuzzed_requests_never_crash_the_front_end(api):
    fuzz(api, paths=PATHS, keys=KEYS, auth=AUTH)


