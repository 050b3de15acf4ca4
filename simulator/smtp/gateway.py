"""Email-to-SMS over SMTP (aiosmtpd): mail to <number>@<domain> becomes an SMS; handset replies are emailed back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from simulator.config import SmtpConfig
from simulator.core.records import Inbound, Item
from simulator.http.common import FrontEnd, core_address, encode_text, first_part, register_account, submit_text
from simulator.http.webhooks import MailboxEndpoint
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

__all__ = ["SmtpGateway", "clean_body", "html_to_text"]

_log = logging.getLogger("carrier_sim.smtp")

MAX_RECIPIENTS = 100
REPLY_ATTEMPTS = 3
_NUMBER = re.compile(r"\+?[0-9]{3,16}")
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_BLOCK = re.compile(r"(?i)<br\s*/?>|</?(?:p|div|li|tr|table|h[1-6])\b[^>]*>")
_SPACES = re.compile(r"[ \t\xa0]+")
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one email: the numbers it was sent to and those the carrier refused."""

    sender: str
    text: str
    sent: dict[str, str]  # number -> carrier message id
    refused: dict[str, int]  # number -> command_status


def html_to_text(markup: str) -> str:
    """Block elements become line breaks and every other tag goes, so line-anchored strip rules still apply."""
    markup = _HIDDEN.sub("", markup)
    markup = _BLOCK.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def clean_body(message: email.message.Message, strip: list[re.Pattern[str]], *, include_subject: bool,
               max_length: int) -> str:
    """The SMS text of an email: its plain-text body (or its HTML's text), signature rules applied, trimmed."""
    part = None
    if isinstance(message, EmailMessage):
        part = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if part is not None:
        try:
            text = part.get_content()
        except (LookupError, ValueError, AssertionError):
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            text = html_to_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for pattern in strip:
        text = pattern.sub("", text)
    text = _BLANKS.sub("\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()
    if include_subject and message.get("subject"):
        text = f"{str(message['subject']).strip()}: {text}" if text else str(message["subject"]).strip()
    return text[:max_length]


class SmtpGateway:
    """An aiosmtpd server on the carrier's loop; the carrier account `config.system_id` owns `sender_number`."""

    def __init__(self, front: FrontEnd, config: SmtpConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.config = config
        self.domain = config.domain.lower()
        self.strip = [re.compile(pattern) for pattern in config.strip]
        self.allowed = [a.strip().lower() for a in config.allowed_senders]
        self.sender_number = config.sender_number.lstrip("+")
        self._reply_to: OrderedDict[str, str] = OrderedDict()  # handset -> the address that last mailed it
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.outcomes: list[Outcome] = []  # recent mails, for inspection
        self.replies_sent = 0
        self.replies_failed = 0
        register_account(self.carrier, config.system_id, [self.sender_number])
        self.carrier.outbox.attach(MailboxEndpoint(self.carrier.outbox, self.carrier.scheduler, config.system_id,
                                                   self._on_item, front.poster))

    async def start(self) -> tuple[str, int]:
        from simulator.app import bind_socket

        loop = asyncio.get_running_loop()
        config = self.config
        sock = bind_socket(config.host, config.port)

        def factory() -> SMTP:
            return SMTP(self, hostname=self.domain, ident="carrier-sim ESMTP", data_size_limit=config.max_message_size,
                        enable_SMTPUTF8=True, loop=loop, timeout=60)

        self._server = await loop.create_server(factory, sock=sock)
        return config.host, sock.getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def reset(self) -> None:
        self._reply_to.clear()
        self.outcomes.clear()

    # ------------------------------------------------------------------ aiosmtpd hooks

    def allowed_sender(self, address: str) -> bool:
        if not self.allowed:
            return True
        address = address.lower()
        domain = address.rpartition("@")[2]
        for rule in self.allowed:
            if rule == address or (rule.startswith(("@", "*@")) and domain == rule.split("@", 1)[1]):
                return True
        return False

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if not address or "@" not in address:
            return "553 5.1.7 A sender address is required"
        if not self.allowed_sender(address):
            return f"550 5.7.1 <{address}>: sender not allowed to send SMS"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        local, _, domain = address.rpartition("@")
        if domain.lower() != self.domain:
            return f"550 5.7.1 <{address}>: relay access denied (only @{self.domain} is accepted)"
        if not _NUMBER.fullmatch(local):
            return f"550 5.1.1 <{address}>: the local part must be a phone number"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        try:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            text = clean_body(message, self.strip, include_subject=self.config.include_subject,
                              max_length=self.config.max_length)
        except Exception:  # a mail the parser cannot make sense of
            _log.exception("could not parse a mail from %s", envelope.mail_from)
            return "554 5.6.0 The message could not be parsed"
        if not text:
            return "554 5.6.0 The message has no text to send"
        return self.send(envelope.mail_from or "", [a.rpartition("@")[0] for a in envelope.rcpt_tos], text)

    # ------------------------------------------------------------------ to the carrier

    def send(self, sender: str, numbers: list[str], text: str) -> str:
        """Submit the text to each number; the SMTP answer to give for the mail."""
        try:
            encoded = encode_text(text)
        except sms_text.TextEncodingError:
            return "554 5.3.4 The message is too long for an SMS"
        sent: dict[str, str] = {}
        refused: dict[str, int] = {}
        for number in numbers:
            handset = core_address(number)
            result = submit_text(self.carrier, self.config.system_id, "smtp", self.sender_number, handset, encoded,
                                 receipts=False)
            if result.ok:
                sent[handset] = result.message_id
                self._reply_to[handset] = sender
                self._reply_to.move_to_end(handset)
                if len(self._reply_to) > 100_000:
                    self._reply_to.popitem(last=False)
            else:
                refused[handset] = result.status
        self.outcomes.append(Outcome(sender, text, sent, refused))
        del self.outcomes[:-1000]
        if sent:
            note = f" ({len(refused)} of {len(numbers)} refused)" if refused else ""
            return f"250 2.0.0 Queued as {','.join(sent.values())}{note}"
        statuses = set(refused.values())
        if statuses <= {Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL}:
            return "451 4.7.1 The carrier is throttling: try again later"
        return f"554 5.7.1 The carrier refused the message (status 0x{min(statuses):08X})"

    # ------------------------------------------------------------------ replies

    def _on_item(self, item: Item) -> None:
        if not isinstance(item, Inbound) or not first_part(item):
            return
        core = item.message
        address = self._reply_to.get(core.source.lstrip("+"))
        if address is None or not self.config.relay_host:
            _log.info("reply from %s to %s: no one to email it to", core.source, core.destination)
            return
        reply = EmailMessage()
        reply["From"] = f"{core.source.lstrip('+')}@{self.domain}"
        reply["To"] = address
        reply["Subject"] = f"SMS reply from +{core.source.lstrip('+')}"
        reply["Date"] = formatdate(core.submitted_at)
        reply["Message-ID"] = make_msgid(domain=self.domain)
        reply["X-Carrier-Sim-Message-Id"] = core.id
        reply.set_content(core.text)
        self._relay(reply, 1)

    def _relay(self, reply: EmailMessage, attempt: int) -> None:
        task = asyncio.get_running_loop().create_task(self._send_reply(reply, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_reply(self, reply: EmailMessage, attempt: int) -> None:
        config = self.config
        try:
            await aiosmtplib.send(reply, hostname=config.relay_host, port=config.relay_port, timeout=10,
                                  start_tls=False, use_tls=False)
            self.replies_sent += 1
        except (aiosmtplib.SMTPException, OSError) as error:
            _log.info("emailing a reply to %s failed (attempt %d): %s", parseaddr(reply["To"])[1], attempt, error)
            if attempt < REPLY_ATTEMPTS:  # retried on the carrier's clock, like every other delivery
                self.carrier.scheduler.call_later(float(attempt), self._relay, reply, attempt + 1)
            else:
                self.replies_failed += 1
