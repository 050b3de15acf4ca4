"""Server configuration: listeners, accounts and their limits, read from one YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .core.handsets import HandsetConfig
from .smpp.codec import DEFAULT_LENIENCY, DEFAULT_MAX_PDU
from .smpp.status import Status, parse_status
from .yamlload import Converter, load_file, load_text


class StatusCode(int, Converter):
    """A command_status written as 0x58, 88 or a name (THROTTLED, ESME_RTHROTTLED)."""

    @classmethod
    def from_yaml(cls, value: object, path: str) -> "StatusCode":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"expected a command_status such as 0x58 or THROTTLED, got {value!r}")
        return cls(parse_status(value))


BIND_TYPE_NAMES = ("transmitter", "receiver", "transceiver")


@dataclass(slots=True)
class TlsConfig:
    port: int = 8775
    cert: str = ""
    key: str = ""


@dataclass(slots=True)
class LeniencyConfig:
    """Oversize C-octet strings accepted from clients (what we send is always within limits)."""

    fields: list[str] = field(default_factory=lambda: sorted(DEFAULT_LENIENCY.fields))
    max_length: int = DEFAULT_LENIENCY.max_length


@dataclass(slots=True)
class SmppConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    tls: TlsConfig | None = None
    window: int = 10
    window_status: StatusCode = StatusCode(Status.ESME_RMSGQFUL)
    enquire_link_interval: float = 60.0  # we send enquire_link after this long without traffic
    enquire_link_timeout: float = 30.0  # and drop the bind if it is not answered within this
    inactivity_timeout: float = 300.0  # drop binds that send nothing at all for this long (0 = never)
    response_timeout: float = 30.0  # our deliver_sm is retried when no deliver_sm_resp comes in this
    deliver_window: int = 10  # our own outstanding deliver_sm per bind
    partial_pdu_timeout: float = 5.0  # a PDU whose command_length outruns its bytes for this long gets nacked
    max_pdu: int = DEFAULT_MAX_PDU
    system_id: str = "carrier-sim"
    leniency: LeniencyConfig = field(default_factory=LeniencyConfig)

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not a TCP port")
        if self.window < 0:
            raise ValueError("window must be 0 (unlimited) or more")


@dataclass(slots=True)
class ReceiptFormatConfig:
    """How this account's delivery receipts are written; gateways differ, so carriers do too."""

    id_format: str = "hex"  # hex, or decimal (a hex id written as its decimal value, in text and TLV)
    date_seconds: bool = False  # YYMMDDhhmmss instead of YYMMDDhhmm
    text_label: str = "text"  # or "Text"
    per_segment: bool = False  # one receipt per part of a long message, instead of one per message
    command: str = "deliver_sm"  # or data_sm, as some SMSCs send receipts and MO

    def validate(self) -> None:
        if self.id_format not in ("hex", "decimal"):
            raise ValueError("id_format must be hex or decimal")
        if self.text_label not in ("text", "Text"):
            raise ValueError("text_label must be text or Text")
        if self.command not in ("deliver_sm", "data_sm"):
            raise ValueError("command must be deliver_sm or data_sm")


@dataclass(slots=True)
class AccountConfig:
    system_id: str
    password: str | None = None  # None: any password is accepted
    bind_types: list[str] = field(default_factory=lambda: list(BIND_TYPE_NAMES))
    max_binds: int = 0  # 0 = unlimited
    tps: float = 0.0  # per account, 0 = unlimited
    tps_per_bind: float = 0.0
    window: int | None = None  # overrides smpp.window for this account's binds
    throttle_status: StatusCode = StatusCode(Status.ESME_RTHROTTLED)
    id_format: str = "hex"  # hex, decimal or uuid
    numbers: list[str] = field(default_factory=list)  # owned numbers: prefixes ("4479") or ranges ("447900000-447900999")
    receipts: ReceiptFormatConfig = field(default_factory=ReceiptFormatConfig)

    def validate(self) -> None:
        if not self.system_id or len(self.system_id) > 15:
            raise ValueError("system_id must be 1-15 characters")
        for name in self.bind_types:
            if name not in BIND_TYPE_NAMES:
                raise ValueError(f"bind type {name!r} is not one of {', '.join(BIND_TYPE_NAMES)}")
        if self.id_format not in ("hex", "decimal", "uuid"):
            raise ValueError("id_format must be hex, decimal or uuid")


@dataclass(slots=True)
class ControlConfig:
    host: str = "127.0.0.1"
    port: int = 8025
    enabled: bool = True


# ---------------------------------------------------------------------------- provider front ends
# The HTTP provider APIs and SMTP email-to-SMS (simulator/http, simulator/smtp). Every key is documented
# in simulator/http/README.md.

TWILIO_NUMBER_TYPES = ("long_code", "toll_free", "short_code", "alphanumeric")


