"""Twilio Programmable Messaging API (2010-04-01 Messages and IncomingPhoneNumbers) in front of the carrier core."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import os
import re
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulator.config import TwilioAccountConfig, TwilioConfig, TwilioNumberConfig
from simulator.core.records import Inbound, Item, MessageState, Receipt
from simulator.core.scheduler import Timer
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

from .client import Response as WebhookResponse
from .common import (
    BodyTooLarge, Encoded, FrontEnd, JsonResponse, add_number, core_address, e164, encode_text, first_part, form_encode,
    guarded, inbound_segments, is_url, parse_form, read_body, register_account, remove_number, submit_text,
    system_id_for,
)
from .webhooks import MailboxEndpoint, Webhook, twilio_signature

__all__ = ["TwilioApi", "TwilioMessage", "TwilioError"]

_log = logging.getLogger("carrier_sim.http.twilio")

API_VERSION = "2010-04-01"
PREFIX = f"/{API_VERSION}"
MAX_BODY = 1600  # characters of Body Twilio accepts (21617 beyond)
MAX_MEDIA = 10
MAX_VALIDITY = 36_000  # seconds
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
OPEN_MODE_SENDER = "+15005550006"  # what a Messaging Service sends from when no sender pool is configured
TOLL_FREE_AREAS = ("800", "833", "844", "855", "866", "877", "888")

# Statuses after which nothing changes any more.
FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "received", "read"})
IN_PROGRESS = frozenset({"accepted", "scheduled", "queued", "sending"})

ERROR_MESSAGES = {
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number is not currently reachable using the 'From' phone number via SMS",
    21614: "'To' number is not a valid mobile number",
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30036: "Validity Period Expired",
}

# The +1 500 555 0xxx numbers that test credentials answer with documented errors.
MAGIC_FROM = {"+15005550001": 21212, "+15005550007": 21606, "+15005550008": 21611}
MAGIC_TO = {"+15005550001": 21211, "+15005550002": 21612, "+15005550003": 21408, "+15005550004": 21610,
            "+15005550009": 21614}

# A carrier refusing the submit (SMPP command_status) becomes this error on the failed message.
SUBMIT_ERRORS = {Status.ESME_RINVDSTADR: 30005, Status.ESME_RSUBMITFAIL: 30007}
RETRY_STATUSES = frozenset({Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL})  # retried until the validity period ends
RETRY_DELAY = 1.0

_SID_CHARS = re.compile(r"[A-Za-z0-9]{2,64}")
_E164 = re.compile(r"\+?[1-9][0-9]{1,14}")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]{1,11}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class TwilioError(Exception):
    """Answered as Twilio's error body: {code, message, more_info, status}."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JsonResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                         "status": status}, status, headers)


def _bad(code: int, message: str) -> TwilioError:
    return TwilioError(400, code, message)


# ---------------------------------------------------------------------------- records


@dataclass(slots=True, eq=False)
class TwilioNumber:
    """A phone number of an account, as IncomingPhoneNumbers shows it."""

    sid: str
    account_sid: str
    number: str  # as configured, E.164
    kind: str
    mps: float
    sms_url: str = ""
    sms_method: str = "POST"
    status_callback: str = ""
    friendly_name: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True, eq=False)
class TwilioAccount:
    sid: str
    token: str
    system_id: str  # its carrier account
    test: bool = False
    keys: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, TwilioNumber] = field(default_factory=dict)  # by core address (digits)
    services: dict[str, list[str]] = field(default_factory=dict)  # MG sid -> sender pool
    service_callbacks: dict[str, str] = field(default_factory=dict)
    in_flight: int = 0  # API requests being answered (20429 beyond twilio.max_concurrent)
    created_at: float = 0.0
    turn: int = 0  # round robin over a service's pool


@dataclass(slots=True, eq=False)
class TwilioMessage:
    """A Message resource with the state Twilio shows for it."""

    sid: str
    account: TwilioAccount
    from_: str  # as the API shows it (E.164 for numbers)
    to: str
    body: str
    direction: str  # outbound-api, outbound-reply or inbound
    status: str
    created_at: float  # wall clock
    updated_at: float
    num_segments: int = 1
    media: list[str] = field(default_factory=list)
    data_coding: int = 0
    sent_at: float | None = None
    price: str | None = None
    error_code: int | None = None
    messaging_service_sid: str | None = None
    status_callback: str = ""
    send_at: float | None = None  # wall clock, ScheduleType=fixed
    expire_at: float | None = None  # wall clock: end of ValidityPeriod
    encoded: Encoded | None = None  # the parts waiting to go to the carrier (dropped once they have)
    timer: Timer | None = None  # SendAt, or a retry after the carrier throttled
    core_ids: list[str] = field(default_factory=list)  # the carrier's message ids, one per segment
    attempts: int = 0

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(slots=True, eq=False)
class _Sender:
    """One sender's throughput queue: drains at its MPS (in segments), one timer for the queue."""

    key: tuple[str, str]
    mps: float
    queue: deque[tuple[float, TwilioMessage]] = field(default_factory=deque)  # (release at, message)
    next_free: float = 0.0  # monotonic time the queue is free from
    timer: Timer | None = None


