"""Accounts at run time: authentication, bind counts, throughput buckets and the numbers each owns."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.config import AccountConfig
from simulator.smpp.status import Status

from .clock import Clock
from .ids import IdFormat
from .limits import TokenBucket


@dataclass(frozen=True, slots=True)
class NumberRange:
    """A prefix ("4479") or an inclusive range of equal-length numbers ("447900000100-447900000199")."""

    low: str
    high: str | None = None

    @classmethod
    def parse(cls, text: str) -> NumberRange:
        text = text.strip().lstrip("+")
        if "-" in text:
            low, high = (part.strip().lstrip("+") for part in text.split("-", 1))
            if not (low.isdigit() and high.isdigit() and len(low) == len(high) and low <= high):
                raise ValueError(f"number range {text!r} needs two equal-length numbers, low first")
            return cls(low, high)
        if not text.isdigit():
            raise ValueError(f"number prefix {text!r} must be digits")
        return cls(text)

    def matches(self, number: str) -> bool:
        number = number.lstrip("+")
        if self.high is None:
            return number.startswith(self.low)
        return len(number) == len(self.low) and self.low <= number <= self.high

    @property
    def specificity(self) -> int:
        return len(self.low) + (100 if self.high is not None else 0)


@dataclass(slots=True, eq=False)
class Account:
    config: AccountConfig
    bucket: TokenBucket
    numbers: tuple[NumberRange, ...] = ()
    binds: int = 0
    configured: bool = True  # False for accounts made on the fly in open mode
    id_format: IdFormat = IdFormat.HEX

    @property
    def system_id(self) -> str:
        return self.config.system_id

    def owns(self, number: str) -> int:
        """The specificity of this account's best match for number (0 = not owned)."""
        best = 0
        for number_range in self.numbers:
            if number_range.matches(number):
                best = max(best, number_range.specificity)
        return best


class Accounts:
    """All accounts. With none configured, any credentials bind (open mode) so local use needs no set-up."""

    def __init__(self, configs: list[AccountConfig], clock: Clock) -> None:
        self.clock = clock
        self.open_mode = not configs
        self._accounts: dict[str, Account] = {}
        self._any_numbers = False
        for config in configs:
            self._add(config, configured=True)

    def _add(self, config: AccountConfig, *, configured: bool) -> Account:
        account = Account(
            config=config,
            bucket=TokenBucket(config.tps or None, clock=self.clock),
            numbers=tuple(NumberRange.parse(n) for n in config.numbers),
            configured=configured,
            id_format=IdFormat(config.id_format),
        )
        self._accounts[config.system_id] = account
        self._any_numbers = self._any_numbers or bool(account.numbers)
        return account

    def get(self, system_id: str) -> Account | None:
        return self._accounts.get(system_id)

    def get_or_create(self, system_id: str) -> Account:
        """The account of that system_id; in open mode (or for HTTP/SMTP senders) one is made on first use."""
        system_id = system_id[:15] or "anonymous"  # SMPP's limit, applied before the lookup too
        account = self._accounts.get(system_id)
        if account is None:
            account = self._add(AccountConfig(system_id=system_id), configured=False)
        return account

    def set_numbers(self, account: Account, numbers: list[str]) -> None:
        """Give an account the numbers (prefixes or ranges) it owns, replacing what it had."""
        account.config.numbers = list(numbers)
        account.numbers = tuple(NumberRange.parse(n) for n in numbers)
        self._any_numbers = any(a.numbers for a in self._accounts.values())

    def __iter__(self):
        return iter(self._accounts.values())

    def authenticate(self, system_id: str, password: str, bind_type: str) -> tuple[int, Account | None]:
        """The bind's verdict: (status, account). Checks system_id, password, bind type and max binds."""
        account = self._accounts.get(system_id)
        if account is None:
            if not self.open_mode:
                return Status.ESME_RINVSYSID, None
            if not system_id or len(system_id) > 15:
                return Status.ESME_RINVSYSID, None
            account = self.get_or_create(system_id)
        config = account.config
        if config.password is not None and password != config.password:
            return Status.ESME_RINVPASWD, None
        if bind_type not in config.bind_types:
            return Status.ESME_RBINDFAIL, None
        if config.max_binds and account.binds >= config.max_binds:
            return Status.ESME_RBINDFAIL, None
        return Status.ESME_ROK, account

    def owner_of(self, number: str) -> Account | None:
        """The account owning a number: the most specific range or longest prefix wins."""
        if not self._any_numbers:
            return None
        best: Account | None = None
        best_score = 0
        for account in self._accounts.values():
            score = account.owns(number)
            if score > best_score:
                best, best_score = account, score
        return best
