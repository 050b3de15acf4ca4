"""What the provider front ends share: carrier accounts, text to submissions, request bodies, fast JSON and guards."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message as AsgiMessage, Receive, Scope, Send

from simulator.config import AccountConfig
from simulator.core.accounts import Account, Accounts
from simulator.core.carrier import Carrier, Submission, SubmitResult
from simulator.core.ids import IdFormat
from simulator.core.records import Inbound, Message, MessageState
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

if TYPE_CHECKING:
    from .webhooks import WebhookPoster

_log = logging.getLogger("carrier_sim.http.providers")

MAX_BODY = 4 << 20  # octets: ClickSend's 1,000 messages and Infobip's bulk requests fit comfortably
_DIGITS = re.compile(r"\+?[0-9]{3,16}")


# ---------------------------------------------------------------------------- carrier side


@dataclass(slots=True)
class FrontEnd:
    """What every provider front end is handed: the carrier and the shared webhook poster."""

    carrier: Carrier
    poster: WebhookPoster


def system_id_for(prefix: str, name: str) -> str:
    """A carrier account name (at most 15 characters) standing for a provider credential."""
    if len(prefix) + len(name) <= 15 and name.replace("-", "").replace("_", "").isalnum():
        return prefix + name
    return prefix + hashlib.sha1(name.encode("utf-8")).hexdigest()[: 15 - len(prefix)]


def register_account(carrier: Carrier, system_id: str, numbers: Iterable[str] = (), *,
                     id_format: str | None = None) -> Account:
    """Make (or find) the carrier account a provider credential submits as, owning `numbers`.

    The account cannot bind over SMPP (no bind types): it exists so the carrier routes replies to its
    numbers back to this front end, as MO through the outbox.
    """
    account = carrier.accounts.get_or_create(system_id)
    if account.configured:  # an account from the config file keeps its settings; it only gains the numbers
        for number in numbers:
            add_number(carrier.accounts, account, number)
        return account
    config = account.config
    wanted = [_exactly(n) for n in numbers if core_address(n).isdigit()]
    merged = list(dict.fromkeys([*config.numbers, *wanted]))
    account.config = AccountConfig(system_id=config.system_id, password=config.password, bind_types=[],
                                   tps=config.tps, id_format=id_format or config.id_format, numbers=merged)
    account.id_format = IdFormat(account.config.id_format)
    _set_numbers(carrier.accounts, account, merged)
    return account


def _set_numbers(accounts: Accounts, account: Account, numbers: list[str]) -> None:
    accounts.set_numbers(account, numbers)


def _exactly(number: str) -> str:
    """One number as a range of one: a bare number would be a prefix, owning every longer number too."""
    number = core_address(number)
    return f"{number}-{number}"


def add_number(accounts: Accounts, account: Account, number: str) -> None:
    entry = _exactly(number)
    if core_address(number).isdigit() and entry not in account.config.numbers:
        account.config.numbers.append(entry)
        _set_numbers(accounts, account, account.config.numbers)


def remove_number(accounts: Accounts, account: Account, number: str) -> None:
    entry = _exactly(number)
    if entry in account.config.numbers:
        account.config.numbers.remove(entry)
        _set_numbers(accounts, account, account.config.numbers)


def core_address(address: str) -> str:
    """Numbers enter the carrier as bare digits (E.164 without '+'), as SMPP clients send them."""
    address = address.strip()
    if address.startswith("+") and address[1:].isdigit():
        return address[1:]
    return address


def e164(address: str) -> str:
    """A carrier address as providers show it: '+' and digits for numbers of 8 digits or more."""
    if address.isdigit() and len(address) >= 8:
        return "+" + address
    return address


@functools.lru_cache(maxsize=1024)  # checked on every create that names a StatusCallback, mostly the same few
def is_url(value: str) -> bool:
    """An absolute http(s) URL a webhook can be posted to."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= 2048


def is_phone_number(address: str) -> bool:
    return bool(_DIGITS.fullmatch(address.strip()))


@dataclass(slots=True)
class Encoded:
    """A text as the carrier will carry it: its coding, its parts and how many segments it costs."""

    text: str
    data_coding: int
    parts: list[sms_text.Part]

    @property
    def segments(self) -> int:
        return len(self.parts)


_refs = count(1)


def encode_text(text: str, data_coding: int | None = None) -> Encoded:
    """GSM 03.38 when the text fits it, UCS-2 otherwise; long texts are cut into UDH-concatenated parts.

    UDH, not SAR: the concatenation header takes room in each segment (153 septets, 67 UCS-2 characters),
    and that is the segment count handsets see and providers bill. Raises sms_text.TextEncodingError for
    texts over 255 segments.
    """
    parts, coding = sms_text.make_parts(text, data_coding, method="udh", ref=next(_refs))
    return Encoded(text, int(coding), parts)


