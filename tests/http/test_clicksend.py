"""ClickSend v3 driven by the official clicksend-client SDK: send, receipts (pull and push), inbound, errors."""

from __future__ import annotations

import json
import re
import time

import clicksend
import httpx
import pytest

from simulator.config import ClickSendConfig, ClickSendUserConfig
from simulator.core.scenario import parse_scenario
from simulator.http.sdk import clicksend_configuration
from simulator.pytest_plugin import default_config
from tests.http.fuzz import fuzz

USER = "shop@example.com"
KEY = "ABCD-1234-CLICKSEND"
NUMBER = "61411000111"
UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")

SCENARIO = """
defaults:
  receipt: {states: [{state: DELIVRD}], delay: 20ms}
rules:
  - match: {destination: "61400999"}
    receipt: {states: [{state: UNDELIV, err: 1}], delay: 20ms}
"""


@pytest.fixture
def carrier_sim_scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def carrier_sim_config():
    config = default_config()
    config.providers.clicksend = ClickSendConfig(users=[ClickSendUserConfig(username=USER, api_key=KEY,
                                                                            numbers=[NUMBER])])
    return config


@pytest.fixture
def sms(carrier_sim):
    with clicksend.ApiClient(clicksend_configuration(carrier_sim.base_url, USER, KEY)) as api_client:
        yield clicksend.SmsApi(api_client)


def send(sms, *messages: dict) -> clicksend.SendSms:
    request = clicksend.SendSmsRequest(messages=[clicksend.SendSmsRequestMessagesInner(**m) for m in messages])
    return sms.send_sms(send_sms_request=request)


