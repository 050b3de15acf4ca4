"""Infobip SMS API (/sms/2/text/advanced, /sms/3/messages, reports and inbox) in front of the carrier core."""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulator.config import InfobipAccountConfig, InfobipConfig
from simulator.core.records import Inbound, Item, MessageState, Receipt
from simulator.core.scheduler import Timer
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

from .common import (
    BodyTooLarge, FrontEnd, JsonResponse, core_address, dumps, encode_text, first_part, guarded, inbound_segments,
    is_phone_number, is_url, parse_json, read_body, register_account, submit_text, system_id_for,
)
from .webhooks import MailboxEndpoint, Webhook

__all__ = ["InfobipApi", "InfobipMessage"]

_log = logging.getLogger("carrier_sim.http.infobip")

BATCH = 100  # delivery reports per push request
MAX_PULL = 1000
DEFAULT_PULL = 50
MAX_VALIDITY_MINUTES = 2880


def _status(group_id: int, group: str, status_id: int, name: str, description: str) -> dict[str, Any]:
    return {"groupId": group_id, "groupName": group, "id": status_id, "name": name, "description": description}


# Status and error objects as Infobip writes them (groups 1 PENDING, 2 UNDELIVERABLE, 3 DELIVERED, 4 EXPIRED,
# 5 REJECTED; the ids are Infobip's documented ones for the common cases).
PENDING_ACCEPTED = _status(1, "PENDING", 26, "PENDING_ACCEPTED", "Message sent to next instance")
PENDING_ENROUTE = _status(1, "PENDING", 7, "PENDING_ENROUTE", "Message sent to next instance")
REJECTED_DESTINATION = _status(5, "REJECTED", 51, "MISSING_TO", "Missing destination.")
REJECTED_INVALID = _status(5, "REJECTED", 52, "REJECTED_DESTINATION", "Invalid destination address.")
REJECTED_OPTOUT = _status(5, "REJECTED", 10, "REJECTED_DND", "The destination opted out of this sender.")
REJECTED_NETWORK = _status(5, "REJECTED", 6, "REJECTED_NETWORK", "Network is forbidden.")
REJECTED_FLOODING = _status(5, "REJECTED", 20, "REJECTED_FLOODING_FILTER", "Message rejected by the flooding filter.")
FINAL_STATUS = {
    MessageState.DELIVERED: _status(3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset"),
    MessageState.ACCEPTED: _status(3, "DELIVERED", 2, "DELIVERED_TO_OPERATOR", "Message delivered to operator"),
    MessageState.UNDELIVERABLE: _status(2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED",
                                        "Message sent not delivered"),
    MessageState.REJECTED: _status(2, "UNDELIVERABLE", 4, "UNDELIVERABLE_REJECTED_OPERATOR",
                                   "Message rejected by operator"),
    MessageState.EXPIRED: _status(4, "EXPIRED", 15, "EXPIRED_EXPIRED", "Message expired"),
    MessageState.UNKNOWN: _status(4, "EXPIRED", 29, "EXPIRED_DLR_UNKNOWN", "Message expired, delivery unknown"),
    MessageState.DELETED: _status(5, "REJECTED", 18, "REJECTED_CANCELLED", "Message cancelled"),
    MessageState.SKIPPED: _status(5, "REJECTED", 21, "REJECTED_SYSTEM_ERROR", "System error"),
}
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "description": "No Error", "permanent": False}
_ERROR_NAMES = {1: "EC_UNKNOWN_SUBSCRIBER", 5: "EC_UNIDENTIFIED_SUBSCRIBER", 9: "EC_ILLEGAL_SUBSCRIBER",
                11: "EC_TELESERVICE_NOT_PROVISIONED", 13: "EC_CALL_BARRED", 27: "EC_ABSENT_SUBSCRIBER",
                31: "EC_SUBSCRIBER_BUSY_FOR_MT_SMS", 34: "EC_SYSTEM_FAILURE"}


