"""SmppUser: one Locust user is one transceiver bind submitting the harness's workload."""

from __future__ import annotations

import itertools

import gevent
from locust import User, constant, task

from .smpp_bind import BindDown, SmppBind
from .smpp_target import parse_target

_numbers = itertools.count(1)


class SmppUser(User):
    """Binds to Locust's --host (smpp://[system_id[:password]@]host:port) and submits as fast as its
    window allows (closed model) or at the harness's arrival rate (open model). Receipts come back on
    the same bind (or any other bind of the system_id) and are matched by the process's tracker."""

    host = "smpp://127.0.0.1:2775"
    wait_time = constant(0)
    burst = 64  # messages per task run: Locust's task loop costs more than a submit_sm

    def on_start(self) -> None:
        harness = self.environment.harness
        options = harness.options
        target = parse_target(self.host, system_id=harness.system_id(), password=options.password,
                              system_type=options.system_type)
        self.bind = SmppBind(f"{harness.node}/{target.system_id}#{next(_numbers)}", target, harness,
                             window=options.window, request_timeout=options.request_timeout,
                             max_retries=options.max_retries, registered_delivery=options.registered_delivery)
        self.bind.ensure_bound()

    def on_stop(self) -> None:
        self.bind.close()

    @task
    def submit(self) -> None:
        harness = self.environment.harness
        bind = self.bind
        try:
            for _ in range(self.burst):
                if not bind.ensure_bound():
                    return
                bind.wait_ready()
                if bind.resend_due():  # retries go out even while draining: their messages are awaited
                    continue
                if not harness.sending_allowed():
                    bind.flush()
                    gevent.sleep(0.1)
                    return
                intended = harness.next_slot()
                out = harness.next_message()
                if out is None:
                    bind.flush()
                    gevent.sleep(0.1)
                    return
                bind.send(out, intended)
        except BindDown:
            return
        finally:
            bind.flush()  # nothing queued may wait for the next task run
