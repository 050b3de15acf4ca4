"""ClickSend v3 SMS API (send, receipts, inbound, automation rules, cancel) in front of the carrier core."""

from __future__ import annotations

import base64
import binascii
import logging
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulator.config import ClickSendConfig, ClickSendUserConfig
from simulator.core.records import Inbound, Item, MessageState, Receipt
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

from .common import (
    BodyTooLarge, FrontEnd, JsonResponse, core_address, dumps, e164, encode_text, first_part, guarded,
    is_phone_number, parse_json, read_body, register_account, submit_text, system_id_for,
)
from .webhooks import MailboxEndpoint, Webhook

__all__ = ["ClickSendApi"]

_log = logging.getLogger("carrier_sim.http.clicksend")

MAX_MESSAGES = 1000
CURRENCIES = {
    "AUD": ("$", "c", "Australian Dollars"), "USD": ("$", "c", "US Dollars"), "EUR": ("€", "c", "Euros"),
    "GBP": ("£", "p", "British Pounds"), "NZD": ("$", "c", "New Zealand Dollars"),
}
COUNTRIES = (("61", "AU"), ("64", "NZ"), ("44", "GB"), ("1", "US"), ("49", "DE"), ("33", "FR"), ("91", "IN"))

# Receipt status codes and texts (ClickSend's gateway codes for the common outcomes).
RECEIPT_STATUS = {
    MessageState.DELIVERED: ("Delivered", 201, "Success: Message received on handset."),
    MessageState.ACCEPTED: ("Delivered", 200, "Success: Message accepted by carrier."),
    MessageState.UNDELIVERABLE: ("Undelivered", 301, "Failed: Message could not be delivered."),
    MessageState.EXPIRED: ("Expired", 302, "Failed: Message expired before delivery."),
    MessageState.REJECTED: ("Rejected", 303, "Failed: Message rejected by the carrier."),
    MessageState.UNKNOWN: ("Undelivered", 304, "Failed: Delivery unknown."),
    MessageState.DELETED: ("Cancelled", 305, "Failed: Message cancelled."),
    MessageState.SKIPPED: ("Undelivered", 306, "Failed: Message skipped."),
}


class ClickSendError(Exception):
    def __init__(self, status: int, code: str, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = data

    def response(self) -> Response:
        return envelope(self.status, self.code, self.message, self.data)


def envelope(http_code: int, code: str, message: str, data: Any = None) -> Response:
    """ClickSend's response envelope, used for successes and errors alike."""
    return JsonResponse({"http_code": http_code, "response_code": code, "response_msg": message, "data": data},
                        http_code)


@dataclass(slots=True)
class Rule:
    rule_id: int
    name: str
    action: str  # URL, POLL, ...
    address: str
    enabled: int = 1
    match_type: int = 0
    dedicated_number: str = "*"  # inbound rules only
    webhook_type: str = "post"  # post (form fields) or json


@dataclass(slots=True, eq=False)
class ClickSendUser:
    username: str
    user_id: int
    system_id: str
    numbers: list[str] = field(default_factory=list)  # core addresses
    receipt_rules: list[Rule] = field(default_factory=list)
    inbound_rules: list[Rule] = field(default_factory=list)
    receipts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100_000))
    inbound: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100_000))
    sent: dict[str, ClickSendMessage] = field(default_factory=dict)  # by message_id, newest last
    last_to: dict[tuple[str, str], ClickSendMessage] = field(default_factory=dict)  # (handset, sender) -> message


@dataclass(slots=True, eq=False)
class ClickSendMessage:
    user: ClickSendUser
    message_id: str
    to: str
    sender: str
    body: str
    custom_string: str
    sent_at: int
    core_ids: list[str] = field(default_factory=list)
    receipted: bool = False


