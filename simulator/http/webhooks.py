"""The one webhook poster every provider shares: bounded concurrency, per-key ordering, retries with back-off, signing."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.config import WebhookConfig
from simulator.core.clock import Clock
from simulator.core.outbox import Delivery, Outbox
from simulator.core.records import Item
from simulator.core.scheduler import Scheduler, Timer

from .client import HttpClient, HttpError, InvalidRequest, Response

__all__ = ["Webhook", "WebhookAttempt", "WebhookPoster", "MailboxEndpoint", "twilio_signature", "hub_signature"]

_log = logging.getLogger("carrier_sim.webhooks")


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature exactly as twilio-python's RequestValidator computes it.

    base64(HMAC-SHA1(token, url + each sorted name followed by its sorted, de-duplicated values)).
    """
    # Sorting the distinct (name, value) pairs orders by name, then value: the same text, built in one go
    # (this runs for every status callback).
    text = url + "".join([name + value for name, value in sorted(set(params))])
    mac = _keyed_sha1(token).copy()
    mac.update(text.encode("utf-8"))
    return base64.b64encode(mac.digest()).decode("ascii")


@functools.lru_cache(maxsize=256)
def _keyed_sha1(token: str) -> hmac.HMAC:
    # Keyed once per auth token and copied per signature: a one-shot hmac.digest() looks SHA-1 up in
    # OpenSSL every time, which cost more than the copy.
    return hmac.new(token.encode("utf-8"), digestmod=hashlib.sha1)


def hub_signature(secret: str, body: bytes) -> str:
    """Meta's X-Hub-Signature-256 value: sha256=<hex HMAC-SHA256(app secret, raw body)>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(slots=True, eq=False)
class Webhook:
    """One request to a customer's server, retried until it answers 2xx or attempts run out."""

    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    label: str = ""  # what it is, for the log and the attempt history
    key: Any = None  # webhooks with the same key go out one at a time, in order (e.g. one message's statuses)
    # Called with a 2xx response (e.g. to read a TwiML reply); an exception there is logged, not retried.
    on_response: Callable[[Response], None] | None = None
    # Awaited before each attempt (e.g. WhatsApp's verification handshake); False fails the attempt.
    before: Callable[[HttpClient], Awaitable[bool]] | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One attempt, kept for inspection (tests, the control API)."""

    at: float  # wall clock
    url: str
    label: str
    attempt: int
    status: int | None  # the HTTP status, None when there was no answer
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookPoster:
    """Posts webhooks from a fixed pool of worker tasks sharing one HttpClient (simulator/http/client.py).

    Each worker sends one request at a time, so at most `concurrency` connections are busy; they are
    kept alive and shared per origin. (httpx was the cost here: about 1,000-1,200 callbacks/s on one
    core, most of it in httpx, httpcore and anyio.)

    Failures (no answer, timeout, or any non-2xx status) are retried with exponential back-off on the
    carrier's scheduler, up to `max_attempts`. Webhooks sharing a key are sent strictly one after
    another (a retry holds back the ones behind it) so a receiver sees a message's statuses in order.
    """

    def __init__(self, scheduler: Scheduler, clock: Clock, config: WebhookConfig | None = None,
                 *, max_backlog: int = 100_000, history: int = 2_000,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self.config = config or WebhookConfig()
        self.max_backlog = max_backlog
        self.ssl_context = ssl_context  # None: the system's trust store (tests pass one trusting their own CA)
        self.history: deque[WebhookAttempt] = deque(maxlen=history)
        self.sent = 0
        self.retried = 0
        self.abandoned = 0
        self._queue: asyncio.Queue[Webhook] | None = None
        self._client: HttpClient | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._ordered: dict[Any, deque[Webhook]] = {}  # key -> webhooks waiting behind the one in progress
        self._pending = 0  # accepted and not yet finished (waiting, in flight or waiting to retry)
        self._room_waiters: list[Callable[[], None]] = []
        self._early: list[Webhook] = []  # posted before start()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._client is not None:
            return
        config = self.config
        self._queue = asyncio.Queue()
        # No proxies and no redirects: webhooks go exactly where configured. Idle connections are kept
        # for twice as many as can be busy at once, so a few receivers each keep theirs warm.
        client = self._client = HttpClient(timeout=config.timeout, ssl_context=self.ssl_context,
                                           max_idle=2 * config.concurrency)
        self._workers = [asyncio.create_task(self._work(client), name=f"webhook-{i}")
                         for i in range(config.concurrency)]
        for hook in self._early:
            self._queue.put_nowait(hook)
        self._early.clear()

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ posting

    @property
    def pending(self) -> int:
        """Webhooks accepted and not yet answered or given up on."""
        return self._pending

    def has_room(self) -> bool:
        return self._pending < self.max_backlog

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call back once the backlog falls to half of max_backlog (outbox endpoints pump on it)."""
        if callback not in self._room_waiters:
            self._room_waiters.append(callback)

    def post(self, hook: Webhook) -> None:
        self._pending += 1
        if hook.key is not None:
            waiting = self._ordered.get(hook.key)
            if waiting is not None:
                waiting.append(hook)
                return
            self._ordered[hook.key] = deque()
        self._enqueue(hook)

    def _enqueue(self, hook: Webhook) -> None:
        if self._queue is None:
            self._early.append(hook)
        else:
            self._queue.put_nowait(hook)

    async def _work(self, client: HttpClient) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            hook = await queue.get()
            try:
                await self._attempt(hook, client)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not kill the worker
                _log.exception("webhook %s failed unexpectedly", hook.label)
                self._finished(hook)

    async def _attempt(self, hook: Webhook, client: HttpClient) -> None:
        hook.attempts += 1
        status: int | None = None
        error = ""
        response: Response | None = None
        try:
            if hook.before is not None and not await hook.before(client):
                error = "handshake refused"
            else:
                response = await client.request(hook.method, hook.url, content=hook.body or None,
                                                headers=hook.headers)
                status = response.status_code
        except HttpError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except (InvalidRequest, ValueError) as exc:  # e.g. a malformed URL in the configuration
            error = f"invalid request: {exc}"
        attempt = WebhookAttempt(self.clock.wall(), hook.url, hook.label, hook.attempts, status, error)
        self.history.append(attempt)
        if attempt.ok:
            self.sent += 1
            if hook.on_response is not None and response is not None:
                try:
                    hook.on_response(response)
                except Exception:
                    _log.exception("webhook %s: handling the answer failed", hook.label)
            self._finished(hook)
            return
        reason = error or f"HTTP {status}"
        if hook.attempts >= self.config.max_attempts or error.startswith("invalid request"):
            self.abandoned += 1
            _log.warning("webhook %s to %s: %s; gave up after %d attempts", hook.label, hook.url, reason,
                         hook.attempts)
            self._finished(hook)
            return
        self.retried += 1
        config = self.config
        delay = min(config.max_delay, config.first_delay * config.factor ** (hook.attempts - 1))
        _log.info("webhook %s to %s: %s; attempt %d in %gs", hook.label, hook.url, reason, hook.attempts + 1, delay)
        self.scheduler.call_later(delay, self._enqueue, hook)

    def _finished(self, hook: Webhook) -> None:
        self._pending -= 1
        if hook.key is not None:
            waiting = self._ordered.get(hook.key)
            if waiting:
                self._enqueue(waiting.popleft())
            else:
                self._ordered.pop(hook.key, None)
        if self._room_waiters and self._pending <= self.max_backlog // 2:
            waiters, self._room_waiters = self._room_waiters, []
            for callback in waiters:
                try:
                    callback()
                except Exception:
                    _log.exception("webhook room callback failed")

    def reset(self) -> None:
        """Forget ordering and counts after a carrier reset (which drops retries waiting on the scheduler)."""
        self._ordered.clear()
        self._pending = self._queue.qsize() if self._queue is not None else len(self._early)
        self.history.clear()

    def attempts(self, url_prefix: str = "") -> list[WebhookAttempt]:
        return [a for a in self.history if a.url.startswith(url_prefix)]