def error_object(state: MessageState, err: int) -> dict[str, Any]:
    if state in (MessageState.DELIVERED, MessageState.ACCEPTED):
        return NO_ERROR
    code = err or (27 if state is MessageState.EXPIRED else 1)
    group = (3, "OPERATOR_ERRORS") if state is MessageState.REJECTED else (1, "HANDSET_ERRORS")
    return {"groupId": group[0], "groupName": group[1], "id": code, "name": _ERROR_NAMES.get(code, f"EC_ERROR_{code}"),
            "description": _ERROR_NAMES.get(code, f"Error {code}").replace("EC_", "").replace("_", " ").title(),
            "permanent": state in (MessageState.REJECTED, MessageState.UNDELIVERABLE)}


def infobip_time(when: float | None) -> str | None:
    """yyyy-MM-dd'T'HH:mm:ss.SSSZ, as Infobip writes times."""
    if when is None:
        return None
    t = datetime.fromtimestamp(when, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


class InfobipError(Exception):
    def __init__(self, status: int, code: str, text: str, violations: list[dict[str, str]] | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text
        self.violations = violations or []


def v2_error(status: int, code: str, text: str) -> Response:
    return JsonResponse({"requestError": {"serviceException": {"messageId": code, "text": text}}}, status)


def v3_error(status: int, code: str, text: str, violations: list[dict[str, str]] | None = None) -> Response:
    return JsonResponse({"errorCode": f"E{status}", "description": text, "action": _ACTIONS.get(status, ""),
                         "violations": violations or [], "resources": []}, status)


_ACTIONS = {400: "Check the syntax, violations and adjust the request.", 401: "Check the credentials.",
            429: "Slow down and retry later.", 500: "Retry later."}


@dataclass(slots=True, eq=False)
class InfobipAccount:
    name: str
    system_id: str
    numbers: dict[str, str] = field(default_factory=dict)  # core address -> forward URL
    reports: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100_000))  # for GET /sms/1/reports
    inbox: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100_000))  # for /sms/1/inbox/reports


@dataclass(slots=True, eq=False)
class InfobipMessage:
    """One destination of a request: what its delivery report needs."""

    account: InfobipAccount
    message_id: str
    bulk_id: str
    to: str
    sender: str
    sms_count: int
    notify_url: str  # "" : reports are pulled
    callback_data: str | None
    intermediate: bool
    version: int  # 2 or 3
    sent_at: float
    reported: bool = False


@dataclass(slots=True, eq=False)
class _Batch:
    url: str
    results: list[dict[str, Any]] = field(default_factory=list)
    timer: Timer | None = None


