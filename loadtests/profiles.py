"""Load shapes as pure functions of time: how many users (binds) should run `t` seconds into the run."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    """users(t) for one shape; `duration` is the sending time the shape is drawn over."""

    shape: str
    users: int
    duration: float
    steps: int = 5
    spike_factor: float = 5.0

    def users_at(self, t: float) -> int:
        users, duration = max(1, self.users), max(self.duration, 1e-9)
        progress = min(max(t / duration, 0.0), 1.0)
        if self.shape == "ramp":  # linear from one user to all of them
            return max(1, math.ceil(users * progress))
        if self.shape == "step":  # `steps` equal steps up to all users
            step = min(self.steps, int(progress * self.steps) + 1)
            return max(1, math.ceil(users * step / self.steps))
        if self.shape == "spike":  # a fifth of the users, all of them in the middle fifth of the run
            base = max(1, math.ceil(users / self.spike_factor))
            return users if 0.4 <= progress < 0.6 else base
        # constant, soak (constant for a long time) and burst (everyone at once, for a budget)
        return users
