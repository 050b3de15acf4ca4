"""Infobip's SMS API over raw HTTP against its documented shapes: send, report push and pull, inbound, errors."""

from __future__ import annotations

import base64
import re
import time

import httpx
import pytest

from simulator.config import InfobipAccountConfig, InfobipConfig, InfobipNumberConfig
from simulator.core.scenario import parse_scenario
from simulator.pytest_plugin import default_config
from tests.http.fuzz import fuzz

API_KEY = "0123456789abcdef-infobip"
HEADERS = {"Authorization": f"App {API_KEY}"}
NUMBER = "447860099299"
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")

SCENARIO = """
defaults:
  receipt: {states: [{state: DELIVRD}], delay: 20ms}
rules:
  - match: {destination: "4179999"}
    receipt: {states: [{state: UNDELIV, err: 27}], delay: 20ms}
"""


@pytest.fixture
def carrier_sim_scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def carrier_sim_config(webhook_receiver):
    config = default_config()
    config.providers.infobip = InfobipConfig(report_batch_window=0.3, accounts=[InfobipAccountConfig(
        name="shop", api_key=API_KEY, username="shopuser", password="pa55", token="sso-token",
        numbers=[InfobipNumberConfig(number=NUMBER, forward_url=webhook_receiver.url("/inbound"))])])
    return config


@pytest.fixture
def api(carrier_sim):
    with httpx.Client(base_url=carrier_sim.base_url, timeout=10) as client:
        yield client