class InfobipApi:
    def __init__(self, front: FrontEnd, config: InfobipConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.poster = front.poster
        self.config = config
        self.clock = self.carrier.clock
        self.open_mode = not config.accounts
        self.accounts: dict[str, InfobipAccount] = {}  # by name
        self._credentials: dict[str, InfobipAccount] = {}  # "App key", "Basic user:pass", "Token t"
        self._batches: dict[str, _Batch] = {}
        self._bulk_prefix = os.urandom(4).hex()
        self._bulks = count(1)
        for account_config in config.accounts:
            self._add(account_config)

    # ------------------------------------------------------------------ accounts

    def _add(self, cfg: InfobipAccountConfig) -> InfobipAccount:
        account = InfobipAccount(cfg.name, system_id_for("ib-", cfg.name),
                                 {core_address(n.number): n.forward_url for n in cfg.numbers})
        if cfg.api_key:
            self._credentials[f"App {cfg.api_key}"] = account
        if cfg.username:
            self._credentials[f"Basic {cfg.username}:{cfg.password}"] = account
        if cfg.token:
            self._credentials[f"Token {cfg.token}"] = account
        self._attach(account)
        return account

    def _attach(self, account: InfobipAccount) -> None:
        self.accounts[account.name] = account
        register_account(self.carrier, account.system_id, account.numbers)
        self.carrier.outbox.attach(MailboxEndpoint(self.carrier.outbox, self.carrier.scheduler, account.system_id,
                                                   lambda item, a=account: self._on_item(a, item), self.poster))

    def _authenticate(self, request: Request) -> InfobipAccount:
        credential = _credential(request.headers.get("authorization", ""))
        if credential is None:
            raise InfobipError(401, "UNAUTHORIZED", "Invalid login details")
        account = self._credentials.get(credential)
        if account is None:
            if not self.open_mode:
                raise InfobipError(401, "UNAUTHORIZED", "Invalid login details")
            account = InfobipAccount(credential, system_id_for("ib-", credential))
            self._credentials[credential] = account
            self._attach(account)
        return account

    # ------------------------------------------------------------------ app

    def app(self) -> ASGIApp:
        routes = [
            Route("/sms/2/text/advanced", self._endpoint(self.send_v2, 2), methods=["POST"]),
            Route("/sms/3/messages", self._endpoint(self.send_v3, 3), methods=["POST"]),
            Route("/sms/1/reports", self._endpoint(self.reports, 2), methods=["GET"]),
            Route("/sms/3/reports", self._endpoint(self.reports, 3), methods=["GET"]),
            Route("/sms/1/inbox/reports", self._endpoint(self.inbox, 2), methods=["GET"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 405:
                return v2_error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}")
            return v2_error(404, "NOT_FOUND", f"No resource at {request.url.path}")

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return guarded(app, lambda error: v2_error(500, "GENERAL_ERROR", "Something went wrong."), "infobip")

    def _endpoint(self, handler, version: int):
        async def endpoint(request: Request) -> Response:
            try:
                account = self._authenticate(request)
                return await handler(request, account)
            except InfobipError as error:
                if version == 3:
                    return v3_error(error.status, error.code, error.text, error.violations)
                return v2_error(error.status, error.code, error.text)
            except BodyTooLarge:
                if version == 3:
                    return v3_error(413, "PAYLOAD_TOO_LARGE", "Request body too large.")
                return v2_error(413, "PAYLOAD_TOO_LARGE", "Request body too large.")

        return endpoint

    async def _json(self, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        try:
            data = parse_json(body)
        except ValueError:
            raise InfobipError(400, "BAD_REQUEST", "Bad request: the body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise InfobipError(400, "BAD_REQUEST", "Bad request: the body must be a JSON object.")
        return data

    # ------------------------------------------------------------------ sending

    async def send_v2(self, request: Request, account: InfobipAccount) -> Response:
        data = await self._json(request)
        messages = _list(data.get("messages"), "messages")
        bulk_id = _str(data.get("bulkId"), "bulkId") or self._bulk_id()
        jobs = []
        for i, m in enumerate(messages):
            where = f"messages[{i}]"
            if not isinstance(m, dict):
                raise _invalid(where, "must be an object")
            destinations = _destinations(m.get("destinations"), f"{where}.destinations")
            text = _str(m.get("text"), f"{where}.text") or ""
            sender = _str(m.get("from"), f"{where}.from") or "InfoSMS"
            validity = m.get("validityPeriod")
            if validity is not None and (not isinstance(validity, int) or isinstance(validity, bool) or
                                         not 1 <= validity <= MAX_VALIDITY_MINUTES):
                raise _invalid(f"{where}.validityPeriod", f"must be 1-{MAX_VALIDITY_MINUTES} minutes")
            send_at = _time(m.get("sendAt"), f"{where}.sendAt")
            jobs.append((destinations, text, sender, _url(m.get("notifyUrl"), f"{where}.notifyUrl"),
                         _str(m.get("callbackData"), f"{where}.callbackData"), bool(m.get("intermediateReport")),
                         validity, send_at))
        self._check_size(jobs, account)
        results = []
        for destinations, text, sender, notify, callback_data, intermediate, validity, send_at in jobs:
            for to, given_id in destinations:
                message_id, status, count_ = self._send(account, bulk_id, to, given_id, text, sender, notify,
                                                        callback_data, intermediate, validity, send_at, 2)
                results.append({"to": to, "messageId": message_id, "status": status, "smsCount": count_})
        return JsonResponse({"bulkId": bulk_id, "messages": results})

    async def send_v3(self, request: Request, account: InfobipAccount) -> Response:
        data = await self._json(request)
        messages = _list(data.get("messages"), "messages")
        options = data.get("options") if isinstance(data.get("options"), dict) else {}
        schedule = options.get("schedule") if isinstance(options.get("schedule"), dict) else {}
        bulk_id = _str(schedule.get("bulkId"), "options.schedule.bulkId") or self._bulk_id()
        send_at = _time(schedule.get("sendAt"), "options.schedule.sendAt")
        jobs = []
        for i, m in enumerate(messages):
            where = f"messages[{i}]"
            if not isinstance(m, dict):
                raise _invalid(where, "must be an object")
            destinations = _destinations(m.get("destinations"), f"{where}.destinations")
            content = m.get("content")
            if not isinstance(content, dict):
                raise _invalid(f"{where}.content", "must not be null")
            text = _str(content.get("text"), f"{where}.content.text")
            if text is None:
                raise _invalid(f"{where}.content.text", "must not be null")
            sender = _str(m.get("sender"), f"{where}.sender") or "InfoSMS"
            webhooks = m.get("webhooks") if isinstance(m.get("webhooks"), dict) else {}
            delivery = webhooks.get("delivery") if isinstance(webhooks.get("delivery"), dict) else {}
            notify = _url(delivery.get("url"), f"{where}.webhooks.delivery.url")
            if delivery.get("notify") is False:
                notify = "-"  # reports neither pushed nor kept for pulling
            msg_options = m.get("options") if isinstance(m.get("options"), dict) else {}
            validity = _validity_v3(msg_options.get("validityPeriod"), f"{where}.options.validityPeriod")
            jobs.append((destinations, text, sender, notify, _str(webhooks.get("callbackData"),
                                                                   f"{where}.webhooks.callbackData"),
                         bool(delivery.get("intermediateReport")), validity, send_at))
        self._check_size(jobs, account)
        results = []
        for destinations, text, sender, notify, callback_data, intermediate, validity, when in jobs:
            for to, given_id in destinations:
                message_id, status, count_ = self._send(account, bulk_id, to, given_id, text, sender, notify,
                                                        callback_data, intermediate, validity, when, 3)
                results.append({"messageId": message_id, "status": status, "destination": to,
                                "details": {"messageCount": count_}})
        return JsonResponse({"bulkId": bulk_id, "messages": results})

    def _check_size(self, jobs: list, account: InfobipAccount) -> None:
        core = self.carrier.accounts.get(account.system_id)
        if core is not None and core.bucket.available() < 1:
            raise InfobipError(429, "TOO_MANY_REQUESTS", "Too many requests")
        total = sum(len(job[0]) for job in jobs)
        if total > self.config.max_messages:
            raise InfobipError(400, "BAD_REQUEST", f"Bad request: at most {self.config.max_messages} destinations "
                                                   f"per request, got {total}.")

    def _bulk_id(self) -> str:
        return f"{self._bulk_prefix}-{next(self._bulks)}"

    def _send(self, account: InfobipAccount, bulk_id: str, to: str, given_id: str | None, text: str, sender: str,
              notify: str, callback_data: str | None, intermediate: bool, validity: int | None,
              send_at: float | None, version: int) -> tuple[str, dict[str, Any], int]:
        if not is_phone_number(to):
            return given_id or self._bulk_id(), REJECTED_INVALID, 0
        try:
            encoded = encode_text(text)
        except sms_text.TextEncodingError:
            return given_id or self._bulk_id(), _status(5, "REJECTED", 25, "REJECTED_MESSAGE_TOO_LONG",
                                                        "Message too long."), 0
        now = self.clock.wall()
        record = InfobipMessage(account, given_id or "", bulk_id, to, sender, encoded.segments, notify,
                                callback_data, intermediate, version, max(now, send_at or now))
        expire_at = (max(now, send_at or now) + validity * 60) if validity else None
        result = submit_text(self.carrier, account.system_id, "http", core_address(sender), core_address(to), encoded,
                             intermediate=intermediate, ref=record, schedule_at=send_at, expire_at=expire_at)
        if not result.ok:
            if result.status in (Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL):
                return given_id or self._bulk_id(), REJECTED_FLOODING, encoded.segments
            opted_out = self.carrier.handsets.opted_out(core_address(to), core_address(sender))
            status = REJECTED_OPTOUT if opted_out else (REJECTED_INVALID if result.status == Status.ESME_RINVDSTADR
                                                        else REJECTED_NETWORK)
            return given_id or self._bulk_id(), status, encoded.segments
        record.message_id = given_id or result.message_id
        return record.message_id, PENDING_ACCEPTED, encoded.segments

    # ------------------------------------------------------------------ reports

    def _on_item(self, account: InfobipAccount, item: Item) -> None:
        if isinstance(item, Receipt):
            record = item.message.ref
            if isinstance(record, InfobipMessage) and not record.reported:
                if item.intermediate and not record.intermediate:
                    return
                if not item.intermediate:
                    record.reported = True
                self._report(record, item)
        elif isinstance(item, Inbound) and first_part(item):
            self._inbound(account, item)

    def _report(self, record: InfobipMessage, receipt: Receipt) -> None:
        config = self.config
        status = PENDING_ENROUTE if receipt.intermediate else FINAL_STATUS.get(receipt.state, FINAL_STATUS[
            MessageState.UNDELIVERABLE])
        result: dict[str, Any] = {
            "bulkId": record.bulk_id, "messageId": record.message_id, "to": record.to, "sender": record.sender,
            "sentAt": infobip_time(record.sent_at), "doneAt": infobip_time(receipt.done_at),
            ("smsCount" if record.version == 2 else "messageCount"): record.sms_count, "mccMnc": None,
            "callbackData": record.callback_data,
            "price": {"pricePerMessage": config.price_per_message, "currency": config.currency},
            "status": status,
            "error": NO_ERROR if receipt.intermediate else error_object(receipt.state, receipt.error),
        }
        if record.notify_url == "-":
            return
        if not record.notify_url:
            record.account.reports.append(result)
            return
        batch = self._batches.get(record.notify_url)
        if batch is None:
            batch = self._batches[record.notify_url] = _Batch(record.notify_url)
        if batch.timer is None or not batch.timer.pending:  # new, or its timer went with a carrier reset
            batch.timer = self.carrier.scheduler.call_later(config.report_batch_window, self._flush, batch.url)
        batch.results.append(result)
        if len(batch.results) >= BATCH:
            self._flush(batch.url)

    def _flush(self, url: str) -> None:
        batch = self._batches.pop(url, None)
        if batch is None or not batch.results:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        self.poster.post(Webhook(url, dumps({"results": batch.results}), {"content-type": "application/json"},
                                 label=f"infobip reports x{len(batch.results)}"))

    async def reports(self, request: Request, account: InfobipAccount) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"))
        bulk_id = params.get("bulkId")
        message_id = params.get("messageId")
        taken, kept = [], deque(maxlen=account.reports.maxlen)
        for report in account.reports:
            if len(taken) < limit and (bulk_id is None or report["bulkId"] == bulk_id) and (
                    message_id is None or report["messageId"] == message_id):
                taken.append(report)  # each report is returned once, as Infobip does
            else:
                kept.append(report)
        account.reports = kept
        return JsonResponse({"results": taken})

    # ------------------------------------------------------------------ inbound

    def _inbound(self, account: InfobipAccount, item: Inbound) -> None:
        core = item.message
        text = core.text
        keyword = text.split(None, 1)[0].upper() if text.strip() else ""
        result = {
            "messageId": core.id, "from": core.source, "to": core.destination, "text": text,
            "cleanText": text[len(keyword):].strip() if keyword else text, "keyword": keyword,
            "receivedAt": infobip_time(core.submitted_at), "smsCount": inbound_segments(core),
            "price": {"pricePerMessage": 0, "currency": self.config.currency}, "callbackData": None,
        }
        url = account.numbers.get(core_address(core.destination), "")
        if not url:
            account.inbox.append(result)
            return
        body = dumps({"results": [result], "messageCount": 1, "pendingMessageCount": 0})
        self.poster.post(Webhook(url, body, {"content-type": "application/json"}, label=f"infobip inbound {core.id}"))

    async def inbox(self, request: Request, account: InfobipAccount) -> Response:
        limit = _limit(request.query_params.get("limit"))
        taken = [account.inbox.popleft() for _ in range(min(limit, len(account.inbox)))]
        return JsonResponse({"results": taken, "messageCount": len(taken), "pendingMessageCount": len(account.inbox)})

    def reset(self) -> None:
        for batch in self._batches.values():
            if batch.timer is not None:
                batch.timer.cancel()
        self._batches.clear()
        for account in self.accounts.values():
            account.reports.clear()
            account.inbox.clear()


# ---------------------------------------------------------------------------- request parsing


def _credential(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    scheme = scheme.lower()
    if scheme == "app":
        return f"App {value}"
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return f"Basic {decoded}" if ":" in decoded else None
    if scheme in ("ibsso", "bearer"):
        return f"Token {value}"
    return None


def _invalid(where: str, violation: str) -> InfobipError:
    return InfobipError(400, "BAD_REQUEST", f"Bad request: {where} {violation}.",
                        [{"property": where, "violation": violation}])


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _invalid(where, "must not be empty")
    return value


def _str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _invalid(where, "must be a string")
    return str(value)


def _url(value: Any, where: str) -> str:
    text = _str(value, where) or ""
    if text and not is_url(text):
        raise _invalid(where, "must be an http or https URL")
    return text


def _destinations(value: Any, where: str) -> list[tuple[str, str | None]]:
    out = []
    for i, destination in enumerate(_list(value, where)):
        if not isinstance(destination, dict):
            raise _invalid(f"{where}[{i}]", "must be an object")
        to = _str(destination.get("to"), f"{where}[{i}].to")
        if not to:
            raise _invalid(f"{where}[{i}].to", "must not be blank")
        out.append((to.strip(), _str(destination.get("messageId"), f"{where}[{i}].messageId")))
    return out


def _time(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(where, "must be a date-time string")
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00 for fromisoformat
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(where, "must be yyyy-MM-dd'T'HH:mm:ss.SSSZ") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _validity_v3(value: Any, where: str) -> int | None:
    """Minutes: a number, or {amount, timeUnit: MINUTES|HOURS}."""
    if value is None:
        return None
    if isinstance(value, dict):
        amount = value.get("amount")
        unit = str(value.get("timeUnit", "MINUTES")).upper()
        if not isinstance(amount, int) or isinstance(amount, bool) or unit not in ("MINUTES", "HOURS"):
            raise _invalid(where, "must be {amount, timeUnit: MINUTES or HOURS}")
        value = amount * (60 if unit == "HOURS" else 1)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VALIDITY_MINUTES:
        raise _invalid(where, f"must be 1-{MAX_VALIDITY_MINUTES} minutes")
    return value


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PULL
    if not value.isdigit() or not 1 <= int(value) <= MAX_PULL:
        raise InfobipError(400, "BAD_REQUEST", f"Bad request: limit must be 1-{MAX_PULL}.")
    return int(value)