class ClickSendApi:
    def __init__(self, front: FrontEnd, config: ClickSendConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.poster = front.poster
        self.config = config
        self.clock = self.carrier.clock
        self.open_mode = not config.users
        self.users: dict[str, ClickSendUser] = {}
        self._keys: dict[str, str] = {}
        self._rule_ids = iter(range(1, 1 << 31))
        for user_config in config.users:
            self._add(user_config)

    # ------------------------------------------------------------------ users

    def _add(self, cfg: ClickSendUserConfig) -> ClickSendUser:
        user = self._new_user(cfg.username, [core_address(n) for n in cfg.numbers])
        self._keys[cfg.username] = cfg.api_key
        if cfg.receipt_url:
            user.receipt_rules.append(Rule(next(self._rule_ids), "configured", "URL", cfg.receipt_url))
        if cfg.inbound_url:
            user.inbound_rules.append(Rule(next(self._rule_ids), "configured", "URL", cfg.inbound_url))
        return user

    def _new_user(self, username: str, numbers: list[str]) -> ClickSendUser:
        user = ClickSendUser(username, len(self.users) + 1, system_id_for("cs-", username), numbers)
        self.users[username] = user
        register_account(self.carrier, user.system_id, numbers, id_format="uuid")
        self.carrier.outbox.attach(MailboxEndpoint(self.carrier.outbox, self.carrier.scheduler, user.system_id,
                                                   lambda item, u=user: self._on_item(u, item), self.poster))
        return user

    def _authenticate(self, request: Request) -> ClickSendUser:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        username = password = ""
        if scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                username = ""
        if not username:
            raise ClickSendError(401, "UNAUTHORIZED", "Invalid credentials.")
        user = self.users.get(username)
        if self.open_mode:
            return user or self._new_user(username, [])
        if user is None or self._keys.get(username) != password:
            raise ClickSendError(401, "UNAUTHORIZED", "Invalid credentials.")
        return user

    # ------------------------------------------------------------------ app

    def app(self) -> ASGIApp:
        routes = [
            Route("/v3/sms/send", self._endpoint(self.send), methods=["POST"]),
            Route("/v3/sms/receipts", self._endpoint(self.receipts), methods=["GET"]),
            Route("/v3/sms/receipts/{message_id}", self._endpoint(self.receipt), methods=["GET"]),
            Route("/v3/sms/receipts-read", self._endpoint(self.receipts_read), methods=["PUT"]),
            Route("/v3/sms/inbound", self._endpoint(self.inbound), methods=["GET"]),
            Route("/v3/sms/inbound-read", self._endpoint(self.inbound_read), methods=["PUT"]),
            Route("/v3/sms/{message_id}/cancel", self._endpoint(self.cancel), methods=["PUT"]),
            Route("/v3/automations/sms/receipts", self._endpoint(self.create_receipt_rule), methods=["POST"]),
            Route("/v3/automations/sms/receipts", self._endpoint(self.list_receipt_rules), methods=["GET"]),
            Route("/v3/automations/sms/inbound", self._endpoint(self.create_inbound_rule), methods=["POST"]),
            Route("/v3/automations/sms/inbound", self._endpoint(self.list_inbound_rules), methods=["GET"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 405:
                return envelope(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here.")
            return envelope(404, "NOT_FOUND", f"Resource not found: {request.url.path}")

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return guarded(app, lambda error: envelope(500, "INTERNAL_SERVER_ERROR", "Internal server error."),
                       "clicksend")

    def _endpoint(self, handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, self._authenticate(request))
            except ClickSendError as error:
                return error.response()
            except BodyTooLarge:
                return envelope(413, "PAYLOAD_TOO_LARGE", "The request body is too large.")

        return endpoint

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            data = parse_json(await read_body(request))
        except ValueError:
            raise ClickSendError(400, "BAD_REQUEST", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ClickSendError(400, "BAD_REQUEST", "The request body must be a JSON object.")
        return data

    # ------------------------------------------------------------------ sending

    async def send(self, request: Request, user: ClickSendUser) -> Response:
        data = await self._json(request)
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"messages": "The messages field is required."})
        if len(messages) > MAX_MESSAGES:
            raise ClickSendError(400, "BAD_REQUEST", f"At most {MAX_MESSAGES} messages per request.",
                                 {"messages": f"{len(messages)} given"})
        for i, m in enumerate(messages):
            problem = _message_problem(m)
            if problem:
                raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {f"messages.{i}": problem})
        core = self.carrier.accounts.get(user.system_id)
        if core is not None and core.bucket.available() < 1:
            raise ClickSendError(429, "TOO_MANY_REQUESTS", "Too many requests. Please slow down.")
        out = [self._send_one(user, m) for m in messages]
        queued = [m for m in out if m["status"] == "SUCCESS"]
        total = round(sum(float(m["message_price"]) for m in queued), 4)
        symbol_d, symbol_c, name = CURRENCIES.get(self.config.currency, ("$", "c", self.config.currency))
        return envelope(200, "SUCCESS", "Messages queued for delivery.", {
            "total_price": total, "total_count": len(out), "queued_count": len(queued), "messages": out,
            "_currency": {"currency_name_short": self.config.currency, "currency_prefix_d": symbol_d,
                          "currency_prefix_c": symbol_c, "currency_name_long": name},
            "blocked_count": len(out) - len(queued),
        })

    def _send_one(self, user: ClickSendUser, m: dict[str, Any]) -> dict[str, Any]:
        now = int(self.clock.wall())
        body = m["body"]
        to = str(m.get("to") or "").strip()
        sender = str(m.get("from") or "").strip() or (e164(user.numbers[0]) if user.numbers
                                                     else e164(self.config.shared_number))
        schedule = m.get("schedule") or None
        custom = str(m.get("custom_string") or "")
        result: dict[str, Any] = {
            "direction": "out", "date": now, "to": to, "body": body, "from": sender,
            "schedule": int(schedule) if schedule else now, "message_id": str(uuid.uuid4()).upper(),
            "message_parts": 0, "message_price": "0.0000", "from_email": m.get("from_email"), "list_id": None,
            "custom_string": custom, "contact_id": None, "user_id": user.user_id, "subaccount_id": user.user_id,
            "is_shared_system_number": not m.get("from") and not user.numbers, "country": _country(to),
            "carrier": "carrier-sim", "status": "SUCCESS",
        }
        if not is_phone_number(to):
            result["status"] = "INVALID_RECIPIENT"
            return result
        try:
            encoded = encode_text(body)
        except sms_text.TextEncodingError:
            result["status"] = "MESSAGE_TOO_LONG"
            return result
        result["message_parts"] = encoded.segments
        record = ClickSendMessage(user, "", e164(core_address(to)), sender, body, custom, now)
        submitted = submit_text(self.carrier, user.system_id, "http", core_address(sender), core_address(to), encoded,
                                ref=record, schedule_at=float(schedule) if schedule else None)
        if not submitted.ok:
            opted_out = self.carrier.handsets.opted_out(core_address(to), core_address(sender))
            result["status"] = ("INVALID_RECIPIENT" if opted_out or submitted.status == Status.ESME_RINVDSTADR
                                else "TOO_MANY_REQUESTS" if submitted.status in (Status.ESME_RTHROTTLED,
                                                                                  Status.ESME_RMSGQFUL)
                                else "FAILED")
            return result
        record.message_id = submitted.message_id.upper()
        record.core_ids = [message.id for message in submitted.messages]
        result["message_id"] = record.message_id
        result["message_price"] = f"{self.config.price_per_part * encoded.segments:.4f}"
        user.sent[record.message_id] = record
        if len(user.sent) > 100_000:
            del user.sent[next(iter(user.sent))]
        user.last_to[(core_address(to), core_address(sender))] = record
        return result

    async def cancel(self, request: Request, user: ClickSendUser) -> Response:
        message_id = request.path_params["message_id"].upper()
        record = user.sent.get(message_id)
        if record is None:
            raise ClickSendError(404, "NOT_FOUND", f"Message {message_id} not found.")
        cancelled = [self.carrier.cancel(core_id, user.system_id) for core_id in record.core_ids]
        if not any(cancelled):
            raise ClickSendError(400, "BAD_REQUEST", "The message has already been sent and cannot be cancelled.")
        return envelope(200, "SUCCESS", "Message has been cancelled.", {"message_id": message_id})

    # ------------------------------------------------------------------ receipts

    def _on_item(self, user: ClickSendUser, item: Item) -> None:
        if isinstance(item, Receipt):
            record = item.message.ref
            if isinstance(record, ClickSendMessage) and not record.receipted and not item.intermediate:
                record.receipted = True
                self._receipt(user, record, item)
        elif isinstance(item, Inbound) and first_part(item):
            self._inbound(user, item)

    def _receipt(self, user: ClickSendUser, record: ClickSendMessage, receipt: Receipt) -> None:
        word, code, text = RECEIPT_STATUS.get(receipt.state, RECEIPT_STATUS[MessageState.UNDELIVERABLE])
        failed = not receipt.state.is_success
        entry = {
            "timestamp_send": record.sent_at, "timestamp": int(receipt.done_at), "message_id": record.message_id,
            "status_code": code, "status_text": text, "error_code": (receipt.error or code) if failed else None,
            "error_text": text if failed else None, "custom_string": record.custom_string,
            "subaccount_id": user.user_id, "message_type": "sms",
        }
        user.receipts.append(entry)
        for rule in user.receipt_rules:
            if rule.enabled and rule.action.upper() == "URL" and rule.address:
                fields = {**entry, "status": word, "user_id": user.user_id, "to": record.to, "from": record.sender}
                self._push(rule, fields, f"clicksend receipt {record.message_id}")

    def _push(self, rule: Rule, fields: dict[str, Any], label: str) -> None:
        if rule.webhook_type == "json":
            body, kind = dumps(fields), "application/json"
        else:
            body = urlencode([(k, "" if v is None else str(v)) for k, v in fields.items()]).encode("utf-8")
            kind = "application/x-www-form-urlencoded"
        self.poster.post(Webhook(rule.address, body, {"content-type": kind}, label=label))

    async def receipts(self, request: Request, user: ClickSendUser) -> Response:
        return self._page(request, list(reversed(user.receipts)), "/v3/sms/receipts", "Here are your delivery receipts.")

    async def receipt(self, request: Request, user: ClickSendUser) -> Response:
        message_id = request.path_params["message_id"].upper()
        for entry in reversed(user.receipts):
            if entry["message_id"] == message_id:
                return envelope(200, "SUCCESS", "Here is your receipt.", entry)
        raise ClickSendError(404, "NOT_FOUND", f"No receipt for message {message_id}.")

    async def receipts_read(self, request: Request, user: ClickSendUser) -> Response:
        data = await self._json(request) if (await request.body()).strip() else {}
        before = data.get("date_before")
        if before is None:
            user.receipts.clear()
        else:
            user.receipts = deque((r for r in user.receipts if r["timestamp"] >= _number(before)),
                                  maxlen=user.receipts.maxlen)
        return envelope(200, "SUCCESS", "Receipts have been marked as read.", None)

    # ------------------------------------------------------------------ inbound

    def _inbound(self, user: ClickSendUser, item: Inbound) -> None:
        core = item.message
        original = user.last_to.get((core_address(core.source), core_address(core.destination)))
        text = core.text
        entry = {
            "timestamp": int(core.submitted_at), "from": e164(core.source), "body": text,
            "original_body": original.body if original else "",
            "original_message_id": original.message_id if original else "", "to": e164(core.destination),
            "custom_string": original.custom_string if original else "", "message_id": core.id.upper(),
            "_keyword": text.split(None, 1)[0].lower() if text.strip() else "",
        }
        user.inbound.append(entry)
        for rule in user.inbound_rules:
            number = rule.dedicated_number
            if rule.enabled and rule.action.upper() == "URL" and rule.address and (
                    number in ("*", "") or core_address(number) == core_address(core.destination)):
                fields = {**entry, "message": text, "user_id": user.user_id, "subaccount_id": user.user_id}
                self._push(rule, fields, f"clicksend inbound {entry['message_id']}")

    async def inbound(self, request: Request, user: ClickSendUser) -> Response:
        return self._page(request, list(reversed(user.inbound)), "/v3/sms/inbound", "Here are your data.")

    async def inbound_read(self, request: Request, user: ClickSendUser) -> Response:
        user.inbound.clear()
        return envelope(200, "SUCCESS", "Inbound messages have been marked as read.", None)

    # ------------------------------------------------------------------ automation rules

    async def create_receipt_rule(self, request: Request, user: ClickSendUser) -> Response:
        data = await self._json(request)
        rule = self._rule(data)
        user.receipt_rules.append(rule)
        return envelope(200, "SUCCESS", "New rule has been created.", _rule_json(rule, "receipt"))

    async def list_receipt_rules(self, request: Request, user: ClickSendUser) -> Response:
        return self._page(request, [_rule_json(r, "receipt") for r in user.receipt_rules],
                          "/v3/automations/sms/receipts", "Here are your automation receipts.")

    async def create_inbound_rule(self, request: Request, user: ClickSendUser) -> Response:
        data = await self._json(request)
        rule = self._rule(data)
        rule.dedicated_number = str(data.get("dedicated_number") or "*")
        rule.webhook_type = str(data.get("webhook_type") or "post").lower()
        if rule.webhook_type not in ("post", "json"):
            raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"webhook_type": "must be post or json"})
        user.inbound_rules.append(rule)
        return envelope(200, "SUCCESS", "New rule has been created.", _rule_json(rule, "inbound"))

    async def list_inbound_rules(self, request: Request, user: ClickSendUser) -> Response:
        return self._page(request, [_rule_json(r, "inbound") for r in user.inbound_rules],
                          "/v3/automations/sms/inbound", "Here are your automation inbound rules.")

    def _rule(self, data: dict[str, Any]) -> Rule:
        action = data.get("action")
        address = data.get("action_address")
        if not isinstance(action, str) or not action:
            raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"action": "The action field is required."})
        if action.upper() == "URL" and not (isinstance(address, str) and address.startswith(("http://", "https://"))):
            raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"action_address": "must be a URL"})
        enabled = data.get("enabled", 1)
        return Rule(next(self._rule_ids), str(data.get("rule_name") or ""), action, str(address or ""),
                    1 if enabled in (1, True, "1") else 0, int(data.get("match_type") or 0))

    # ------------------------------------------------------------------ pagination

    def _page(self, request: Request, items: list[Any], path: str, message: str) -> Response:
        params = request.query_params
        page = _page_param(params.get("page"), 1, "page")
        limit = _page_param(params.get("limit"), 15, "limit")
        if not 15 <= limit <= 100:
            raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"limit": "must be between 15 and 100"})
        last = max(1, math.ceil(len(items) / limit))
        start = (page - 1) * limit
        chunk = items[start:start + limit]
        base = f"{request.url.scheme}://{request.url.netloc}{path}"
        return envelope(200, "SUCCESS", message, {
            "total": len(items), "per_page": limit, "current_page": page, "last_page": last,
            "next_page_url": f"{base}?page={page + 1}&limit={limit}" if page < last else None,
            "prev_page_url": f"{base}?page={page - 1}&limit={limit}" if page > 1 else None,
            "from": start + 1 if chunk else None, "to": start + len(chunk) if chunk else None, "data": chunk,
        })

    def reset(self) -> None:
        for user in self.users.values():
            user.receipts.clear()
            user.inbound.clear()
            user.sent.clear()
            user.last_to.clear()


