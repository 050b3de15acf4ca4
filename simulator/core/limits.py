"""Token-bucket throughput limits (per account / per bind TPS caps), refilled lazily from the injected clock."""

from __future__ import annotations

from simulator.core.clock import Clock

__all__ = ["TokenBucket"]

# Float refill arithmetic can leave 0.9999999 tokens where exactly 1.0 was
# earned; without this slack a client pacing exactly at the cap gets throttled.
_EPSILON = 1e-9


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst`` tokens.

    ``rate`` <= 0 or None means unlimited: ``try_acquire`` always succeeds.

    The default ``burst`` is ``max(1.0, rate / 10)`` -- a tenth of a second of
    traffic -- not a full second: a one-second burst would let a 50 TPS
    account push ~60 msg/s over a 5 s test (50 burst + 250 refill), while real
    carriers enforce per-second caps tightly. The bucket starts full.

    A request for more than ``burst`` tokens can never succeed.
    ``clock`` is keyword-only and required so tests cannot forget to inject it.
    Refill is computed on demand from ``clock.now()``; there are no timers.
    """

    __slots__ = ("_rate", "_burst", "_tokens", "_last", "_now", "_unlimited")

    def __init__(self, rate: float | None, burst: float | None = None, *, clock: Clock) -> None:
        self._now = clock.now
        self._last = clock.now()
        self._rate = 0.0
        self._burst = 0.0
        self._tokens = 0.0
        self._unlimited = True
        self._configure(rate, burst, fill=True)

    @property
    def rate(self) -> float | None:
        """Tokens per second, or None when unlimited."""
        return None if self._unlimited else self._rate

    @property
    def burst(self) -> float | None:
        """Bucket capacity, or None when unlimited."""
        return None if self._unlimited else self._burst

    @property
    def unlimited(self) -> bool:
        return self._unlimited

    def available(self) -> float:
        """Tokens available now (inf when unlimited); for metrics and tests."""
        if self._unlimited:
            return float("inf")
        self._refill()
        return self._tokens

    def try_acquire(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if available; never blocks."""
        if self._unlimited:
            return True
        # Inlined refill: this is called once per submit_sm.
        now = self._now()
        elapsed = now - self._last
        tokens = self._tokens
        if elapsed > 0.0:
            tokens += elapsed * self._rate
            if tokens > self._burst:
                tokens = self._burst
            self._last = now
        if tokens + _EPSILON >= n:
            tokens -= n
            # The epsilon may take us a hair below zero; do not carry a debt.
            self._tokens = tokens if tokens > 0.0 else 0.0
            return True
        self._tokens = tokens
        return False

    def set_rate(self, rate: float | None, burst: float | None = None) -> None:
        """Change the limit in place (e.g. an account edited via the admin API).

        Tokens earned at the old rate are credited first, then the level is
        clamped to the new burst. Going from unlimited to limited starts full.
        """
        was_unlimited = self._unlimited
        if not was_unlimited:
            self._refill()
        else:
            self._last = self._now()
        self._configure(rate, burst, fill=was_unlimited)

    def _configure(self, rate: float | None, burst: float | None, *, fill: bool) -> None:
        if rate is None or rate <= 0:
            self._unlimited = True
            self._rate = 0.0
            self._burst = 0.0
            self._tokens = 0.0
            return
        rate = float(rate)
        if burst is None:
            burst = max(1.0, rate / 10.0)
        elif burst <= 0:
            raise ValueError(f"burst must be > 0, got {burst!r}")
        self._unlimited = False
        self._rate = rate
        self._burst = float(burst)
        self._tokens = self._burst if fill else min(self._tokens, self._burst)

    def _refill(self) -> None:
        now = self._now()
        elapsed = now - self._last
        if elapsed > 0.0:
            tokens = self._tokens + elapsed * self._rate
            self._tokens = tokens if tokens < self._burst else self._burst
            self._last = now

    def __repr__(self) -> str:
        if self._unlimited:
            return "TokenBucket(unlimited)"
        return f"TokenBucket(rate={self._rate!r}, burst={self._burst!r}, tokens={self._tokens:.3f})"
