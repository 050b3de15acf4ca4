"""The Twilio Messages API driven by the official twilio-python SDK against carrier-sim on real sockets."""

from __future__ import annotations

import base64
import email.utils
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from simulator.config import (
    AccountConfig, TwilioAccountConfig, TwilioConfig, TwilioMessagingServiceConfig, TwilioNumberConfig, WebhookConfig,
)
from simulator.core.clock import ManualClock
from simulator.core.scenario import parse_scenario
from simulator.http.sdk import CarrierSimHttpClient, twilio_client
from simulator.http.twilio import rfc2822
from simulator.pytest_plugin import default_config
from simulator.testing import SimulatorThread

ACCOUNT = "AC" + "a1" * 16
TEST_ACCOUNT = "AC" + "7e" * 16  # test credentials
TOKEN = "twilio-test-token"
NUMBER = "+15017122661"
SERVICE = "MG" + "b2" * 16
HANDSET = "+447700900001"
SID = re.compile(r"(SM|MM)[0-9a-f]{32}")

TWIML_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, got it!</Message></Response>'


@pytest.fixture
def twilio_overrides() -> dict:
    return {}


@pytest.fixture
def carrier_sim_config(webhook_receiver, twilio_overrides):
    config = default_config()
    config.accounts = [AccountConfig(system_id="acme", numbers=["4479"])]  # an SMPP customer owning 4479...
    config.providers.webhooks = WebhookConfig(timeout=2.0, first_delay=0.2, factor=2.0, max_attempts=4)
    config.providers.twilio = TwilioConfig(accounts=[TwilioAccountConfig(
        sid=ACCOUNT, auth_token=TOKEN,
        numbers=[TwilioNumberConfig(number=NUMBER, sms_url=webhook_receiver.url("/sms"))],
        messaging_services=[TwilioMessagingServiceConfig(sid=SERVICE, numbers=[NUMBER])],
    ), TwilioAccountConfig(sid=TEST_ACCOUNT, auth_token=TOKEN, test=True)], **twilio_overrides)
    return config


@pytest.fixture
def client(carrier_sim):
    return carrier_sim.twilio_client(ACCOUNT, TOKEN)


def wait_status(client, sid: str, wanted: set[str], timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        message = client.messages(sid).fetch()
        if message.status in wanted:
            return message
        assert time.monotonic() < deadline, f"{sid} still {message.status}, wanted {wanted}"
        time.sleep(0.02)


def statuses(requests) -> list[str]:
    return [r.form["MessageStatus"] for r in requests]


# ---------------------------------------------------------------------------- create, fetch, price


def test_create_and_fetch_through_the_official_sdk(carrier_sim, client):
    created = client.messages.create(to=HANDSET, from_=NUMBER, body="Hello from the SDK")

    assert SID.fullmatch(created.sid) and created.sid.startswith("SM")
    assert (created.status, created.direction, created.from_, created.to) == ("queued", "outbound-api", NUMBER, HANDSET)
    assert (created.num_segments, created.num_media, created.price, created.price_unit) == ("1", "0", None, "USD")
    assert created.account_sid == ACCOUNT and created.api_version == "2010-04-01"
    assert created.uri == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{created.sid}.json"
    assert created.error_code is None and created.error_message is None
    assert created.date_created.tzinfo is not None  # the SDK parsed our RFC 2822 date
    assert abs((datetime.now(timezone.utc) - created.date_created).total_seconds()) < 5

    delivered = wait_status(client, created.sid, {"delivered"})
    assert delivered.price == "-0.00790" and delivered.date_sent is not None
    assert carrier_sim.handset_inbox(HANDSET.lstrip("+")) == ["Hello from the SDK"]


@pytest.mark.parametrize(("body", "segments"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),  # GSM 03.38: 160, then 153 per part
    ("{}" * 40, 1), ("{}" * 41, 2),  # braces are escaped: two septets each, so 82 characters need two parts
    ("ж" * 70, 1), ("ж" * 71, 2), ("ж" * 134, 2), ("ж" * 135, 3),  # UCS-2: 70, then 67 per part
], ids=["gsm160", "gsm161", "gsm306", "gsm307", "escaped80", "escaped82", "ucs70", "ucs71", "ucs134", "ucs135"])
def test_num_segments_and_price_follow_the_real_encoding(client, body, segments):
    created = client.messages.create(to=HANDSET, from_=NUMBER, body=body)
    assert created.num_segments == str(segments)
    sent = wait_status(client, created.sid, {"sent", "delivered"})
    assert sent.price == f"-{0.0079 * segments:.5f}"


