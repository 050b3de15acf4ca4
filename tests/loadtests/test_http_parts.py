"""The generic gateway template and the webhook's receipt parsers."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from loadtests.http_template import GatewayTemplate
from loadtests.webhook import parse_clicksend, parse_generic, parse_infobip, parse_kannel, parse_twilio

VALUES = {"to": "447700900001", "text": 'ref:0123456789ab a&b "q" ж', "ref": "0123456789ab", "from": "12345",
          "dlr_url": "http://127.0.0.1:9/generic?ref=0123456789ab", "encoding": "ucs2"}


def test_placeholders_are_escaped_for_url_json_and_form():
    template = GatewayTemplate(url="/send?to={to}&text={text}", body='{"to":"{to}","text":"{text}","cb":"{dlr_url}"}',
                               auth="basic:user:pass")
    request = template.render(VALUES)
    assert parse_qs(urlsplit(request.url).query)["text"] == [VALUES["text"]]
    assert json.loads(request.body)["text"] == VALUES["text"]
    assert request.headers["Authorization"] == "Basic dXNlcjpwYXNz"
    form = GatewayTemplate(url="/f", body="To={to}&Body={text}", content_type="application/x-www-form-urlencoded")
    assert parse_qs(form.render(VALUES).body.decode())["Body"] == [VALUES["text"]]


def test_success_rule_retry_and_id_extraction():
    template = GatewayTemplate(url="/s", success="200,202;accepted", message_id="json:messages.0.id")
    assert template.judge(202, '{"status":"accepted","messages":[{"id":"m-1"}]}').message_id == "m-1"
    assert template.judge(202, '{"status":"queued"}').outcome == "refused"
    assert template.judge(429, "").outcome == "retry"
    assert GatewayTemplate(url="/s", message_id=r"regex:id=(\w+)").judge(200, "ok id=abc").message_id == "abc"
    with pytest.raises(ValueError):
        GatewayTemplate(url="/s", auth="digest:x")


def test_kannel_dlr_types():
    q = lambda **kw: {k: [str(v)] for k, v in kw.items()}  # noqa: E731
    assert parse_kannel(q(ref="r", type=8), b"", "")[0].kind == "ack"
    [final] = parse_kannel(q(ref="r", type=1, reply="id:1 sub:001 dlvrd:001 stat:DELIVRD err:000"), b"", "")
    assert (final.kind, final.state, final.ref) == ("final", "DELIVRD", "r")
    assert parse_kannel(q(ref="r", type=2), b"", "")[0].state == "UNDELIV"
    assert parse_kannel(q(ref="r", type=4), b"", "")[0].kind == "intermediate"


def test_provider_callbacks():
    twilio = parse_twilio({"ref": ["r1"]}, b"MessageSid=SM1&MessageStatus=delivered&AccountSid=AC1", "application/x-www-form-urlencoded")
    assert (twilio[0].state, twilio[0].message_id, twilio[0].ref) == ("DELIVRD", "SM1", "r1")
    assert parse_twilio({}, b"MessageSid=SM1&MessageStatus=sent", "application/x-www-form-urlencoded")[0].kind == "ack"
    body = json.dumps({"results": [{"messageId": "m1", "callbackData": "r2", "status": {"groupName": "UNDELIVERABLE"}},
                                   {"messageId": "m2", "status": {"groupName": "DELIVERED"}}]}).encode()
    assert [(r.state, r.ref) for r in parse_infobip({}, body, "application/json")] == [("UNDELIV", "r2"), ("DELIVRD", None)]
    click = parse_clicksend({}, json.dumps({"message_id": "c1", "status": "Delivered", "custom_string": "r3"}).encode(),
                            "application/json")
    assert (click[0].state, click[0].ref) == ("DELIVRD", "r3")
    generic = parse_generic({"ref": ["r4"]}, b'{"state": "REJECTED", "id": "g1"}', "application/json")
    assert (generic[0].state, generic[0].ref, generic[0].message_id) == ("REJECTD", "r4", "g1")