class MailboxEndpoint:
    """An outbox endpoint for a front end's carrier account: each receipt or MO goes to `handle`.

    The front end turns the item into webhooks (which the poster retries), so the carrier's delivery is
    settled as soon as it is handed over. Settling is deferred to a scheduler tick, because settle()
    pumps the outbox again and a synchronous settle would recurse once per held item.
    """

    def __init__(self, outbox: Outbox, scheduler: Scheduler, mailbox: str, handle: Callable[[Item], None],
                 poster: WebhookPoster) -> None:
        self.mailbox = mailbox
        self._outbox = outbox
        self._scheduler = scheduler
        self._handle = handle
        self._poster = poster
        self._settle: list[tuple[Delivery, bool, str]] = []
        self._timer: Timer | None = None

    def has_capacity(self) -> bool:
        if self._poster.has_room():
            return True
        self._poster.when_room(lambda: self._outbox.pump(self.mailbox))
        return False

    def offer(self, delivery: Delivery) -> None:
        ok, reason = True, ""
        try:
            self._handle(delivery.item)
        except Exception as error:
            _log.exception("front end for %s failed on an item", self.mailbox)
            ok, reason = False, f"front end error: {type(error).__name__}"
        # Checked by the timer, not the list: a carrier reset clears the scheduler under a pending flush.
        if self._timer is None or not self._timer.pending:
            self._timer = self._scheduler.call_later(0.0, self._flush)
        self._settle.append((delivery, ok, reason))

    def _flush(self) -> None:
        self._timer = None
        batch, self._settle = self._settle, []
        for delivery, ok, reason in batch:
            self._outbox.settle(delivery, self, ok, reason)