def test_mms_fields(client):
    created = client.messages.create(to=HANDSET, from_=NUMBER, body="look",
                                     media_url=["https://example.com/a.jpg", "https://example.com/b.png"])
    assert created.sid.startswith("MM") and created.num_media == "2" and created.num_segments == "1"
    assert wait_status(client, created.sid, {"delivered"}).price == "-0.02000"
    media = client.messages(created.sid).media.list()
    assert sorted(m.content_type for m in media) == ["image/jpeg", "image/png"]
    assert all(m.parent_sid == created.sid for m in media)


# ---------------------------------------------------------------------------- status callbacks


def test_status_callbacks_carry_twilios_fields_and_a_valid_signature(client, webhook_receiver):
    url = webhook_receiver.url("/status?tenant=7")
    created = client.messages.create(to=HANDSET, from_=NUMBER, body="track me", status_callback=url)
    requests = webhook_receiver.wait_for("/status", 3)

    assert statuses(requests) == ["sending", "sent", "delivered"]  # no callback for the first status (queued)
    validator = RequestValidator(TOKEN)
    for request in requests:
        form = request.form
        assert validator.validate(url, form, request.headers["x-twilio-signature"]), form
        assert not RequestValidator("another-token").validate(url, form, request.headers["x-twilio-signature"])
        assert form["MessageSid"] == form["SmsSid"] == created.sid
        assert form["SmsStatus"] == form["MessageStatus"]
        assert (form["AccountSid"], form["From"], form["To"], form["ApiVersion"]) == (ACCOUNT, NUMBER, HANDSET,
                                                                                    "2010-04-01")
        assert "ErrorCode" not in form
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert re.fullmatch(r"\d{10}", requests[-1].form["RawDlrDoneDate"])
    assert "RawDlrDoneDate" not in requests[0].form


def test_failed_callbacks_are_retried_with_back_off(client, webhook_receiver):
    webhook_receiver.answer("/flaky", 500, times=2)  # the receiver fails twice, then recovers
    url = webhook_receiver.url("/flaky")
    client.messages.create(to=HANDSET, from_=NUMBER, body="retry me", status_callback=url)
    requests = webhook_receiver.wait_for("/flaky", 5, timeout=8)

    # The first status is attempted three times; the later ones wait behind it, so order holds.
    assert statuses(requests) == ["sending", "sending", "sending", "sent", "delivered"]
    gaps = [b.at - a.at for a, b in zip(requests, requests[1:3])]
    assert 0.18 <= gaps[0] < 0.6 and 0.38 <= gaps[1] < 1.0, gaps  # first_delay 0.2 s, factor 2
    validator = RequestValidator(TOKEN)
    assert all(validator.validate(url, r.form, r.headers["x-twilio-signature"]) for r in requests)


# ---------------------------------------------------------------------------- list and paging


