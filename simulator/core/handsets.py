"""Virtual handsets: an inbox per number, opt-out keywords (STOP/START/HELP) and auto-reply rules."""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from .records import Message


@dataclass(slots=True)
class AutoReplyRule:
    """When a handset receives text matching `match` (a regex), it replies with `reply`."""

    match: str
    reply: str
    numbers: list[str] = field(default_factory=list)  # only handsets with these prefixes; empty = all

    def validate(self) -> None:
        try:
            re.compile(self.match)
        except re.error as error:
            raise ValueError(f"match is not a valid regex: {error}") from None


@dataclass(slots=True)
class HandsetConfig:
    stop_words: list[str] = field(default_factory=lambda: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
    start_words: list[str] = field(default_factory=lambda: ["START", "YES", "UNSTOP"])
    help_words: list[str] = field(default_factory=lambda: ["HELP", "INFO"])
    help_reply: str = "carrier-sim: reply STOP to unsubscribe. Msg&data rates may apply."
    stop_reply: str = "You have been unsubscribed and will receive no more messages. Reply START to resubscribe."
    start_reply: str = "You have been resubscribed. Reply STOP to unsubscribe."
    # What an MT to a handset that opted out of its sender gets: a submit status (0x45 RSUBMITFAIL by
    # default), or, with opted_out_status set to 0, acceptance and a REJECTD receipt.
    opted_out_status: int = 0x45
    opted_out_error: int = 610  # the receipt err: written when the status is 0 (mnemonic of Twilio 21610)
    auto_reply: list[AutoReplyRule] = field(default_factory=list)
    inbox_size: int = 100  # messages kept per handset, newest last
    max_handsets: int = 10_000  # inboxes kept; the least recently written-to handset is forgotten first


@dataclass(frozen=True, slots=True)
class Reply:
    source: str  # the handset
    destination: str
    text: str


class Handsets:
    """Every number that no account owns is a virtual handset."""

    def __init__(self, config: HandsetConfig | None = None) -> None:
        self.config = config or HandsetConfig()
        self._inboxes: OrderedDict[str, deque[Message]] = OrderedDict()
        self._opted_out: set[tuple[str, str]] = set()
        self._rules = [(re.compile(rule.match), rule) for rule in self.config.auto_reply]
        self._stop = {w.upper() for w in self.config.stop_words}
        self._start = {w.upper() for w in self.config.start_words}
        self._help = {w.upper() for w in self.config.help_words}

    def receive(self, message: Message) -> list[Reply]:
        """An MT reached a handset: keep it in the inbox and return any auto-replies."""
        number = message.destination
        inboxes = self._inboxes
        inbox = inboxes.get(number)
        if inbox is None:
            inbox = inboxes[number] = deque(maxlen=self.config.inbox_size)
            if len(inboxes) > self.config.max_handsets:
                inboxes.popitem(last=False)  # the least recently written-to handset
        else:
            inboxes.move_to_end(number)
        inbox.append(message)
        if not self._rules:
            return []
        text = message.text
        replies = []
        for pattern, rule in self._rules:
            if rule.numbers and not any(number.lstrip("+").startswith(p.lstrip("+")) for p in rule.numbers):
                continue
            if pattern.search(text):
                replies.append(Reply(number, message.source, pattern.sub(rule.reply, text, count=1)
                                     if "\\" in rule.reply else rule.reply))
                break
        return replies

    def inbox(self, number: str) -> list[Message]:
        return list(self._inboxes.get(number, ()))

    def opted_out(self, handset: str, sender: str) -> bool:
        opted = self._opted_out
        return bool(opted) and ((handset, sender) in opted or (handset, "*") in opted)

    def keyword(self, handset: str, recipient: str, text: str) -> str | None:
        """Apply STOP/START/HELP from a handset's MO. Returns the carrier's reply text, if any."""
        word = text.strip().upper()
        if word in self._stop:
            self._opted_out.add((handset, recipient))
            return self.config.stop_reply or None
        if word in self._start:
            self._opted_out.discard((handset, recipient))
            return self.config.start_reply or None
        if word in self._help:
            return self.config.help_reply or None
        return None

    def opt_out(self, handset: str, sender: str) -> None:
        self._opted_out.add((handset, sender))

    def opt_in(self, handset: str, sender: str) -> None:
        self._opted_out.discard((handset, sender))

    def opt_outs(self) -> list[tuple[str, str]]:
        return sorted(self._opted_out)

    def reset(self) -> None:
        self._inboxes.clear()
        self._opted_out.clear()

    @property
    def count(self) -> int:
        return len(self._inboxes)