@dataclass(slots=True)
class WebhookConfig:
    """The one webhook poster every provider shares: its limits and retry back-off."""

    timeout: float = 5.0  # seconds per attempt
    # Requests in flight at once, across all providers (one connection each). Each in-flight request
    # takes at least one turn of the event loop, so under load the loop's turn time, not the receiver,
    # bounds callbacks/s at about concurrency / turn time: 16 fell seconds behind 6,000 callbacks/s
    # (2,000 Twilio messages/s) where 64 kept up.
    concurrency: int = 64
    max_attempts: int = 5  # including the first; a webhook that fails this often is dropped
    first_delay: float = 1.0  # seconds before the first retry
    factor: float = 2.0
    max_delay: float = 60.0

    def validate(self) -> None:
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        if self.timeout <= 0 or self.first_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("timeout must be positive, delays not negative and factor at least 1")


@dataclass(slots=True)
class TwilioNumberConfig:
    number: str  # E.164, e.g. +15017122661; short codes as digits
    type: str = "long_code"  # long_code, toll_free, short_code or alphanumeric
    mps: float = 0.0  # segments per second this sender drains at; 0 = the type's default (twilio.mps)
    sms_url: str = ""  # inbound (MO) webhook
    sms_method: str = "POST"  # POST or GET
    status_callback: str = ""  # status callback for messages from this number that name none

    def validate(self) -> None:
        if self.type not in TWILIO_NUMBER_TYPES:
            raise ValueError(f"type must be one of {', '.join(TWILIO_NUMBER_TYPES)}")
        if self.sms_method.upper() not in ("GET", "POST"):
            raise ValueError("sms_method must be GET or POST")
        if self.mps < 0:
            raise ValueError("mps must not be negative")


@dataclass(slots=True)
class TwilioMessagingServiceConfig:
    sid: str  # MG + 32 hex
    numbers: list[str] = field(default_factory=list)  # its sender pool (numbers of the same account)
    status_callback: str = ""


@dataclass(slots=True)
class TwilioAccountConfig:
    sid: str  # AC + 32 hex
    auth_token: str
    numbers: list[TwilioNumberConfig] = field(default_factory=list)
    messaging_services: list[TwilioMessagingServiceConfig] = field(default_factory=list)
    test: bool = False  # test credentials: magic numbers apply and nothing is sent
    api_keys: dict[str, str] = field(default_factory=dict)  # SK... key sid -> secret, also accepted for auth


@dataclass(slots=True)
class TwilioMpsConfig:
    """Default throughput by sender type, in segments per second."""

    long_code: float = 1.0
    toll_free: float = 3.0
    short_code: float = 100.0
    alphanumeric: float = 10.0

    def of(self, kind: str) -> float:
        return float(getattr(self, kind))


@dataclass(slots=True)
class TwilioConfig:
    enabled: bool = True
    accounts: list[TwilioAccountConfig] = field(default_factory=list)  # none: any AccountSid/token (open mode)
    mps: TwilioMpsConfig = field(default_factory=TwilioMpsConfig)
    queue_seconds: float = 36_000.0  # a sender's queue holds this much traffic; beyond it: 30001
    max_concurrent: int = 0  # concurrent API requests per account before 429/20429; 0 = unlimited
    api_latency: float = 0.0  # seconds every API request takes to answer (to exercise 20429 and timeouts)
    price_per_segment: float = 0.0079
    mms_price: float = 0.02
    price_unit: str = "USD"
    magic_numbers: bool = True  # the +1500555000x test numbers answer their documented errors
    store_capacity: int = 100_000  # messages kept for fetch/list, oldest dropped first

    def validate(self) -> None:
        if self.queue_seconds < 0 or self.max_concurrent < 0 or self.api_latency < 0:
            raise ValueError("queue_seconds, max_concurrent and api_latency must not be negative")
        if self.store_capacity < 1:
            raise ValueError("store_capacity must be at least 1")


@dataclass(slots=True)
class InfobipNumberConfig:
    number: str
    forward_url: str = ""  # inbound messages to this number are pushed here


@dataclass(slots=True)
class InfobipAccountConfig:
    name: str  # a label; also names the carrier account (ib-<name>)
    api_key: str = ""  # Authorization: App <api_key>
    username: str = ""  # Authorization: Basic base64(username:password)
    password: str = ""
    token: str = ""  # Authorization: IBSSO <token> or Bearer <token>
    numbers: list[InfobipNumberConfig] = field(default_factory=list)


@dataclass(slots=True)
class InfobipConfig:
    enabled: bool = True
    accounts: list[InfobipAccountConfig] = field(default_factory=list)  # none: any credentials (open mode)
    report_batch_window: float = 0.2  # seconds reports wait to be pushed together (up to 100 per request)
    price_per_message: float = 0.005
    currency: str = "EUR"
    max_messages: int = 10_000  # destinations per request