def test_list_pages_with_relative_uris_and_filters(carrier_sim, client):
    other = "+447700900002"
    sids = [client.messages.create(to=HANDSET if i % 2 else other, from_=NUMBER, body=f"m{i}").sid for i in range(7)]

    listed = client.messages.list(page_size=3)  # the SDK follows next_page_uri three times
    assert [m.sid for m in listed] == sids[::-1]

    page = client.messages.page(page_size=3)
    assert [m.body for m in page] == ["m6", "m5", "m4"]
    client.messages.create(to=HANDSET, from_=NUMBER, body="late")  # must not shift the pages already handed out
    second = page.next_page()
    assert [m.body for m in second] == ["m3", "m2", "m1"]
    third = second.next_page()
    assert [m.body for m in third] == ["m0"]
    assert third.next_page() is None

    raw = httpx.get(f"{carrier_sim.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
                    params={"PageSize": 2, "To": other}, auth=(ACCOUNT, TOKEN)).json()
    assert raw["next_page_uri"].startswith(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json?")
    assert "To=%2B447700900002" in raw["next_page_uri"] and raw["previous_page_uri"] is None
    assert raw["first_page_uri"].startswith("/2010-04-01/") and raw["uri"].startswith("/2010-04-01/")
    assert (raw["page"], raw["page_size"], raw["start"], raw["end"]) == (0, 2, 0, 1)

    assert {m.to for m in client.messages.list(to=other)} == {other}
    assert len(client.messages.list(to=other)) == 4
    assert len(client.messages.list(from_=NUMBER, to=HANDSET)) == 4
    today = datetime.now(timezone.utc)
    assert len(client.messages.list(date_sent_after=today - timedelta(days=1))) == 8
    assert client.messages.list(date_sent_before=today - timedelta(days=2)) == []


# ---------------------------------------------------------------------------- update and delete


def test_cancel_a_scheduled_message(carrier_sim, client, webhook_receiver):
    url = webhook_receiver.url("/cancel")
    send_at = datetime.now(timezone.utc) + timedelta(minutes=30)
    scheduled = client.messages.create(to="+447700900070", messaging_service_sid=SERVICE, body="later",
                                       schedule_type="fixed", send_at=send_at, status_callback=url)
    assert (scheduled.status, scheduled.messaging_service_sid, scheduled.from_) == ("scheduled", SERVICE, NUMBER)

    canceled = client.messages(scheduled.sid).update(status="canceled")
    assert canceled.status == "canceled"
    [callback] = webhook_receiver.wait_for("/cancel")
    assert callback.form["MessageStatus"] == "canceled" and callback.form["MessagingServiceSid"] == SERVICE

    with pytest.raises(TwilioRestException) as refused:
        client.messages(scheduled.sid).update(status="canceled")
    assert (refused.value.status, refused.value.code) == (400, 30409)
    assert carrier_sim.call(lambda: [m for m in carrier_sim.carrier.store if m.destination == "447700900070"]) == []


def test_a_scheduled_message_goes_out_at_send_at(client):
    # The SDK sends SendAt in whole seconds, so "now + 1 s" could leave milliseconds before it is due:
    # two whole seconds on from this one leave at least one to see it still scheduled.
    send_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    scheduled = client.messages.create(to=HANDSET, messaging_service_sid=SERVICE, body="soon", schedule_type="fixed",
                                       send_at=send_at)
    assert scheduled.status == "scheduled"
    assert client.messages(scheduled.sid).fetch().status == "scheduled"
    assert wait_status(client, scheduled.sid, {"delivered"}, timeout=6).date_sent is not None


def test_redact_and_delete(client):
    created = client.messages.create(to=HANDSET, from_=NUMBER, body="secret")
    wait_status(client, created.sid, {"delivered"})
    assert client.messages(created.sid).update(body="").body == ""
    assert client.messages(created.sid).fetch().body == ""
    with pytest.raises(TwilioRestException) as bad:
        client.messages(created.sid).update(body="not empty")
    assert bad.value.status == 400
    assert client.messages(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as gone:
        client.messages(created.sid).fetch()
    assert (gone.value.status, gone.value.code) == (404, 20404)

    pending = client.messages.create(to=HANDSET, messaging_service_sid=SERVICE, body="x", schedule_type="fixed",
                                     send_at=datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(TwilioRestException) as busy:
        client.messages(pending.sid).delete()
    assert busy.value.code == 20009


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("sender", "to", "code"), [
    ("+15005550001", HANDSET, 21212), ("+15005550007", HANDSET, 21606), ("+15005550008", HANDSET, 21611),
    (NUMBER, "+15005550001", 21211), (NUMBER, "+15005550002", 21612), (NUMBER, "+15005550003", 21408),
    (NUMBER, "+15005550004", 21610), (NUMBER, "+15005550009", 21614),
])
def test_test_credential_magic_numbers(client, sender, to, code):
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=to, from_=sender, body="magic")
    assert (error.value.status, error.value.code) == (400, code)


def test_error_body_shape_and_validation(carrier_sim, client):
    url = f"{carrier_sim.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    response = httpx.post(url, data={"To": "not-a-number", "From": NUMBER, "Body": "x"}, auth=(ACCOUNT, TOKEN))
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 21211, "message": "The 'To' number not-a-number is not a valid phone number.",
                               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}

    cases = [({"From": NUMBER, "Body": "x"}, 21604), ({"To": HANDSET, "Body": "x"}, 21603),
             ({"To": HANDSET, "From": NUMBER}, 21602), ({"To": HANDSET, "From": "+15550001111", "Body": "x"}, 21606),
             ({"To": HANDSET, "From": NUMBER, "Body": "x" * 1601}, 21617),
             ({"To": HANDSET, "From": NUMBER, "Body": "x", "ValidityPeriod": "0"}, 21624),
             ({"To": HANDSET, "From": NUMBER, "Body": "x", "ScheduleType": "fixed"}, 35114)]
    for data, code in cases:
        body = httpx.post(url, data=data, auth=(ACCOUNT, TOKEN)).json()
        assert (body["code"], body["status"]) == (code, 400), (data, body)

    wrong = httpx.post(url, data={"To": HANDSET, "From": NUMBER, "Body": "x"}, auth=(ACCOUNT, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["code"] == 20003
    other = httpx.get(f"{carrier_sim.base_url}/2010-04-01/Accounts/AC{'0' * 32}/Messages.json", auth=(ACCOUNT, TOKEN))
    assert other.status_code == 401
    missing = httpx.get(f"{carrier_sim.base_url}/2010-04-01/Accounts/{ACCOUNT}/Nope.json", auth=(ACCOUNT, TOKEN))
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    with pytest.raises(TwilioRestException) as error:
        client.messages("SM" + "0" * 32).fetch()
    assert error.value.code == 20404


def test_nothing_a_client_sends_crashes_the_front_end(carrier_sim):
    base = f"{carrier_sim.base_url}/2010-04-01/Accounts/{ACCOUNT}"
    good = {"authorization": "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()}
    odd_bodies = [b"", b"%", b"To=%ZZ&From=%", b"\xff\xfe\x00garbage", b"To=" + b"9" * 5000, b'{"To": "+1"}',
                  b"&&&===&&", b"To=%2B447700900001&From=%2B15017122661&Body=%F0%9F%98%80" * 3,
                  b"To=%2B447700900001&From=%2B15017122661&Body=\x00\x01", b"MediaUrl=" * 100]
    headers = [good, {"authorization": "Basic !!!"}, {"authorization": "Bearer x"}, {}, {"authorization": "Basic"}]
    with httpx.Client(timeout=5) as http:
        for path in ("/Messages.json", "/Messages/SMx.json", "/Messages/../x.json", "/IncomingPhoneNumbers.json", ""):
            for method in ("GET", "POST", "DELETE", "PUT", "PATCH"):
                for body in odd_bodies[:4] if method != "POST" else odd_bodies:
                    for header in headers if body == b"" else headers[:1]:
                        response = http.request(method, base + path, content=body, headers=header)
                        assert response.status_code < 500, (method, path, body, response.text)
                        data = response.json()
                        assert set(data) >= {"code", "message", "status"} or "sid" in data or "messages" in data or \
                            "incoming_phone_numbers" in data, data
        params = http.get(base + "/Messages.json", params={"PageSize": "-1"}, headers=good)
        assert params.status_code == 400
        assert http.get(base + "/Messages.json", params={"DateSent": "yesterday"}, headers=good).status_code == 400


# ---------------------------------------------------------------------------- inbound


def test_inbound_webhook_is_signed_and_a_twiml_reply_goes_out(carrier_sim, client, webhook_receiver):
    webhook_receiver.answer("/sms", 200, TWIML_REPLY, "text/xml")
    carrier_sim.handset_send("447700900009", NUMBER.lstrip("+"), "Hi there")

    [request] = webhook_receiver.wait_for("/sms")
    form = request.form
    assert (form["From"], form["To"], form["Body"]) == ("+447700900009", NUMBER, "Hi there")
    assert (form["NumSegments"], form["NumMedia"], form["SmsStatus"], form["AccountSid"]) == ("1", "0", "received",
                                                                                              ACCOUNT)
    assert form["MessageSid"] == form["SmsSid"] and SID.fullmatch(form["MessageSid"])
    assert form["MessagingServiceSid"] == SERVICE
    assert RequestValidator(TOKEN).validate(webhook_receiver.url("/sms"), form, request.headers["x-twilio-signature"])

    deadline = time.monotonic() + 5
    while carrier_sim.handset_inbox("447700900009") != ["Thanks, got it!"]:
        assert time.monotonic() < deadline, carrier_sim.handset_inbox("447700900009")
        time.sleep(0.02)
    directions = {m.direction: m for m in client.messages.list()}
    assert directions["inbound"].body == "Hi there" and directions["inbound"].status == "received"
    assert directions["outbound-reply"].to == "+447700900009" and directions["outbound-reply"].from_ == NUMBER


def test_a_long_inbound_message_is_one_webhook_with_its_segment_count(carrier_sim, webhook_receiver):
    text = "Long reply " + "x" * 190  # 201 GSM characters: two segments on the air
    carrier_sim.handset_send("447700900011", NUMBER.lstrip("+"), text)
    [request] = webhook_receiver.wait_for("/sms")
    assert (request.form["Body"], request.form["NumSegments"]) == (text, "2")
    time.sleep(0.2)
    assert len(webhook_receiver.received("/sms")) == 1


def test_test_credentials_validate_but_send_nothing(carrier_sim):
    client = carrier_sim.twilio_client(TEST_ACCOUNT, TOKEN)
    message = client.messages.create(to=HANDSET, from_="+15005550006", body="test creds")
    assert message.status == "queued" and SID.fullmatch(message.sid)
    with pytest.raises(TwilioRestException) as magic:
        client.messages.create(to="+15005550009", from_="+15005550006", body="x")
    assert magic.value.code == 21614
    with pytest.raises(TwilioRestException) as missing:
        client.messages(message.sid).fetch()
    assert missing.value.status == 404
    time.sleep(0.1)
    assert carrier_sim.handset_inbox(HANDSET.lstrip("+")) == []


def test_incoming_phone_numbers_configure_an_open_mode_account(webhook_receiver):
    config = default_config()
    with SimulatorThread(config, scenario=parse_scenario("defaults: {receipt: {delay: 10ms}}")) as thread:
        client = twilio_client(thread.simulator.providers_url, "AC" + "9" * 32, "any-token")
        number = client.incoming_phone_numbers.create(phone_number="+15557770001", sms_url=webhook_receiver.url("/in"))
        assert number.phone_number == "+15557770001" and number.sms_url.endswith("/in")
        assert [n.sid for n in client.incoming_phone_numbers.list()] == [number.sid]
        thread.call(thread.carrier.handset_send, "447700900010", "15557770001", "hello number")
        [request] = webhook_receiver.wait_for("/in")
        assert request.form["Body"] == "hello number"
        assert RequestValidator("any-token").validate(webhook_receiver.url("/in"), request.form,
                                                      request.headers["x-twilio-signature"])
        client.incoming_phone_numbers(number.sid).update(sms_url=webhook_receiver.url("/moved"))
        thread.call(thread.carrier.handset_send, "447700900010", "15557770001", "again")
        assert webhook_receiver.wait_for("/moved")[0].form["Body"] == "again"

        client.incoming_phone_numbers(number.sid).update(sms_method="GET")
        thread.call(thread.carrier.handset_send, "447700900010", "15557770001", "by GET")
        [get] = webhook_receiver.wait_for("/moved", method="GET")
        query = dict(parse_qsl(urlsplit(get.path).query))
        assert query["Body"] == "by GET" and get.body == b""
        assert RequestValidator("any-token").validate(webhook_receiver.url(get.path), {},
                                                      get.headers["x-twilio-signature"])
        client.incoming_phone_numbers(number.sid).delete()
        assert client.incoming_phone_numbers.list() == []


def test_opted_out_recipient_is_refused(carrier_sim, client):
    carrier_sim.handset_send("447700900050", NUMBER.lstrip("+"), "STOP")
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to="+447700900050", from_=NUMBER, body="promo")
    assert error.value.code == 21610
    carrier_sim.handset_send("447700900050", NUMBER.lstrip("+"), "START")
    assert client.messages.create(to="+447700900050", from_=NUMBER, body="welcome back").status == "queued"


# ---------------------------------------------------------------------------- throughput


def test_one_mps_sender_drains_a_second_apart_and_overflows_with_30001():
    """10 messages at once through a 1 MPS long code whose queue holds 5 s: 6 queue, 4 fail with 30001."""
    clock = ManualClock()
    config = default_config()
    config.providers.twilio = TwilioConfig(queue_seconds=5, accounts=[TwilioAccountConfig(
        sid=ACCOUNT, auth_token=TOKEN, numbers=[TwilioNumberConfig(number=NUMBER, type="long_code")])])
    scenario = parse_scenario("defaults: {receipt: {states: [{state: DELIVRD}], delay: 100ms}}")
    with SimulatorThread(config, scenario=scenario, clock=clock) as thread:
        client = twilio_client(thread.simulator.providers_url, ACCOUNT, TOKEN)
        with ThreadPoolExecutor(10) as pool:
            created = list(pool.map(lambda i: client.messages.create(to=f"+4477009001{i:02d}", from_=NUMBER,
                                                                     body=f"burst {i}"), range(10)))
        queued = [m for m in created if m.status == "queued"]
        overflowed = [m for m in created if m.status == "failed"]
        assert (len(queued), len(overflowed)) == (6, 4)
        assert {m.error_code for m in overflowed} == {30001}

        def tick(seconds: float = 0.25) -> None:
            clock.advance(seconds)
            thread.carrier.scheduler.run_due()

        thread.call(tick, 0.0)  # what is due now (the first release): a manual clock's driver waits for a move
        for _ in range(30):  # 7.5 s of carrier time
            thread.call(tick)
        finals = thread.call(lambda: sorted(m.final_at for m in thread.carrier.store if m.channel == "http"))
        assert len(finals) == 6
        assert [round(b - a, 6) for a, b in zip(finals, finals[1:])] == [1.0] * 5
        assert {client.messages(m.sid).fetch().status for m in queued} == {"delivered"}


@pytest.mark.parametrize("twilio_overrides", [{"max_concurrent": 2, "api_latency": 0.4}])
def test_concurrency_limit_answers_429_20429(carrier_sim, client):
    def create(i: int):
        try:
            return client.messages.create(to=HANDSET, from_=NUMBER, body=f"c{i}")
        except TwilioRestException as error:
            return error

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(create, range(6)))
    refused = [r for r in results if isinstance(r, TwilioRestException)]
    assert len(results) - len(refused) >= 2
    assert refused and all((r.status, r.code) == (429, 20429) for r in refused)


# ---------------------------------------------------------------------------- pointing the SDK here


def test_the_http_client_rewrites_only_twilio_hosts():
    client = CarrierSimHttpClient("http://127.0.0.1:9999/")
    assert client.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json") == \
        "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json"
    assert client.rewrite("https://api.dublin.ie1.twilio.com/2010-04-01/x") == "http://127.0.0.1:9999/2010-04-01/x"
    assert client.rewrite("https://example.com/twilio.com/x") == "https://example.com/twilio.com/x"


def test_a_control_api_reset_forgets_twilio_messages_and_sending_still_works(carrier_sim, client, webhook_receiver):
    first = client.messages.create(to=HANDSET, from_=NUMBER, body="before reset")
    wait_status(client, first.sid, {"delivered"})
    assert httpx.post(f"{carrier_sim.control_url}/api/v1/reset").status_code == 204
    assert client.messages.list() == []
    url = webhook_receiver.url("/after")
    second = client.messages.create(to=HANDSET, from_=NUMBER, body="after reset", status_callback=url)
    assert statuses(webhook_receiver.wait_for("/after", 3)) == ["sending", "sent", "delivered"]
    assert [m.sid for m in client.messages.list()] == [second.sid]


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_twilio_dates_are_rfc2822_in_utc_whatever_the_fraction(when: float) -> None:
    second = datetime.fromtimestamp(int(when), timezone.utc)  # the whole second it falls in
    assert rfc2822(when) == email.utils.format_datetime(second)
    assert rfc2822(None) is None
