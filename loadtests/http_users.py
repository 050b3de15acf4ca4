"""HTTP users: a templated user for any gateway, and ready-made ones for Kannel, Twilio, Infobip, ClickSend.

Each request is one message (the gateway splits long texts itself). The message's reference goes
into the text and, where the API allows, into the receipt callback (a dlr-url, StatusCallback,
callbackData or custom_string), so pushed receipts are matched by reference first and by the
gateway's message id second. Answers of 429/503 are retried after a back-off and reported as RETRY.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from urllib.parse import urlencode

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, constant, task

from . import text as sms
from .harness import Harness
from .http_template import GatewayTemplate, HttpRequest, Verdict, auth_header, dig
from .webhook import WebhookReceipt, WebhookReceiver
from .workload import OutgoingMessage

_numbers = itertools.count(1)


_webhook_lock = Semaphore()


def ensure_webhook(harness: Harness) -> str:
    """Start this process's receipt webhook once (users start concurrently); its base URL."""
    with _webhook_lock:
        return harness.webhook_url or _start_webhook(harness)


def _start_webhook(harness: Harness) -> str:
    def deliver(receipt: WebhookReceipt) -> None:
        if receipt.kind == "ack":
            if receipt.ref:
                harness.tracker.carrier_ack(receipt.ref)
            return
        harness.receipt(receipt.state, ref=receipt.ref, message_id=receipt.message_id)

    options = harness.options
    receiver = WebhookReceiver(deliver, options.webhook_host, options.webhook_port)
    url = receiver.start()
    if options.webhook_host in ("0.0.0.0", "::"):  # reachable by name, not by the wildcard
        url = url.replace(options.webhook_host, socket.gethostname(), 1)
    harness.webhook_url = url
    harness.webhook = receiver
    return url


class HttpGatewayUser(FastHttpUser):
    """One request at a time per user; subclasses say how to build a request and read the answer."""

    abstract = True
    wait_time = constant(0)
    request_name = "send"
    retry_delay = (0.05, 2.0)

    def on_start(self) -> None:
        harness: Harness = self.environment.harness
        self.harness = harness
        self.webhook = ensure_webhook(harness)
        self.meter = harness.add_meter(f"{harness.node}/{type(self).__name__}#{next(_numbers)}")

    def on_stop(self) -> None:
        self.harness.remove_meter(self.meter)

    def build(self, out: OutgoingMessage) -> HttpRequest:
        raise NotImplementedError

    def judge(self, status: int, text: str) -> Verdict:
        raise NotImplementedError

    @task
    def send(self) -> None:
        harness = self.harness
        if not harness.sending_allowed():
            gevent.sleep(0.1)
            return
        intended = harness.next_slot()
        out = harness.next_message()
        if out is None:
            gevent.sleep(0.1)
            return
        message = harness.message_sent(out, intended, parts=1)
        request = self.build(out)
        delay = self.retry_delay[0]
        for attempt in range(harness.options.max_retries + 1):
            harness.submits.segments += 1
            self.meter.submitted += 1
            self.meter.occupied(1)
            started = time.perf_counter()
            with self.client.request(request.method, request.url, data=request.body, headers=request.headers,
                                     name=self.request_name, catch_response=True) as response:
                seconds = time.perf_counter() - started
                self.meter.occupied(-1)
                if response.status_code == 0:
                    verdict = Verdict("refused", reason=f"connection error: {response.error}")
                else:
                    verdict = self.judge(response.status_code, response.text or "")
                if verdict.outcome == "accepted":
                    response.success()
                    self.meter.answered_ok += 1
                    harness.answered(message, seconds, verdict.message_id, request_type=None, name=self.request_name,
                                     histogram="http_submit", intended=intended if attempt == 0 else None)
                    return
                if verdict.outcome == "retry" and attempt < harness.options.max_retries:
                    # Reported on its own line, not as a failure of the send.
                    response.request_meta["request_type"] = "RETRY"
                    response.request_meta["name"] = verdict.reason
                    response.success()
                    self.meter.retries += 1
                    self.meter.throttled += 1
                    harness.retrying(seconds, request_type=None, name=verdict.reason, throttled=True)
                else:
                    response.failure(verdict.reason)
                    harness.failed(message, seconds, verdict.reason, request_type=None, name=self.request_name)
                    return
            gevent.sleep(delay)
            delay = min(delay * 2, self.retry_delay[1])


class GatewayUser(HttpGatewayUser):
    """Any HTTP gateway, described on the command line: --http-url, --http-method, --http-body,
    --http-content-type, --http-auth, --http-success, --http-id and --webhook-format."""

    request_name = "gateway send"

    def on_start(self) -> None:
        super().on_start()
        parsed = self.environment.parsed_options
        self.template = GatewayTemplate(
            url=parsed.http_url, method=parsed.http_method, body=parsed.http_body,
            content_type=parsed.http_content_type, auth=parsed.http_auth, success=parsed.http_success,
            message_id=parsed.http_id)
        self.webhook_format = parsed.webhook_format

    def build(self, out: OutgoingMessage) -> HttpRequest:
        coding = out.segments[0].data_coding if out.segments else sms.choose_coding(out.text)
        return self.template.render({
            "to": out.to, "text": out.text, "ref": out.ref, "from": out.source,
            "dlr_url": f"{self.webhook}/{self.webhook_format}?ref={out.ref}",
            "encoding": "ucs2" if coding == sms.UCS2 else "gsm7",
        })

    def judge(self, status: int, text: str) -> Verdict:
        return self.template.judge(status, text)