def _message_problem(m: Any) -> str:
    if not isinstance(m, dict):
        return "must be an object"
    if not isinstance(m.get("body"), str):
        return "The body field is required and must be a string."
    if m.get("to") is None and m.get("list_id") is None:
        return "The to field is required when list_id is not present."
    if m.get("list_id") is not None and m.get("to") is None:
        return "Contact lists are not supported by carrier-sim: give 'to'."
    if not isinstance(m.get("to"), str):
        return "The to field must be a string."
    for name in ("from", "custom_string", "source", "country", "from_email"):
        if m.get(name) is not None and not isinstance(m.get(name), str):
            return f"The {name} field must be a string."
    schedule = m.get("schedule")
    if schedule is not None and (isinstance(schedule, bool) or not isinstance(schedule, (int, float))
                                 or schedule < 0 or schedule > 1 << 40):
        return "The schedule field must be a Unix time."
    return ""


def _rule_json(rule: Rule, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {f"{kind}_rule_id": rule.rule_id, "rule_name": rule.name, "action": rule.action,
                            "action_address": rule.address, "enabled": rule.enabled}
    if kind == "receipt":
        data["match_type"] = rule.match_type
    else:
        data.update(dedicated_number=rule.dedicated_number, message_search_type=rule.match_type,
                    message_search_term="", body="", webhook_type=rule.webhook_type)
    return data


def _country(to: str) -> str:
    bare = to.lstrip("+")
    for prefix, country in COUNTRIES:
        if bare.startswith(prefix):
            return country
    return ""


def _page_param(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {name: "must be a positive integer"})
    return int(value)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ClickSendError(400, "BAD_REQUEST", "Invalid input.", {"date_before": "must be a Unix time"}) from None
