"""HTTP users against a stub of the provider APIs' documented request and response shapes, with
receipts pushed back to the harness's built-in webhook. Real Locust, real sockets on loopback."""

from __future__ import annotations

import base64
import itertools
import json
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from loadtests.kannel import free_port
from loadtests.refs import find_ref

from .conftest import LOCUSTFILE, explain, locust_rows, summary

ACCOUNT, TOKEN = "AC" + "0" * 32, "tok3n"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()


class Stub(ThreadingHTTPServer):
    """Twilio, Infobip, ClickSend and a generic gateway; every 7th Twilio request is answered 429."""

    daemon_threads = True

    def __init__(self, webhook: str) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.webhook = webhook
        self.ids = itertools.count(1)
        self.seen: dict[str, int] = {}
        self.bad: list[str] = []
        self.refs: set[str] = set()
        self.callbacks: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._push, daemon=True).start()

    def _push(self) -> None:
        while True:
            due, url, body, content_type = self.callbacks.get()
            time.sleep(max(0.0, due - time.monotonic()))
            request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
            try:
                urllib.request.urlopen(request, timeout=5).close()
            except OSError as error:
                self.bad.append(f"callback to {url} failed: {error}")

    def later(self, url: str, body: bytes, content_type: str) -> None:
        self.callbacks.put((time.monotonic() + 0.05, url, body, content_type))


class Handler(BaseHTTPRequestHandler):
    server: Stub

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        stub = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        with stub.lock:
            count = stub.seen[path] = stub.seen.get(path, 0) + 1
        number = next(stub.ids)
        if path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if self.headers.get("Authorization") != BASIC or not {"To", "From", "Body", "StatusCallback"} <= set(form):
                stub.bad.append(f"twilio: {self.headers.get('Authorization')} {form}")
            if count % 7 == 0:
                return self._reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
            stub.refs.add(find_ref(form.get("Body", "")) or "")
            sid = f"SM{number:032x}"
            for status in ("sent", "delivered"):
                stub.later(form["StatusCallback"], urlencode({"MessageSid": sid, "MessageStatus": status,
                                                              "AccountSid": ACCOUNT}).encode(),
                           "application/x-www-form-urlencoded")
            return self._reply(201, {"sid": sid, "status": "queued", "to": form.get("To"), "num_segments": "1"})
        body = json.loads(raw or b"{}")
        if path == "/sms/2/text/advanced":
            message = body["messages"][0]
            if self.headers.get("Authorization") != f"App {TOKEN}" or "notifyUrl" not in message:
                stub.bad.append(f"infobip: {self.headers.get('Authorization')} {message}")
            stub.refs.add(find_ref(message["text"]) or "")
            message_id = f"ib-{number}"
            stub.later(message["notifyUrl"], json.dumps({"results": [{
                "messageId": message_id, "callbackData": message.get("callbackData"), "to": message["destinations"][0]["to"],
                "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"}}]}).encode(),
                "application/json")
            return self._reply(200, {"bulkId": "b", "messages": [{"to": message["destinations"][0]["to"],
                                                                  "messageId": message_id, "smsCount": 1,
                                                                  "status": {"groupId": 1, "groupName": "PENDING"}}]})
        if path == "/v3/sms/send":
            message = body["messages"][0]
            if self.headers.get("Authorization") != BASIC:
                stub.bad.append(f"clicksend: {self.headers.get('Authorization')}")
            stub.refs.add(find_ref(message["body"]) or "")
            message_id = f"CS-{number}"
            stub.later(f"{stub.webhook}/clicksend", json.dumps({"message_id": message_id, "status": "Delivered",
                                                                "custom_string": message.get("custom_string")}).encode(),
                       "application/json")
            return self._reply(200, {"http_code": 200, "response_code": "SUCCESS", "data": {
                "messages": [{"message_id": message_id, "status": "SUCCESS", "to": message["to"]}]}})
        if path == "/generic/send":
            stub.refs.add(find_ref(body.get("text", "")) or "")
            stub.later(body["cb"], json.dumps({"status": "delivered", "id": f"g-{number}"}).encode(), "application/json")
            return self._reply(202, {"id": f"g-{number}", "accepted": True})
        self._reply(404, {"error": path})


def test_provider_users_and_the_webhook(tmp_path: Path):
    webhook_port = free_port()
    stub = Stub(f"http://127.0.0.1:{webhook_port}")
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    reports = tmp_path / "reports"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "TwilioUser", "InfobipUser", "ClickSendUser",
             "GatewayUser", "--headless", "--only-summary", "-u", "4", "-r", "4",
             "--host", f"http://127.0.0.1:{stub.server_address[1]}", "--duration", "3s", "--drain", "5s",
             "--arrival-rate", "200", "--webhook-port", str(webhook_port), "--account", ACCOUNT, "--token", TOKEN,
             "--http-url", "/generic/send", "--http-body", '{"to":"{to}","text":"{text}","cb":"{dlr_url}"}',
             "--http-id", "json:id", "--http-success", "202", "--summary-json", str(reports / "summary.json"),
             "--csv", str(reports / "locust")],
            capture_output=True, text=True, timeout=90)
    finally:
        stub.shutdown()
    data = summary(reports)
    receipts, submits = data["receipts"], data["submits"]
    assert not stub.bad, stub.bad[:3]
    assert receipts["sent"] > 300 and receipts["received"] == receipts["accepted"] == receipts["sent"], explain(result)
    assert receipts["missing"] == receipts["orphan"] == 0 and receipts["by_ref"] > 0
    assert receipts["acked"] > 0  # Twilio's "sent" callbacks
    assert len(stub.refs - {""}) == receipts["sent"]  # each request carried its own reference in the text
    assert submits["retries"] == submits["throttled"] > 0
    rows = locust_rows(reports)
    assert int(rows[("RETRY", "HTTP 429 (20429)")]["Request Count"]) == submits["retries"]
    for name in ("twilio create message", "infobip send", "clicksend send", "gateway send"):
        assert int(rows[("POST", name)]["Request Count"]) > 50 and int(rows[("POST", name)]["Failure Count"]) == 0
    assert int(rows[("DLR", "DELIVRD")]["Request Count"]) == receipts["received"]
    assert data["latency"]["http_submit"]["count"] == receipts["sent"]