# ---------------------------------------------------------------------------- rendering

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(when: float | None) -> str | None:
    """Unix seconds as Twilio writes dates: 'Thu, 30 Jul 2015 20:12:31 +0000'."""
    if when is None:
        return None
    return _rfc2822_second(int(when // 1))


@functools.lru_cache(maxsize=64)
def _rfc2822_second(second: int) -> str:
    # Every message's JSON and callback carries two or three dates, nearly all in the current second.
    t = datetime.fromtimestamp(second, timezone.utc)
    return (f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000")


def message_json(m: TwilioMessage, price_unit: str = "USD") -> dict[str, Any]:
    account = m.account.sid
    uri = f"{PREFIX}/Accounts/{account}/Messages/{m.sid}"
    return {
        "account_sid": account,
        "api_version": API_VERSION,
        "body": m.body,
        "date_created": rfc2822(m.created_at),
        "date_sent": rfc2822(m.sent_at),
        "date_updated": rfc2822(m.updated_at),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": ERROR_MESSAGES.get(m.error_code) if m.error_code else None,
        "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": str(len(m.media)),
        "num_segments": str(m.num_segments),
        "price": m.price,
        "price_unit": price_unit,
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": m.to,
        "uri": f"{uri}.json",
    }


def number_json(n: TwilioNumber) -> dict[str, Any]:
    return {
        "account_sid": n.account_sid,
        "address_requirements": "none",
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {"voice": False, "sms": True, "mms": n.kind != "alphanumeric", "fax": False},
        "date_created": rfc2822(n.created_at),
        "date_updated": rfc2822(n.updated_at),
        "friendly_name": n.friendly_name or n.number,
        "phone_number": n.number,
        "origin": "twilio",
        "sid": n.sid,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": n.status_callback,
        "status": "in-use",
        "type": n.kind,
        "uri": f"{PREFIX}/Accounts/{n.account_sid}/IncomingPhoneNumbers/{n.sid}.json",
    }


# ---------------------------------------------------------------------------- parameters


class Form:
    """A form-encoded body or query string: first value by name, every value for repeats."""

    __slots__ = ("pairs", "first")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        first: dict[str, str] = {}
        for name, value in pairs:
            first.setdefault(name, value)
        self.first = first

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.first.get(name, default)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _parse_when(value: str, name: str, code: int) -> float:
    text = value.strip()
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise _bad(code, f"{name} must be an ISO-8601 time, got {value!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _number_kind(number: str) -> str:
    bare = number.lstrip("+")
    if not bare.isdigit():
        return "alphanumeric"
    if len(bare) <= 6:
        return "short_code"
    if bare.startswith("1") and bare[1:4] in TOLL_FREE_AREAS:
        return "toll_free"
    return "long_code"


# ---------------------------------------------------------------------------- the API


class TwilioApi:
    """Messages (create, fetch, list, update, delete), IncomingPhoneNumbers, callbacks and inbound webhooks."""

    def __init__(self, front: FrontEnd, config: TwilioConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.poster = front.poster
        self.config = config
        self.clock = self.carrier.clock
        self.scheduler = self.carrier.scheduler
        self.open_mode = not config.accounts
        self.accounts: dict[str, TwilioAccount] = {}
        self.messages: dict[str, TwilioMessage] = {}
        self._senders: dict[tuple[str, str], _Sender] = {}
        self._sid_prefix = os.urandom(8).hex()
        self._sids = count(1)
        self._auth_cache: dict[str, tuple[str, str]] = {}
        for account_config in config.accounts:
            self._add_account(account_config)

    # ------------------------------------------------------------------ accounts

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{self._sid_prefix}{next(self._sids):016x}"

    def _add_account(self, cfg: TwilioAccountConfig) -> TwilioAccount:
        now = self.clock.wall()
        account = TwilioAccount(cfg.sid, cfg.auth_token, system_id_for("tw", cfg.sid), cfg.test, dict(cfg.api_keys),
                                created_at=now)
        for number in cfg.numbers:
            self._add_number(account, number)
        for service in cfg.messaging_services:
            account.services[service.sid] = list(service.numbers)
            account.service_callbacks[service.sid] = service.status_callback
        self._attach(account)
        return account

    def _attach(self, account: TwilioAccount) -> None:
        self.accounts[account.sid] = account
        register_account(self.carrier, account.system_id, (n.number for n in account.numbers.values()))
        endpoint = MailboxEndpoint(self.carrier.outbox, self.scheduler, account.system_id,
                                   lambda item, a=account: self._on_item(a, item), self.poster)
        self.carrier.outbox.attach(endpoint)

    def _add_number(self, account: TwilioAccount, cfg: TwilioNumberConfig) -> TwilioNumber:
        now = self.clock.wall()
        kind = cfg.type
        number = TwilioNumber(
            sid=self._sid("PN"), account_sid=account.sid, number=cfg.number, kind=kind,
            mps=cfg.mps or self.config.mps.of(kind), sms_url=cfg.sms_url, sms_method=cfg.sms_method.upper(),
            status_callback=cfg.status_callback, created_at=now, updated_at=now,
        )
        account.numbers[core_address(cfg.number)] = number
        core = self.carrier.accounts.get(account.system_id)
        if core is not None:
            add_number(self.carrier.accounts, core, cfg.number)
        return number

    def _authenticate(self, request: Request, account_sid: str) -> TwilioAccount:
        header = request.headers.get("authorization", "")
        cached = self._auth_cache.get(header)
        if cached is None:
            user, password = _basic(header)
            if len(self._auth_cache) > 10_000:
                self._auth_cache.clear()
            cached = self._auth_cache[header] = (user, password)
        user, password = cached
        if not user:
            raise TwilioError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        account = self.accounts.get(account_sid)
        if account is None:
            if not self.open_mode or not _SID_CHARS.fullmatch(account_sid) or (user != account_sid and
                                                                                not user.startswith("SK")):
                raise TwilioError(401, 20003, "Authentication Error - invalid username")
            # Open mode: any AccountSid works; the token it first used signs its webhooks.
            account = TwilioAccount(account_sid, password, system_id_for("tw", account_sid),
                                    created_at=self.clock.wall())
            self._attach(account)
            return account
        if user == account.sid:
            if password != account.token and not self.open_mode:
                raise TwilioError(401, 20003, "Authentication Error - invalid username or password")
        elif user in account.keys:
            if password != account.keys[user]:
                raise TwilioError(401, 20003, "Authentication Error - invalid API key secret")
        elif not (self.open_mode and user.startswith("SK")):
            raise TwilioError(401, 20003, "Authentication Error - invalid username")
        return account

    # ------------------------------------------------------------------ the app

    def app(self) -> ASGIApp:
        a = f"{PREFIX}/Accounts/{{account}}"
        routes = [
            Route(f"{a}.json", self._endpoint(self.fetch_account), methods=["GET"]),
            Route(f"{a}/Messages.json", self._endpoint(self.create), methods=["POST"]),
            Route(f"{a}/Messages.json", self._endpoint(self.list), methods=["GET"]),
            Route(f"{a}/Messages/{{sid}}.json", self._endpoint(self.fetch), methods=["GET"]),
            Route(f"{a}/Messages/{{sid}}.json", self._endpoint(self.update), methods=["POST"]),
            Route(f"{a}/Messages/{{sid}}.json", self._endpoint(self.delete), methods=["DELETE"]),
            Route(f"{a}/Messages/{{sid}}/Media.json", self._endpoint(self.media), methods=["GET"]),
            Route(f"{a}/IncomingPhoneNumbers.json", self._endpoint(self.create_number), methods=["POST"]),
            Route(f"{a}/IncomingPhoneNumbers.json", self._endpoint(self.list_numbers), methods=["GET"]),
            Route(f"{a}/IncomingPhoneNumbers/{{sid}}.json", self._endpoint(self.fetch_number), methods=["GET"]),
            Route(f"{a}/IncomingPhoneNumbers/{{sid}}.json", self._endpoint(self.update_number), methods=["POST"]),
            Route(f"{a}/IncomingPhoneNumbers/{{sid}}.json", self._endpoint(self.delete_number),
                  methods=["DELETE"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 405:
                return error_response(405, 20004, "Method not allowed")
            return error_response(404, 20404, f"The requested resource {request.url.path} was not found")

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return guarded(app, lambda error: error_response(500, 20500, "An internal server error has occurred"),
                       "twilio")

    def _endpoint(self, handler):
        """Authenticate, apply the concurrency limit and api_latency, and answer TwilioErrors in shape."""
        limit = self.config.max_concurrent
        latency = self.config.api_latency

        async def endpoint(request: Request) -> Response:
            try:
                account = self._authenticate(request, request.path_params["account"])
                if limit and account.in_flight >= limit:
                    raise TwilioError(429, 20429, "Too Many Requests")
                account.in_flight += 1
                try:
                    if latency:
                        await asyncio.sleep(latency)
                    return await handler(request, account)
                finally:
                    account.in_flight -= 1
            except TwilioError as error:
                return error.response()
            except BodyTooLarge:
                return error_response(413, 20001, "Request entity too large")

        return endpoint

    # ------------------------------------------------------------------ Messages

    async def create(self, request: Request, account: TwilioAccount) -> Response:
        form = Form(parse_form(await read_body(request)))
        message = self.create_message(account, form, direction="outbound-api")
        return JsonResponse(message_json(message, self.config.price_unit), 201)

    def create_message(self, account: TwilioAccount, form: Form, *, direction: str) -> TwilioMessage:
        """Validate like Twilio, then queue (or schedule) the message. Raises TwilioError."""
        to = (form.get("To") or "").strip()
        sender = (form.get("From") or "").strip()
        service = (form.get("MessagingServiceSid") or "").strip() or None
        body = form.get("Body")
        media = form.all("MediaUrl")
        if not to:
            raise _bad(21604, "A 'To' phone number is required.")
        if not sender and not service:
            raise _bad(21603, "A 'From' phone number is required.")
        if body is None and not media and not form.get("ContentSid"):
            raise _bad(21602, "Message body is required.")
        body = body or ""
        if to.startswith("whatsapp:") or not _E164.fullmatch(to):
            raise _bad(21211, f"The 'To' number {to} is not a valid phone number.")
        if not to.startswith("+") and len(to) > 6:
            to = "+" + to
        if service is not None and service not in account.services and not self.open_mode:
            raise TwilioError(404, 20404, f"The requested resource /Services/{service} was not found")
        if not sender:
            sender = self._service_sender(account, service)
        magic = self.config.magic_numbers
        if magic and sender in MAGIC_FROM:
            raise _magic(MAGIC_FROM[sender], sender, to)
        if not (_E164.fullmatch(sender) or _ALPHANUMERIC.fullmatch(sender)) or sender.isspace():
            raise _bad(21212, f"The 'From' number {sender} is not a valid phone number, shortcode, "
                              f"or alphanumeric sender ID.")
        if magic and to in MAGIC_TO:
            raise _magic(MAGIC_TO[to], sender, to)
        owned = account.numbers.get(core_address(sender))
        if owned is None and not self.open_mode and sender.lstrip("+").isdigit() and not account.test:
            raise _bad(21606, f"The From phone number {sender} is not a valid, SMS-capable inbound phone number "
                              f"or short code for your account.")
        if len(body) > MAX_BODY:
            raise _bad(21617, "The concatenated message body exceeds the 1600 character limit.")
        if len(media) > MAX_MEDIA:
            raise _bad(21623, f"The number of media files exceeds the limit of {MAX_MEDIA}.")
        if self.carrier.handsets.opted_out(core_address(to), core_address(sender)):
            raise _bad(21610, "Attempt to send to unsubscribed recipient")
        now = self.clock.wall()
        validity = form.get("ValidityPeriod")
        if validity and (not validity.strip().isdigit() or not 1 <= int(validity) <= MAX_VALIDITY):
            raise _bad(21624, "Validity period can only be set to integers between 1 and 36,000 seconds.")
        # Without one, Twilio's default (its maximum) applies: a throttled message is retried that long.
        expire_at = now + int(validity or MAX_VALIDITY)
        send_at = None
        schedule_type = form.get("ScheduleType")
        if schedule_type is not None or form.get("SendAt"):
            if schedule_type != "fixed":
                raise _bad(35111, "ScheduleType must be 'fixed' to schedule a message.")
            if not form.get("SendAt"):
                raise _bad(35114, "SendAt is required to schedule a message.")
            send_at = _parse_when(form.get("SendAt") or "", "SendAt", 35114)
            if send_at < now - 1 or send_at > now + 35 * 86_400:
                raise _bad(35114, "SendAt must be in the future and at most 35 days ahead.")
        try:
            encoded = encode_text(body) if body else Encoded("", 0, [sms_text.Part(b"")])
        except sms_text.TextEncodingError:
            raise _bad(21617, "The concatenated message body exceeds the 1600 character limit.") from None
        segments = 1 if media else encoded.segments  # an MMS is one message whatever its length
        callback = form.get("StatusCallback") or ""
        if callback and not is_url(callback):
            raise _bad(21609, f"The StatusCallback URL {callback} is not a valid URL.")
        if not callback and service:
            callback = account.service_callbacks.get(service, "")
        if not callback and owned is not None:
            callback = owned.status_callback
        message = TwilioMessage(
            sid=self._sid("MM" if media else "SM"), account=account, from_=sender, to=to, body=body,
            direction=direction, status="accepted" if service else "queued", created_at=now, updated_at=now,
            num_segments=segments, media=media, data_coding=encoded.data_coding, messaging_service_sid=service,
            status_callback=callback, send_at=send_at, expire_at=expire_at, encoded=encoded,
        )
        if account.test:
            return message  # test credentials: validated, never sent, never stored
        self._store(message)
        if send_at is not None:
            message.status = "scheduled"
            message.timer = self.scheduler.call_later(max(0.0, send_at - now), self._send_due, message)
        else:
            self._enqueue(message)
        return message

    def _service_sender(self, account: TwilioAccount, service: str | None) -> str:
        pool = account.services.get(service or "") or [n.number for n in account.numbers.values()]
        if not pool:
            if self.open_mode:
                return OPEN_MODE_SENDER
            raise _bad(21703, "The Messaging Service does not have a phone number available to send a message.")
        account.turn += 1
        return pool[account.turn % len(pool)]

    def _store(self, message: TwilioMessage) -> None:
        messages = self.messages
        messages[message.sid] = message
        if len(messages) > self.config.store_capacity:
            del messages[next(iter(messages))]

    async def fetch(self, request: Request, account: TwilioAccount) -> Response:
        return JsonResponse(message_json(self._find(account, request.path_params["sid"]), self.config.price_unit))

    def _find(self, account: TwilioAccount, sid: str) -> TwilioMessage:
        message = self.messages.get(sid)
        if message is None or message.account is not account:
            raise TwilioError(404, 20404, f"The requested resource {PREFIX}/Accounts/{account.sid}/Messages/{sid}.json "
                                          f"was not found")
        return message

    async def update(self, request: Request, account: TwilioAccount) -> Response:
        message = self._find(account, request.path_params["sid"])
        form = Form(parse_form(await read_body(request)))
        status = form.get("Status")
        body = form.get("Body")
        if status is None and body is None:
            raise _bad(20001, "Either Status or Body must be given.")
        if status is not None:
            if status != "canceled":
                raise _bad(20001, f"Status must be 'canceled', got {status!r}.")
            if message.status != "scheduled":
                raise _bad(30409, "This message cannot be canceled.")
            if message.timer is not None:
                message.timer.cancel()
                message.timer = None
            message.encoded = None
            self._set_status(message, "canceled")
        if body is not None:
            if body != "":
                raise _bad(20001, "Body can only be updated to an empty string, to redact the message.")
            message.body = ""
            message.updated_at = self.clock.wall()
        return JsonResponse(message_json(message, self.config.price_unit))

    async def delete(self, request: Request, account: TwilioAccount) -> Response:
        message = self._find(account, request.path_params["sid"])
        if message.status in IN_PROGRESS:
            raise TwilioError(409, 20009, "Cannot delete this resource before it is complete")
        del self.messages[message.sid]
        return Response(status_code=204)

    async def media(self, request: Request, account: TwilioAccount) -> Response:
        message = self._find(account, request.path_params["sid"])
        uri = f"{PREFIX}/Accounts/{account.sid}/Messages/{message.sid}/Media.json"
        items = [{
            "account_sid": account.sid, "content_type": _content_type(url), "date_created": rfc2822(message.created_at),
            "date_updated": rfc2822(message.updated_at), "parent_sid": message.sid,
            "sid": f"ME{message.sid[2:-4]}{i:04x}",
            "uri": f"{PREFIX}/Accounts/{account.sid}/Messages/{message.sid}/Media/ME{message.sid[2:-4]}{i:04x}.json",
        } for i, url in enumerate(message.media)]
        return JsonResponse({"media_list": items, "first_page_uri": f"{uri}?PageSize=50&Page=0", "next_page_uri": None,
                             "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0,
                             "end": max(0, len(items) - 1), "uri": f"{uri}?PageSize=50&Page=0"})

    async def list(self, request: Request, account: TwilioAccount) -> Response:
        params = request.query_params
        page_size = _int_param(params.get("PageSize"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, "PageSize")
        page = _int_param(params.get("Page"), 0, 0, 1 << 30, "Page")
        token = params.get("PageToken") or ""
        to = params.get("To")
        sender = params.get("From")
        on, before, after = (_date_param(params.get(name), name) for name in ("DateSent", "DateSent<", "DateSent>"))
        after_sid = token[2:] if token.startswith("PA") and len(token) > 2 else None

        def matching() -> Iterator[TwilioMessage]:
            for m in reversed(self.messages.values()):
                if m.account is not account:
                    continue
                if to is not None and m.to != to and core_address(m.to) != core_address(to):
                    continue
                if sender is not None and m.from_ != sender and core_address(m.from_) != core_address(sender):
                    continue
                if on or before or after:
                    day = datetime.fromtimestamp(m.sent_at or m.created_at, timezone.utc).strftime("%Y-%m-%d")
                    if (on and day != on) or (before and day > before) or (after and day < after):
                        continue
                yield m

        found: list[TwilioMessage] = []
        resumed = False
        if after_sid is not None:
            # A page token names the last message of the page before, so new messages cannot shift pages.
            seen = False
            for m in matching():
                if seen:
                    found.append(m)
                    if len(found) >= page_size + 1:
                        break
                elif m.sid == after_sid:
                    seen = resumed = True
        if not resumed:
            found = []
            skip = page * page_size
            for i, m in enumerate(matching()):
                if i < skip:
                    continue
                found.append(m)
                if len(found) >= page_size + 1:
                    break
        more = len(found) > page_size
        found = found[:page_size]
        filters = [(name, params[name]) for name in ("To", "From", "DateSent", "DateSent<", "DateSent>")
                   if name in params]
        base = f"{PREFIX}/Accounts/{account.sid}/Messages.json"

        def page_uri(number: int, extra: list[tuple[str, str]] = ()) -> str:  # type: ignore[assignment]
            return f"{base}?{urlencode([*filters, ('PageSize', str(page_size)), ('Page', str(number)), *extra])}"

        start = page * page_size
        return JsonResponse({
            "messages": [message_json(m, self.config.price_unit) for m in found],
            "end": start + max(0, len(found) - 1),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, [("PageToken", f"PA{found[-1].sid}")]) if more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, [("PageToken", token)] if token else []),
        })

    async def fetch_account(self, request: Request, account: TwilioAccount) -> Response:
        uri = f"{PREFIX}/Accounts/{account.sid}"
        return JsonResponse({
            "auth_token": account.token, "date_created": rfc2822(account.created_at),
            "date_updated": rfc2822(account.created_at), "friendly_name": f"carrier-sim {account.sid}",
            "owner_account_sid": account.sid, "sid": account.sid, "status": "active",
            "type": "Trial" if account.test else "Full", "uri": f"{uri}.json",
            "subresource_uris": {"messages": f"{uri}/Messages.json",
                                 "incoming_phone_numbers": f"{uri}/IncomingPhoneNumbers.json"},
        })

    # ------------------------------------------------------------------ IncomingPhoneNumbers

    async def create_number(self, request: Request, account: TwilioAccount) -> Response:
        form = Form(parse_form(await read_body(request)))
        number = (form.get("PhoneNumber") or "").strip()
        area = (form.get("AreaCode") or "").strip()
        if not number and area.isdigit():
            number = f"+1{area[:3]}555{len(account.numbers) % 10_000:04d}"
        if not number:
            raise _bad(21605, "A 'PhoneNumber' or 'AreaCode' is required.")
        if not _E164.fullmatch(number):
            raise _bad(21421, f"PhoneNumber {number} is invalid.")
        if not number.startswith("+") and len(number) > 6:
            number = "+" + number
        if core_address(number) in account.numbers:
            raise _bad(21422, f"PhoneNumber {number} is already in use on this account.")
        owner = self.carrier.accounts.owner_of(core_address(number))
        if owner is not None and owner.system_id != account.system_id and owner.owns(core_address(number)) >= 100:
            raise _bad(21422, f"PhoneNumber {number} is owned by another account.")
        kind = _number_kind(number)
        method = (form.get("SmsMethod") or "POST").upper()
        if method not in ("GET", "POST"):
            raise _bad(21608, "SmsMethod must be GET or POST.")
        for name in ("SmsUrl", "StatusCallback"):
            if form.get(name) and not is_url(form.get(name) or ""):
                raise _bad(21402, f"{name} is not a valid URL.")
        entry = self._add_number(account, TwilioNumberConfig(
            number=number, type=kind, sms_url=form.get("SmsUrl") or "", sms_method=method,
            status_callback=form.get("StatusCallback") or "",
        ))
        entry.friendly_name = form.get("FriendlyName") or ""
        return JsonResponse(number_json(entry), 201)

    async def list_numbers(self, request: Request, account: TwilioAccount) -> Response:
        wanted = request.query_params.get("PhoneNumber")
        numbers = [n for n in account.numbers.values()
                   if wanted is None or core_address(n.number) == core_address(wanted)]
        uri = f"{PREFIX}/Accounts/{account.sid}/IncomingPhoneNumbers.json?PageSize=1000&Page=0"
        return JsonResponse({"incoming_phone_numbers": [number_json(n) for n in numbers], "first_page_uri": uri,
                             "next_page_uri": None, "previous_page_uri": None, "page": 0, "page_size": 1000,
                             "start": 0, "end": max(0, len(numbers) - 1), "uri": uri})

    def _find_number(self, account: TwilioAccount, sid: str) -> TwilioNumber:
        for number in account.numbers.values():
            if number.sid == sid:
                return number
        raise TwilioError(404, 20404, f"The requested resource {PREFIX}/Accounts/{account.sid}/IncomingPhoneNumbers/"
                                      f"{sid}.json was not found")

    async def fetch_number(self, request: Request, account: TwilioAccount) -> Response:
        return JsonResponse(number_json(self._find_number(account, request.path_params["sid"])))

    async def update_number(self, request: Request, account: TwilioAccount) -> Response:
        number = self._find_number(account, request.path_params["sid"])
        form = Form(parse_form(await read_body(request)))
        if form.get("SmsMethod") is not None:
            method = (form.get("SmsMethod") or "").upper()
            if method not in ("GET", "POST"):
                raise _bad(21608, "SmsMethod must be GET or POST.")
            number.sms_method = method
        for name, attribute in (("SmsUrl", "sms_url"), ("StatusCallback", "status_callback"),
                                ("FriendlyName", "friendly_name")):
            value = form.get(name)
            if value and name != "FriendlyName" and not is_url(value):
                raise _bad(21402, f"{name} is not a valid URL.")
            if value is not None:
                setattr(number, attribute, value)
        number.updated_at = self.clock.wall()
        return JsonResponse(number_json(number))

    async def delete_number(self, request: Request, account: TwilioAccount) -> Response:
        number = self._find_number(account, request.path_params["sid"])
        del account.numbers[core_address(number.number)]
        core = self.carrier.accounts.get(account.system_id)
        if core is not None:
            remove_number(self.carrier.accounts, core, number.number)
        return Response(status_code=204)

    # ------------------------------------------------------------------ throughput queues

    def _sender(self, message: TwilioMessage) -> _Sender:
        key = (message.account.sid, message.from_)
        sender = self._senders.get(key)
        if sender is None:
            number = message.account.numbers.get(core_address(message.from_))
            mps = number.mps if number is not None else self.config.mps.of(_number_kind(message.from_))
            sender = self._senders[key] = _Sender(key, mps)
        return sender

    def _enqueue(self, message: TwilioMessage) -> None:
        """Reserve the message's segments on its sender's queue; past queue_seconds of backlog: 30001."""
        sender = self._sender(message)
        now = self.clock.now()
        start = max(now, sender.next_free)
        if start - now > self.config.queue_seconds:
            message.encoded = None
            self._fail(message, "failed", 30001)
            return
        sender.next_free = start + message.num_segments / sender.mps if sender.mps > 0 else start
        sender.queue.append((start, message))
        if sender.timer is None or not sender.timer.pending:
            sender.timer = self.scheduler.call_at(sender.queue[0][0], self._drain, sender)

    def _drain(self, sender: _Sender) -> None:
        now = self.clock.now()
        queue = sender.queue
        while queue and queue[0][0] <= now:
            _, message = queue.popleft()
            self._release(message)
        sender.timer = self.scheduler.call_at(queue[0][0], self._drain, sender) if queue else None

    def _send_due(self, message: TwilioMessage) -> None:
        """SendAt has come: the scheduled message joins its sender's queue."""
        message.timer = None
        if message.status != "scheduled":
            return
        self._set_status(message, "accepted" if message.messaging_service_sid else "queued")
        self._enqueue(message)

    def _release(self, message: TwilioMessage) -> None:
        """The message leaves its sender's queue for the carrier."""
        message.timer = None
        encoded = message.encoded
        if encoded is None or message.final:
            return
        if message.expire_at is not None and self.clock.wall() > message.expire_at:
            message.encoded = None
            self._fail(message, "failed", 30036)
            return
        if message.status == "accepted":
            self._set_status(message, "queued")
        if message.status != "sending":
            self._set_status(message, "sending")
        account = message.account
        result = submit_text(self.carrier, account.system_id, "http", core_address(message.from_),
                             core_address(message.to), encoded, ref=message)
        message.attempts += 1
        if not result.answered:
            message.encoded = None
            return  # the carrier never answered: the message stays "sending", as it would at Twilio
        if result.status in RETRY_STATUSES:
            message.timer = self.scheduler.call_later(RETRY_DELAY, self._release, message)
            return
        message.encoded = None
        if not result.ok:
            opted_out = self.carrier.handsets.opted_out(core_address(message.to), core_address(message.from_))
            self._fail(message, "failed", 21610 if opted_out else SUBMIT_ERRORS.get(result.status, 30008))
            return
        message.core_ids = [m.id for m in result.messages]
        if result.latency > 0:
            self.scheduler.call_later(result.latency, self._sent, message)
        else:
            self._sent(message)

    def _sent(self, message: TwilioMessage) -> None:
        if message.status != "sending":
            return
        message.sent_at = self.clock.wall()
        config = self.config
        price = config.mms_price if message.media else config.price_per_segment * message.num_segments
        message.price = f"-{price:.5f}"
        self._set_status(message, "sent")

    def _fail(self, message: TwilioMessage, status: str, code: int) -> None:
        message.error_code = code
        self._set_status(message, status)

    def _set_status(self, message: TwilioMessage, status: str, *, done_at: float | None = None) -> None:
        message.status = status
        message.updated_at = self.clock.wall()
        self._callback(message, done_at)

    # ------------------------------------------------------------------ from the carrier

    def _on_item(self, account: TwilioAccount, item: Item) -> None:
        if isinstance(item, Receipt):
            self._on_receipt(item)
        elif isinstance(item, Inbound) and first_part(item):
            self._on_inbound(account, item)

    def _on_receipt(self, receipt: Receipt) -> None:
        message = receipt.message.ref
        if not isinstance(message, TwilioMessage) or message.final or receipt.intermediate:
            return
        if message.status == "sending":
            self._sent(message)
        status, code = final_status(receipt.state, receipt.error)
        message.error_code = code
        self._set_status(message, status, done_at=receipt.done_at)

    def _on_inbound(self, account: TwilioAccount, item: Inbound) -> None:
        core = item.message
        number = account.numbers.get(core_address(core.destination))
        now = self.clock.wall()
        message = TwilioMessage(
            sid=self._sid("SM"), account=account, from_=e164(core.source),
            to=number.number if number is not None else e164(core.destination), body=core.text,
            direction="inbound", status="received", created_at=now, updated_at=now, sent_at=now,
            num_segments=inbound_segments(core), data_coding=core.data_coding,
        )
        message.messaging_service_sid = next((sid for sid, pool in account.services.items()
                                              if message.to in pool), None)
        self._store(message)
        if number is None or not number.sms_url:
            return
        params = [
            ("ToCountry", ""), ("ToState", ""), ("SmsMessageSid", message.sid), ("NumMedia", "0"),
            ("ToCity", ""), ("FromZip", ""), ("SmsSid", message.sid), ("FromState", ""), ("SmsStatus", "received"),
            ("FromCity", ""), ("Body", message.body), ("FromCountry", ""), ("To", message.to),
            ("MessagingServiceSid", message.messaging_service_sid or ""), ("ToZip", ""),
            ("NumSegments", str(message.num_segments)), ("MessageSid", message.sid), ("AccountSid", account.sid),
            ("From", message.from_), ("ApiVersion", API_VERSION),
        ]
        if not message.messaging_service_sid:
            params = [p for p in params if p[0] != "MessagingServiceSid"]
        self._post(account, number.sms_url, params, method=number.sms_method, label=f"twilio inbound {message.sid}",
                   on_response=lambda response: self._twiml(account, message, response))

    def _twiml(self, account: TwilioAccount, inbound: TwilioMessage, response: WebhookResponse) -> None:
        """A <Message> in the inbound webhook's TwiML answer becomes an outbound-reply message."""
        for reply in parse_twiml(response.content):
            form = Form([("To", reply.to or inbound.from_), ("From", reply.sender or inbound.to),
                         ("Body", reply.body), *(("MediaUrl", url) for url in reply.media),
                         *((("StatusCallback", reply.status_callback),) if reply.status_callback else ())])
            try:
                self.create_message(account, form, direction="outbound-reply")
            except TwilioError as error:
                _log.info("TwiML reply to %s refused: %s %s", inbound.sid, error.code, error.message)

    # ------------------------------------------------------------------ callbacks

    def _callback(self, message: TwilioMessage, done_at: float | None = None) -> None:
        url = message.status_callback
        if not url:
            return
        account = message.account
        params = [
            ("SmsSid", message.sid), ("SmsStatus", message.status), ("MessageStatus", message.status),
            ("To", message.to), ("MessageSid", message.sid), ("AccountSid", account.sid),
            ("From", message.from_), ("ApiVersion", API_VERSION),
        ]
        if message.messaging_service_sid:
            params.append(("MessagingServiceSid", message.messaging_service_sid))
        if message.error_code and message.status in ("failed", "undelivered"):
            params.append(("ErrorCode", str(message.error_code)))
        if message.status in ("delivered", "undelivered") and done_at is not None:
            params.append(("RawDlrDoneDate", datetime.fromtimestamp(done_at, timezone.utc).strftime("%y%m%d%H%M")))
        self._post(account, url, params, label=f"twilio status {message.sid} {message.status}", key=message.sid)

    def _post(self, account: TwilioAccount, url: str, params: list[tuple[str, str]], *, method: str = "POST",
              label: str, key: Any = None, on_response=None) -> None:
        headers = {"content-type": "application/x-www-form-urlencoded", "user-agent": "TwilioProxy/1.1",
                   "i-twilio-idempotency-token": f"{self._sid_prefix}-{next(self._sids):x}", "x-home-region": "us1"}
        if method == "GET":
            full = f"{url}{'&' if '?' in url else '?'}{form_encode(params)}"
            headers["x-twilio-signature"] = twilio_signature(account.token, full, [])
            del headers["content-type"]
            hook = Webhook(full, b"", headers, "GET", label, key, on_response)
        else:
            headers["x-twilio-signature"] = twilio_signature(account.token, url, params)
            hook = Webhook(url, form_encode(params).encode("utf-8"), headers, "POST", label, key, on_response)
        self.poster.post(hook)

    # ------------------------------------------------------------------ control

    def reset(self) -> None:
        """Forget messages and queues (the carrier's reset forgets its side)."""
        for message in self.messages.values():
            if message.timer is not None:
                message.timer.cancel()
        self.messages.clear()
        for sender in self._senders.values():
            if sender.timer is not None:
                sender.timer.cancel()
        self._senders.clear()


def final_status(state: MessageState, err: int) -> tuple[str, int | None]:
    """A receipt's state and err as Twilio's final status and error code.

    A scenario may name a Twilio error code as the receipt's err (20000-69999): it is used as is.
    """
    if state in (MessageState.DELIVERED, MessageState.ACCEPTED):
        return "delivered", None
    if 20_000 <= err < 70_000:
        return ("failed" if err < 30_000 or err in (30001, 30036) else "undelivered"), err
    if err == 610 or err == 21610:  # the carrier's opted-out rejection (handsets.opted_out_error)
        return "failed", 21610
    if state is MessageState.REJECTED:
        return "undelivered", 30007
    if state is MessageState.UNKNOWN:
        return "undelivered", 30008
    if state is MessageState.DELETED:
        return "canceled", None
    if state is MessageState.SKIPPED:
        return "failed", 30008
    return "undelivered", 30003  # UNDELIVERABLE, EXPIRED


def _magic(code: int, sender: str, to: str) -> TwilioError:
    text = {
        21211: f"The 'To' number {to} is not a valid phone number.",
        21212: f"The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
        21408: f"Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
        21606: f"The 'From' phone number provided ({sender}) is not a valid message-capable Twilio phone number "
               f"for this destination.",
        21610: "Attempt to send to unsubscribed recipient",
        21611: "This 'From' number has exceeded the maximum number of queued messages",
        21612: f"The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {sender} "
               f"via SMS.",
        21614: f"'To' number {to} is not a valid mobile number",
    }[code]
    return _bad(code, text)


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return "", ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "")


def _int_param(value: str | None, default: int, low: int, high: int, name: str) -> int:
    if value is None or value == "":
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise _bad(20001, f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def _date_param(value: str | None, name: str) -> str | None:
    """DateSent filters: 'YYYY-MM-DD' or the SDK's 'YYYY-MM-DDTHH:MM:SSZ' (the day counts)."""
    if value is None or value == "":
        return None
    day = value.strip()[:10]
    if not _DATE.fullmatch(day):
        raise _bad(20001, f"{name} must be a date (YYYY-MM-DD), got {value!r}")
    return day


def _content_type(url: str) -> str:
    lower = url.lower().split("?", 1)[0]
    for suffix, kind in ((".png", "image/png"), (".gif", "image/gif"), (".jpg", "image/jpeg"),
                         (".jpeg", "image/jpeg"), (".mp4", "video/mp4"), (".pdf", "application/pdf")):
        if lower.endswith(suffix):
            return kind
    return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class TwimlReply:
    body: str
    to: str | None = None
    sender: str | None = None
    media: tuple[str, ...] = ()
    status_callback: str | None = None


def parse_twiml(content: bytes) -> list[TwimlReply]:
    """The <Message> verbs of a TwiML document; anything else (or malformed XML) means no reply."""
    if not content.strip() or len(content) > 64 * 1024 or b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        return []
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return []
    if root.tag != "Response":
        return []
    replies = []
    for verb in root.iter("Message"):
        body_el = verb.find("Body")
        body = (body_el.text if body_el is not None else verb.text) or ""
        media = tuple((m.text or "").strip() for m in verb.findall("Media") if (m.text or "").strip())
        replies.append(TwimlReply(body.strip(), verb.get("to"), verb.get("from"), media, verb.get("statusCallback")))
    return replies