@dataclass(slots=True)
class Submitted:
    """The carrier's verdict on every part of one text."""

    status: int  # 0, or the first part's refusal
    messages: list[Message]
    latency: float = 0.0
    answered: bool = True  # False: the carrier never answered (a no_response fault)

    @property
    def ok(self) -> bool:
        return self.status == 0 and self.answered

    @property
    def message_id(self) -> str:
        return self.messages[0].id if self.messages else ""


def submit_text(carrier: Carrier, system_id: str, channel: str, source: str, destination: str, encoded: Encoded,
                *, receipts: bool = True, intermediate: bool = False, ref: Any = None,
                schedule_at: float | None = None, expire_at: float | None = None) -> Submitted:
    """Submit each part of a text as its own message, as an SMPP client would. A refused part refuses the
    text, and parts already accepted are cancelled so they do not linger waiting for their siblings."""
    account = carrier.accounts.get_or_create(system_id)
    registered = (1 if receipts else 0) | (0x10 if intermediate else 0)
    messages: list[Message] = []
    latency = 0.0
    for part in encoded.parts:
        result: SubmitResult = carrier.submit(Submission(
            system_id=system_id, channel=channel, source=source, destination=destination,
            data_coding=encoded.data_coding, short_message=part.short_message, sar=part.sar,
            esm_class=sms_text.UDHI if part.esm_class_udhi else 0, registered_delivery=registered, schedule_at=schedule_at, expire_at=expire_at, ref=ref,
        ), account)
        latency = max(latency, result.latency)
        if result.status != Status.ESME_ROK or result.message is None:
            for message in messages:
                carrier.cancel(message.id, system_id)
            return Submitted(result.status, [], latency, answered=result.respond)
        messages.append(result.message)
    return Submitted(0, messages, latency)


def first_part(item: Inbound) -> bool:
    """True for the part of an MO that stands for the whole message (its first, or its only, part).

    The carrier delivers a long MO as one item per part, each carrying the whole message's record;
    front ends that post whole messages act on the first and let the rest go.
    """
    if item.sar is not None:
        return item.sar[2] == 1
    if item.udhi:
        try:
            ies, _ = sms_text.parse_udh(item.short_message)
        except sms_text.TextEncodingError:
            return True
        info = sms_text.concat_info(ies)
        return info is None or info[2] == 1
    return True


def inbound_segments(message: Message) -> int:
    try:
        return sms_text.count_segments(message.text, message.data_coding)
    except sms_text.TextEncodingError:
        return 1


FAILED_STATES = (MessageState.UNDELIVERABLE, MessageState.EXPIRED, MessageState.REJECTED, MessageState.UNKNOWN,
                 MessageState.SKIPPED, MessageState.DELETED)


# ---------------------------------------------------------------------------- HTTP side


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


_MAX_FORM_FIELDS = 2000


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """A form-encoded body as (name, value) pairs, repeats kept (MediaUrl may repeat). Never raises.

    What `parse_qsl(text, keep_blank_values=True, max_num_fields=2000)` returns (a test checks both
    on the same bodies), without its per-field argument checks: it was 10 µs of every Twilio create.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    fields = text.split("&")
    if len(fields) > _MAX_FORM_FIELDS:
        return []  # too many fields
    pairs = []
    for field in fields:
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((_form_unquote(name), _form_unquote(value)))
    return pairs


def _form_unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


@functools.lru_cache(maxsize=4096)
def _form_quote(text: str) -> str:
    return quote_plus(text)


def form_encode(pairs: Iterable[tuple[str, str]]) -> str:
    """urlencode(pairs) for string pairs, each name's and value's quoting cached.

    A status callback repeats almost all of its names and values (account, numbers, statuses, even the
    sid across a message's callbacks), and urlencode's quoting was a fifth of the server's time at
    6,000 callbacks/s.
    """
    return "&".join([f"{_form_quote(name)}={_form_quote(value)}" for name, value in pairs])


def parse_json(body: bytes) -> Any:
    """The body as JSON, or raise ValueError (also for invalid UTF-8 and absurd nesting)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("nested too deeply") from None


_json_encode = msgspec.json.Encoder().encode


def dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON: what `json.dumps(content, ensure_ascii=False, separators=(",", ":"))` writes.

    msgspec writes it about ten times faster (every create's response); what it refuses (a lone
    surrogate, an integer past 64 bits, a key that is not a string) goes the standard library's way.
    """
    try:
        return _json_encode(content)
    except (msgspec.EncodeError, TypeError, OverflowError, UnicodeEncodeError):
        pass
    try:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a text: escaped JSON is still valid JSON
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class JsonResponse(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(dumps(content), status_code=status_code, headers=headers)


def guarded(app: ASGIApp, on_error: Callable[[Exception], Response], name: str) -> ASGIApp:
    """Whatever escapes a provider's handler is logged and answered in that provider's own error shape."""

    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: AsgiMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        except Exception as error:
            _log.exception("%s: %s %s failed", name, scope.get("method"), scope.get("path"))
            if not started:
                await on_error(error)(scope, receive, send)

    return guard


Handler = Callable[[Request], Awaitable[Response]]
