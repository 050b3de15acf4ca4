"""Flow control after 'slow down' answers (0x58, 0x14): a growing pause, and AIMD on what may be in flight."""

from __future__ import annotations


class FlowControl:
    """One bind's back-off. A throttling burst -- however many answers of a full window it takes --
    pauses sending once, doubles the next pause (up to `maximum`) and halves the in-flight cap;
    each window's worth of accepted submits raises the cap by one and halves the pause again."""

    def __init__(self, window: int, *, base: float = 0.05, maximum: float = 2.0) -> None:
        self.window = window
        self.allowed = window
        self.pause_until = 0.0  # perf_counter: nothing new is written before this
        self.base, self.maximum = base, maximum
        self.pause = base
        self._successes = 0

    @property
    def capped(self) -> bool:
        """The in-flight cap is below the window: the sender must also wait for it."""
        return self.allowed < self.window

    def throttled(self, now: float) -> None:
        if now < self.pause_until:
            return  # the same burst: the rest of a window answered together must not escalate it again
        self.pause_until = now + self.pause
        self.pause = min(self.pause * 2, self.maximum)
        self.allowed = max(1, self.allowed // 2)
        self._successes = 0

    def succeeded(self) -> None:
        self._successes += 1
        if self._successes >= self.allowed:
            self._successes = 0
            self.allowed = min(self.window, self.allowed + 1)
            self.pause = max(self.base, self.pause / 2)
