"""The built-in receipt webhook: a gevent WSGI server inside the Locust process for gateways that push.

One path per format -- /kannel, /twilio, /infobip, /clicksend, /generic -- each turned into
WebhookReceipt records and handed to a callback (the harness's tracker). It runs on gevent's own
server, so it shares the Locust process's event loop instead of needing a thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from gevent.pywsgi import WSGIServer

from .receipts import is_final, state_word

_log = logging.getLogger("loadtests.webhook")
MAX_BODY = 1 << 20

# Kannel's DLR types (the %d in a dlr-url): 1 delivered, 2 failed, 4 buffered at the SMSC,
# 8 accepted by the SMSC (submit_sm_resp ok), 16 rejected by the SMSC.
KANNEL_TYPES = {1: "DELIVRD", 2: "UNDELIV", 4: "ENROUTE", 16: "REJECTD"}
KANNEL_ACK = 8


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """One pushed report: a final state, an intermediate one, or the gateway's 'carrier accepted it'."""

    state: str
    kind: str  # final, intermediate or ack
    ref: str | None = None
    message_id: str | None = None


def _first(values: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if values.get(name):
            return values[name][0]
    return None


def _classify(state: str, *, ref: str | None, message_id: str | None) -> WebhookReceipt:
    return WebhookReceipt(state, "final" if is_final(state) else "intermediate", ref, message_id)


def parse_kannel(query: dict[str, list[str]], body: bytes, content_type: str) -> list[WebhookReceipt]:
    ref = _first(query, "ref")
    kind = int(_first(query, "type") or 0)
    if kind == KANNEL_ACK:
        return [WebhookReceipt("ACKED", "ack", ref, _first(query, "id"))]
    state = KANNEL_TYPES.get(kind, "UNKNOWN")
    reply = _first(query, "reply") or ""
    if "stat:" in reply:  # the carrier's own receipt text, via %A: more precise than the DLR type
        state = state_word(reply.split("stat:", 1)[1].split()[0])
    return [_classify(state, ref=ref, message_id=_first(query, "id"))]


def _fields(query: dict[str, list[str]], body: bytes, content_type: str) -> dict[str, list[str]]:
    merged = dict(query)
    if body and "json" not in content_type:
        merged.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    return merged


def parse_twilio(query: dict[str, list[str]], body: bytes, content_type: str) -> list[WebhookReceipt]:
    values = _fields(query, body, content_type)
    status = (_first(values, "MessageStatus", "SmsStatus") or "").lower()
    ref, sid = _first(values, "ref"), _first(values, "MessageSid", "SmsSid")
    if status == "sent":  # handed to the carrier: Twilio's equivalent of an SMSC ack
        return [WebhookReceipt("ACKED", "ack", ref, sid)]
    return [_classify(state_word(status), ref=ref, message_id=sid)]


def _json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def parse_infobip(query: dict[str, list[str]], body: bytes, content_type: str) -> list[WebhookReceipt]:
    data = _json(body)
    results = data.get("results", []) if isinstance(data, dict) else []
    receipts = []
    for result in results:
        status = result.get("status") or {}
        ref = result.get("callbackData") or _first(query, "ref")
        receipts.append(_classify(state_word(status.get("groupName")), ref=ref, message_id=result.get("messageId")))
    return receipts


def parse_clicksend(query: dict[str, list[str]], body: bytes, content_type: str) -> list[WebhookReceipt]:
    data = _json(body) if "json" in content_type else None
    if isinstance(data, dict):
        values = {key: [str(value)] for key, value in data.items() if value is not None}
    else:
        values = _fields(query, body, content_type)
    status = _first(values, "status", "status_text") or ""
    return [_classify(state_word(status), ref=_first(values, "custom_string", "ref"),
                      message_id=_first(values, "message_id", "messageid"))]


def parse_generic(query: dict[str, list[str]], body: bytes, content_type: str) -> list[WebhookReceipt]:
    data = _json(body) if "json" in content_type else None
    values = {key: [str(value)] for key, value in data.items()} if isinstance(data, dict) else \
        _fields(query, body, content_type)
    values = {**values, **{key: value for key, value in query.items() if key not in values}}
    status = _first(values, "status", "state", "stat", "MessageStatus") or "UNKNOWN"
    return [_classify(state_word(status), ref=_first(values, "ref", "callbackData", "custom_string"),
                      message_id=_first(values, "message_id", "messageId", "id", "MessageSid"))]


PARSERS: dict[str, Callable[[dict[str, list[str]], bytes, str], list[WebhookReceipt]]] = {
    "kannel": parse_kannel, "twilio": parse_twilio, "infobip": parse_infobip, "clicksend": parse_clicksend,
    "generic": parse_generic,
}


class WebhookReceiver:
    """Listens on host:port (0: any free port) and calls on_receipt for every report it parses."""

    def __init__(self, on_receipt: Callable[[WebhookReceipt], None], host: str = "127.0.0.1", port: int = 0) -> None:
        self.on_receipt = on_receipt
        self.server = WSGIServer((host, port), self._app, log=None, error_log=_log)
        self.requests = 0
        self.unparsed = 0

    def start(self) -> str:
        self.server.start()
        host, port = self.server.address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop(timeout=1)

    def _app(self, environ, start_response):
        self.requests += 1
        path = environ.get("PATH_INFO", "/").strip("/").split("/")[0] or "generic"
        parser = PARSERS.get(path)
        if parser is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"no receipt format {path!r}; use one of {', '.join(PARSERS)}\n".encode()]
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            receipts = parser(query, body, environ.get("CONTENT_TYPE", "") or "")
        except (ValueError, TypeError, AttributeError) as error:
            self.unparsed += 1
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"cannot read this receipt: {error}\n".encode()]
        for receipt in receipts:
            self.on_receipt(receipt)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"OK"]