@dataclass(slots=True)
class ClickSendUserConfig:
    username: str
    api_key: str
    numbers: list[str] = field(default_factory=list)  # dedicated numbers: replies to them come back
    receipt_url: str = ""  # a delivery receipt rule with action URL, as if made in the dashboard
    inbound_url: str = ""  # an inbound rule with action URL


@dataclass(slots=True)
class ClickSendConfig:
    enabled: bool = True
    users: list[ClickSendUserConfig] = field(default_factory=list)  # none: any username/key (open mode)
    shared_number: str = "61411000000"  # the sender when a message names none
    price_per_part: float = 0.0792
    currency: str = "AUD"


@dataclass(slots=True)
class WhatsAppNumberConfig:
    id: str  # the phone-number id in the URL
    display_phone_number: str  # the number handsets see (and reply to)
    webhook_url: str = ""  # overrides whatsapp.webhook_url for this number


@dataclass(slots=True)
class WhatsAppConfig:
    enabled: bool = True
    access_tokens: list[str] = field(default_factory=list)  # none: any bearer token
    phone_numbers: list[WhatsAppNumberConfig] = field(default_factory=list)  # none: any id (display number = id)
    webhook_url: str = ""
    verify_token: str = "carrier-sim"  # sent in the hub.verify_token handshake
    app_secret: str = "carrier-sim"  # signs X-Hub-Signature-256
    business_account_id: str = "100000000000001"
    read_after: float | None = 1.0  # seconds after delivery the handset reads it; null = never


@dataclass(slots=True)
class MessengerPageConfig:
    id: str  # the page id
    access_token: str = ""  # empty: any token
    webhook_url: str = ""  # overrides messenger.webhook_url for this page


@dataclass(slots=True)
class MessengerConfig:
    enabled: bool = True
    pages: list[MessengerPageConfig] = field(default_factory=list)  # none: any token, page id 100000000000000
    webhook_url: str = ""
    verify_token: str = "carrier-sim"
    app_secret: str = "carrier-sim"
    read_after: float | None = 1.0


def _default_strip() -> list[str]:
    return [
        r"(?ms)^-- ?$.*",  # the signature delimiter and everything after it
        r"(?ims)^sent from my \w+.*",
        r"(?ims)^(confidentiality notice|disclaimer):.*",
    ]


@dataclass(slots=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    domain: str = "sms.carrier-sim.test"  # mail to <number>@<domain> becomes an SMS
    allowed_senders: list[str] = field(default_factory=list)  # addresses, or @domain / *@domain; none: any
    sender_number: str = "447700900000"  # the SMS's source; handset replies to it are emailed back
    strip: list[str] = field(default_factory=_default_strip)  # regexes removed from the body, in order
    include_subject: bool = False  # put "Subject: " in front of the body
    max_length: int = 1600  # characters; longer bodies are cut
    max_message_size: int = 1 << 20  # octets of mail accepted
    relay_host: str = ""  # where replies are emailed; empty: replies are not emailed
    relay_port: int = 25
    system_id: str = "smtp"  # the carrier account the mails are sent as

    def validate(self) -> None:
        import re

        for pattern in self.strip:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"strip: {pattern!r} is not a valid regex: {error}") from None
        if not 1 <= len(self.system_id) <= 15:
            raise ValueError("system_id must be 1-15 characters")


@dataclass(slots=True)
class ProvidersConfig:
    """Provider-compatible HTTP APIs and email-to-SMS. With nothing configured, all HTTP APIs are open."""

    host: str = "127.0.0.1"
    port: int | None = None  # None: served on the control API's listener; 0 = a free port
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    infobip: InfobipConfig = field(default_factory=InfobipConfig)
    clicksend: ClickSendConfig = field(default_factory=ClickSendConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    messenger: MessengerConfig = field(default_factory=MessengerConfig)
    smtp: SmtpConfig | None = None  # none: no SMTP listener


@dataclass(slots=True)
class Config:
    smpp: SmppConfig = field(default_factory=SmppConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    accounts: list[AccountConfig] = field(default_factory=list)
    state_dir: str | None = None  # where message-id high-water marks persist across restarts
    store_capacity: int = 1_000_000  # messages kept; the oldest is evicted first
    handsets: HandsetConfig = field(default_factory=HandsetConfig)
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)

    def validate(self) -> None:
        seen: set[str] = set()
        for account in self.accounts:
            if account.system_id in seen:
                raise ValueError(f"account {account.system_id!r} is configured twice")
            seen.add(account.system_id)


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    return load_file(path, Config)


def parse_config(text: str, file: str = "<string>") -> Config:
    return load_text(text, Config, file=file)