def test_advanced_send_with_many_destinations_and_a_bulk_id(api):
    response = api.post("/sms/2/text/advanced", headers=HEADERS, json={
        "bulkId": "BULK-1",
        "messages": [
            {"from": "InfoSMS", "text": "Hello", "destinations": [{"to": "41793026727", "messageId": "MY-1"},
                                                                   {"to": "41793026728"}]},
            {"from": "InfoSMS", "text": "Ж" * 71, "destinations": [{"to": "41793026729"}]},
        ]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bulkId"] == "BULK-1"
    assert [m["to"] for m in body["messages"]] == ["41793026727", "41793026728", "41793026729"]
    assert body["messages"][0]["messageId"] == "MY-1" and body["messages"][1]["messageId"]
    assert [m["smsCount"] for m in body["messages"]] == [1, 1, 2]
    for message in body["messages"]:
        assert message["status"] == {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
                                      "description": "Message sent to next instance"}


def test_reports_are_pushed_in_batches_of_at_most_100(api, webhook_receiver):
    url = webhook_receiver.url("/dlr")
    destinations = [{"to": f"4179302{i:04d}"} for i in range(150)] + [{"to": "41799990001"}]
    response = api.post("/sms/2/text/advanced", headers=HEADERS, json={"messages": [
        {"from": "Shop", "text": "Sale", "destinations": destinations, "notifyUrl": url, "callbackData": "cb-1"}]})
    ids = {m["messageId"]: m["to"] for m in response.json()["messages"]}
    pushes = webhook_receiver.wait_for("/dlr", 2, timeout=8)
    time.sleep(0.5)  # nothing more should come
    pushes = webhook_receiver.received("/dlr")
    sizes = sorted(len(p.json()["results"]) for p in pushes)
    assert sum(sizes) == 151 and max(sizes) == 100 and len(pushes) == 2
    results = [r for p in pushes for r in p.json()["results"]]
    assert {r["messageId"] for r in results} == set(ids)
    delivered = next(r for r in results if r["to"] == "41793020000")
    assert delivered["status"] == {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET",
                                   "description": "Message delivered to handset"}
    assert delivered["error"]["groupId"] == 0 and delivered["error"]["name"] == "NO_ERROR"
    assert delivered["callbackData"] == "cb-1" and delivered["smsCount"] == 1 and delivered["sender"] == "Shop"
    assert TIME.fullmatch(delivered["sentAt"]) and TIME.fullmatch(delivered["doneAt"])
    assert delivered["price"] == {"pricePerMessage": 0.005, "currency": "EUR"}
    failed = next(r for r in results if r["to"] == "41799990001")
    assert failed["status"]["groupName"] == "UNDELIVERABLE" and failed["error"]["id"] == 27
    assert failed["error"]["name"] == "EC_ABSENT_SUBSCRIBER"
    assert pushes[0].headers["content-type"] == "application/json"


def test_reports_without_notify_url_are_pulled_once(api):
    sent = api.post("/sms/2/text/advanced", headers=HEADERS, json={"bulkId": "PULL", "messages": [
        {"text": "pull me", "destinations": [{"to": "41793026730"}, {"to": "41793026731"}]}]}).json()
    wanted = {m["messageId"] for m in sent["messages"]}
    deadline = time.monotonic() + 5
    got: list[dict] = []
    while len(got) < 2:
        assert time.monotonic() < deadline
        got += api.get("/sms/1/reports", headers=HEADERS, params={"bulkId": "PULL", "limit": 1}).json()["results"]
        time.sleep(0.05)
    assert {r["messageId"] for r in got} == wanted and len(got) == 2
    assert api.get("/sms/1/reports", headers=HEADERS).json() == {"results": []}  # each report is returned once


def test_v3_messages_send_and_webhook(api, webhook_receiver):
    url = webhook_receiver.url("/v3dlr")
    response = api.post("/sms/3/messages", headers={"Authorization": "Bearer sso-token"}, json={
        "messages": [{"sender": "Shop", "destinations": [{"to": "41793026740", "messageId": "V3-1"}],
                      "content": {"text": "v3 hello"},
                      "webhooks": {"delivery": {"url": url}, "callbackData": "v3"}}],
        "options": {"schedule": {"bulkId": "V3BULK"}}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bulkId"] == "V3BULK"
    [message] = body["messages"]
    assert message["messageId"] == "V3-1" and message["destination"] == "41793026740"
    assert message["details"] == {"messageCount": 1} and message["status"]["name"] == "PENDING_ACCEPTED"
    [push] = webhook_receiver.wait_for("/v3dlr")
    [result] = push.json()["results"]
    assert (result["messageId"], result["bulkId"], result["callbackData"]) == ("V3-1", "V3BULK", "v3")
    assert result["status"]["groupName"] == "DELIVERED" and result["messageCount"] == 1


@pytest.mark.parametrize("authorization", [
    f"App {API_KEY}", "Basic " + base64.b64encode(b"shopuser:pa55").decode(), "IBSSO sso-token", "Bearer sso-token"])
def test_every_auth_header_form(api, authorization):
    response = api.post("/sms/2/text/advanced", headers={"Authorization": authorization},
                        json={"messages": [{"text": "auth", "destinations": [{"to": "41793026750"}]}]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("authorization", [
    None, "App wrong", "Basic " + base64.b64encode(b"shopuser:nope").decode(), "Basic !!", "Bearer", "Digest x"])
def test_bad_credentials_get_infobips_error_shape(api, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = api.post("/sms/2/text/advanced", headers=headers, json={"messages": []})
    assert response.status_code == 401
    assert response.json() == {"requestError": {"serviceException": {"messageId": "UNAUTHORIZED",
                                                                      "text": "Invalid login details"}}}
    v3 = api.post("/sms/3/messages", headers=headers, json={"messages": []})
    assert v3.status_code == 401 and v3.json()["errorCode"] == "E401"


def test_bad_requests_get_infobips_error_shapes(api):
    for body in (b"not json", b"[]", b'{"messages": []}', b'{"messages": [{"text": "x"}]}',
                 b'{"messages": [{"text": "x", "destinations": [{"to": ""}]}]}',
                 b'{"messages": [{"text": 5, "destinations": [{"to": "4179"}]}], "bulkId": {}}',
                 b'{"messages": [{"text": "x", "validityPeriod": 99999, "destinations": [{"to": "4179"}]}]}',
                 b'{"messages": [{"text": "x", "sendAt": "tomorrow", "destinations": [{"to": "4179"}]}]}',
                 b'{"messages": [1, 2]}', b"\xff\xfe"):
        response = api.post("/sms/2/text/advanced", headers=HEADERS, content=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["requestError"]["serviceException"]
        assert error["messageId"] == "BAD_REQUEST" and error["text"]
    v3 = api.post("/sms/3/messages", headers=HEADERS, json={"messages": [{"sender": "x", "destinations": []}]})
    assert v3.status_code == 400
    body = v3.json()
    assert body["errorCode"] == "E400" and body["violations"] == [
        {"property": "messages[0].destinations", "violation": "must not be empty"}]
    assert api.get("/sms/1/reports", headers=HEADERS, params={"limit": "0"}).status_code == 400
    assert api.get("/sms/9/nothing", headers=HEADERS).status_code == 404
    invalid = api.post("/sms/2/text/advanced", headers=HEADERS,
                       json={"messages": [{"text": "x", "destinations": [{"to": "not a number"}]}]}).json()
    assert invalid["messages"][0]["status"]["groupName"] == "REJECTED"


def test_inbound_messages_are_pushed_to_the_numbers_forward_url(carrier_sim, webhook_receiver):
    carrier_sim.handset_send("41793026799", NUMBER, "PIZZA large please")
    [push] = webhook_receiver.wait_for("/inbound")
    body = push.json()
    assert (body["messageCount"], body["pendingMessageCount"]) == (1, 0)
    [result] = body["results"]
    assert (result["from"], result["to"], result["text"]) == ("41793026799", NUMBER, "PIZZA large please")
    assert (result["keyword"], result["cleanText"], result["smsCount"]) == ("PIZZA", "large please", 1)
    assert TIME.fullmatch(result["receivedAt"]) and result["messageId"]


PATHS = ["/sms/2/text/advanced", "/sms/3/messages", "/sms/1/reports", "/sms/1/inbox/reports", "/sms/9"]
KEYS = ["messages", "destinations", "to", "text", "from", "bulkId", "notifyUrl", "sendAt", "validityPeriod", "content",
        "sender", "webhooks", "delivery", "url", "options", "schedule", "messageId", "intermediateReport"]
AUTH = [{"authorization": f"App {API_KEY}"}, {"authorization": "Bearer sso-token"}, {"authorization": "App x"}, {}]


def test_fuzzed_requests_never_crash_the_front_end(api):
    fuzz(api, paths=PATHS, keys=KEYS, auth=AUTH)


