"""The Locust load shape: the profile chosen with --shape, drawn over --duration with -u users.

The shape never ends the run itself (tick() never returns None while the harness has a
--duration): the harness's coordinator does, after draining receipts, so none is cut off.
"""

from __future__ import annotations

from locust import LoadTestShape

from .durations import parse_duration
from .profiles import Profile


class HarnessShape(LoadTestShape):
    use_common_options = True  # -u and -r still count

    def tick(self):
        options = self.runner.environment.parsed_options
        users = int(options.num_users or 1)
        duration = parse_duration(options.duration) if options.duration else float(options.run_time or 0)
        profile = Profile(options.shape, users, duration or 60.0)
        run_time = self.get_run_time()
        if not options.duration and options.run_time and run_time > options.run_time:
            return None
        # Binds are cheap to open: move to each new user count within a second.
        return profile.users_at(run_time), max(float(options.spawn_rate or 1), float(users))
