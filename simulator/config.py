"""Server configuration: listeners, accounts and their limits, read from one YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(slots=True)
class Config:
    smpp: SmppConfig = field(default_factory=SmppConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    accounts: list[AccountConfig] = field(default_factory=list)
    state_dir: str | None = None  # where message-id high-water marks persist across restarts

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