class KannelUser(HttpGatewayUser):
    """Kannel's smsbox: GET /cgi-bin/sendsms with dlr-mask=31 and a dlr-url carrying the reference."""

    host = "http://127.0.0.1:13013"
    request_name = "kannel sendsms"

    def build(self, out: OutgoingMessage) -> HttpRequest:
        parsed = self.environment.parsed_options
        ucs2 = bool(out.segments) and out.segments[0].data_coding == sms.UCS2
        # Kannel fills %d (DLR type) and %A (the carrier's receipt text) in when it calls back.
        dlr_url = f"{self.webhook}/kannel?ref={out.ref}&type=%d&reply=%A"
        query = urlencode({"username": parsed.kannel_user, "password": parsed.kannel_password, "from": out.source,
                           "to": out.to, "text": out.text, "charset": "UTF-8", "coding": 2 if ucs2 else 0,
                           "dlr-mask": 31, "dlr-url": dlr_url})
        return HttpRequest("GET", f"/cgi-bin/sendsms?{query}", None, {})

    def judge(self, status: int, text: str) -> Verdict:
        if 200 <= status < 300:
            return Verdict("accepted")
        if status in (429, 503):
            return Verdict("retry", reason=f"HTTP {status}")
        return Verdict("refused", reason=f"HTTP {status}: {text.strip()[:120]}")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


class TwilioUser(HttpGatewayUser):
    """Twilio's Messages API: form-encoded POST with HTTP Basic (--account SID, --token auth token)."""

    host = "http://127.0.0.1:8080"
    request_name = "twilio create message"

    def build(self, out: OutgoingMessage) -> HttpRequest:
        parsed = self.environment.parsed_options
        body = urlencode({"To": f"+{out.to.lstrip('+')}", "From": out.source, "Body": out.text,
                          "StatusCallback": f"{self.webhook}/twilio?ref={out.ref}"})
        headers = auth_header(f"basic:{parsed.account}:{parsed.token}")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return HttpRequest("POST", f"/2010-04-01/Accounts/{parsed.account}/Messages.json", body.encode(), headers)

    def judge(self, status: int, text: str) -> Verdict:
        data = _json(text)
        if status == 429:
            return Verdict("retry", reason="HTTP 429 (20429)")
        if status in (200, 201) and isinstance(data, dict) and data.get("sid"):
            if data.get("status") in ("failed", "undelivered"):
                return Verdict("refused", reason=f"status {data.get('status')} {data.get('error_code')}")
            return Verdict("accepted", str(data["sid"]))
        code = data.get("code") if isinstance(data, dict) else None
        return Verdict("refused", reason=f"HTTP {status}" + (f" ({code})" if code else ""))


class InfobipUser(HttpGatewayUser):
    """Infobip's POST /sms/2/text/advanced with `Authorization: App <key>` (--token)."""

    host = "http://127.0.0.1:8080"
    request_name = "infobip send"

    def build(self, out: OutgoingMessage) -> HttpRequest:
        parsed = self.environment.parsed_options
        body = {"messages": [{"from": out.source, "destinations": [{"to": out.to}], "text": out.text,
                              "notifyUrl": f"{self.webhook}/infobip", "notifyContentType": "application/json",
                              "callbackData": out.ref}]}
        headers = {"Authorization": f"App {parsed.token}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        return HttpRequest("POST", "/sms/2/text/advanced", json.dumps(body).encode(), headers)

    def judge(self, status: int, text: str) -> Verdict:
        if status == 429:
            return Verdict("retry", reason="HTTP 429 TOO_MANY_REQUESTS")
        data = _json(text)
        message = dig(data, "messages.0")
        if 200 <= status < 300 and isinstance(message, dict) and message.get("messageId"):
            group = str(dig(message, "status.groupName") or "PENDING").upper()
            if group in ("REJECTED", "UNDELIVERABLE"):
                return Verdict("refused", reason=f"{group} {dig(message, 'status.name') or ''}".strip())
            return Verdict("accepted", str(message["messageId"]))
        return Verdict("refused", reason=f"HTTP {status}: {text[:120]}")


class ClickSendUser(HttpGatewayUser):
    """ClickSend's POST /v3/sms/send with HTTP Basic (--account username, --token API key)."""

    host = "http://127.0.0.1:8080"
    request_name = "clicksend send"

    def build(self, out: OutgoingMessage) -> HttpRequest:
        parsed = self.environment.parsed_options
        body = {"messages": [{"source": "carrier-sim-loadtest", "from": out.source, "body": out.text,
                              "to": f"+{out.to.lstrip('+')}", "custom_string": out.ref}]}
        headers = auth_header(f"basic:{parsed.account}:{parsed.token}")
        headers["Content-Type"] = "application/json"
        return HttpRequest("POST", "/v3/sms/send", json.dumps(body).encode(), headers)

    def judge(self, status: int, text: str) -> Verdict:
        data = _json(text)
        code = dig(data, "response_code")
        if status == 429 or code == "TOO_MANY_REQUESTS":
            return Verdict("retry", reason="HTTP 429 TOO_MANY_REQUESTS")
        message = dig(data, "data.messages.0")
        if 200 <= status < 300 and code == "SUCCESS" and isinstance(message, dict):
            if str(message.get("status", "SUCCESS")).upper() not in ("SUCCESS", "QUEUED"):
                return Verdict("refused", reason=str(message.get("status")))
            return Verdict("accepted", str(message.get("message_id") or "") or None)
        return Verdict("refused", reason=f"HTTP {status} {code or ''}".strip())