def wait_receipts(sms, count: int, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        data = sms.view_sms_receipts(page=1, limit=100).data
        if len(data.data) >= count:
            return data.data
        assert time.monotonic() < deadline, f"{len(data.data)} of {count} receipts"
        time.sleep(0.05)


def test_send_sms_through_the_official_sdk(sms, carrier_sim):
    result = send(sms, {"to": "+61411111111", "body": "Hello from ClickSend", "custom_string": "order-7"},
                  {"to": "+61411111112", "body": "Ж" * 71, "var_from": NUMBER})
    assert (result.http_code, result.response_code) == (200, "SUCCESS")
    data = result.data
    assert (data.total_count, data.queued_count, data.blocked_count) == (2, 2, 0)
    assert data.currency.currency_name_short == "AUD" and data.total_price == pytest.approx(0.0792 * 3)
    first, second = data.messages
    assert UUID.fullmatch(first.message_id) and first.status == "SUCCESS"
    assert (first.to, first.body, first.custom_string, first.message_parts) == ("+61411111111", "Hello from ClickSend",
                                                                                 "order-7", 1)
    assert first.var_from == "+" + NUMBER and first.direction == "out" and first.country == "AU"
    assert (second.message_parts, second.message_price) == (2, "0.1584")
    assert isinstance(first.var_date, int) and isinstance(first.user_id, int)
    deadline = time.monotonic() + 5
    while carrier_sim.handset_inbox("61411111111") != ["Hello from ClickSend"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_receipts_are_pulled_with_the_sdk(sms):
    sent = send(sms, {"to": "+61411111113", "body": "ok", "custom_string": "a"},
                {"to": "+61400999001", "body": "fails", "custom_string": "b"}).data.messages
    receipts = {r.message_id: r for r in wait_receipts(sms, 2)}
    good, bad = receipts[sent[0].message_id], receipts[sent[1].message_id]
    assert (good.status_code, good.error_code, good.custom_string, good.message_type) == (201, None, "a", "sms")
    assert good.status_text.startswith("Success")
    assert bad.status_code == 301 and bad.error_code is not None and bad.error_text
    single = sms.view_specific_sms_receipt(message_id=sent[0].message_id)
    assert single.data.message_id == sent[0].message_id
    sms.mark_sms_receipt_as_read(mark_sms_receipt_as_read_request=clicksend.MarkSmsReceiptAsReadRequest())
    assert sms.view_sms_receipts(page=1, limit=15).data.data == []


def test_receipts_are_pushed_by_a_receipt_rule(sms, webhook_receiver):
    rule = sms.create_sms_delivery_receipt_rule(create_sms_delivery_receipt_rule_request=clicksend.CreateSmsDeliveryReceiptRuleRequest(
        rule_name="to my app", match_type=0, action="URL", action_address=webhook_receiver.url("/receipts"),
        enabled=1))
    assert rule.data.receipt_rule_id >= 1 and rule.data.action_address.endswith("/receipts")
    [sent] = send(sms, {"to": "+61411111114", "body": "push", "custom_string": "p"}).data.messages
    [push] = webhook_receiver.wait_for("/receipts")
    form = push.form
    assert (form["message_id"], form["status"], form["status_code"], form["custom_string"]) == (
        sent.message_id, "Delivered", "201", "p")


def test_inbound_replies_pull_and_push(sms, carrier_sim, webhook_receiver):
    sms.create_sms_inbound_automation(create_sms_inbound_automation_request=clicksend.CreateSmsInboundAutomationRequest(
        dedicated_number=NUMBER, rule_name="replies", message_search_type=0, message_search_term="",
        action="URL", action_address=webhook_receiver.url("/inbound"), enabled=1))
    [sent] = send(sms, {"to": "+61411111115", "body": "Are you coming?", "var_from": NUMBER,
                        "custom_string": "rsvp"}).data.messages
    carrier_sim.handset_send("61411111115", NUMBER, "Yes, see you")
    [push] = webhook_receiver.wait_for("/inbound")
    form = push.form
    assert (form["from"], form["to"], form["body"]) == ("+61411111115", "+" + NUMBER, "Yes, see you")
    assert (form["original_message_id"], form["original_body"], form["custom_string"]) == (
        sent.message_id, "Are you coming?", "rsvp")
    inbound = sms.view_inbound_sms(page=1, limit=15).data.data
    assert [m.body for m in inbound] == ["Yes, see you"] and inbound[0].original_message_id == sent.message_id


def test_errors_use_clicksends_envelope(carrier_sim):
    wrong = clicksend.ApiClient(clicksend_configuration(carrier_sim.base_url, USER, "wrong-key"))
    with pytest.raises(clicksend.ApiException) as error:
        send(clicksend.SmsApi(wrong), {"to": "+61411111111", "body": "x"})
    assert error.value.status == 401
    assert json.loads(error.value.body)["response_code"] == "UNAUTHORIZED"

    url = f"{carrier_sim.base_url}/v3/sms/send"
    auth = (USER, KEY)
    too_many = httpx.post(url, auth=auth, json={"messages": [{"to": "+61411111111", "body": "x"}] * 1001})
    assert too_many.status_code == 400 and too_many.json()["response_code"] == "BAD_REQUEST"
    for body in (b"nope", b"[]", b"{}", b'{"messages": [{"to": "+6141"}]}', b'{"messages": [{"body": "x"}]}',
                 b'{"messages": [{"to": 5, "body": "x"}]}', b'{"messages": [{"to": "+6141", "body": "x", "schedule": "soon"}]}'):
        response = httpx.post(url, auth=auth, content=body)
        assert response.status_code == 400, body
        envelope = response.json()
        assert set(envelope) == {"http_code", "response_code", "response_msg", "data"} and envelope["http_code"] == 400
    bad_number = httpx.post(url, auth=auth, json={"messages": [{"to": "call me", "body": "x"}]}).json()
    assert bad_number["data"]["messages"][0]["status"] == "INVALID_RECIPIENT"
    assert bad_number["data"]["blocked_count"] == 1
    assert httpx.get(f"{carrier_sim.base_url}/v3/sms/receipts", auth=auth, params={"limit": 5}).status_code == 400
    assert httpx.get(f"{carrier_sim.base_url}/v3/nothing", auth=auth).json()["response_code"] == "NOT_FOUND"


def test_a_scheduled_message_can_be_cancelled(sms, carrier_sim):
    [sent] = send(sms, {"to": "+61411111116", "body": "later", "schedule": int(time.time()) + 3600}).data.messages
    cancelled = sms.cancel_sms(message_id=sent.message_id)
    assert cancelled.response_code == "SUCCESS"
    with pytest.raises(clicksend.ApiException):
        sms.cancel_sms(message_id=sent.message_id)
    assert carrier_sim.handset_inbox("61411111116") == []


PATHS = ["/v3/sms/send", "/v3/sms/receipts", "/v3/sms/inbound", "/v3/sms/receipts-read", "/v3/sms/X/cancel",
         "/v3/automations/sms/receipts", "/v3/automations/sms/inbound"]
KEYS = ["messages", "to", "body", "from", "schedule", "custom_string", "source", "list_id", "action", "action_address",
        "enabled", "rule_name", "dedicated_number", "webhook_type", "date_before"]
AUTH = [{"authorization": "Basic " + __import__("base64").b64encode(f"{USER}:{KEY}".encode()).decode()},
        {"authorization": "Basic eDp5"}, {}]


@pytest.fixture
def api(carrier_sim):
    with httpx.Client(base_url=carrier_sim.base_url, timeout=10) as client:
        yield client


def test_fuzzed_requests_never_crash_the_front_end(api):
    fuzz(api, paths=PATHS, keys=KEYS, auth=AUTH)


