"""Wiring the harness into Locust's events: options, the per-process harness, the coordinator, reports."""

from __future__ import annotations

import locust.runners
from locust.runners import MasterRunner, WorkerRunner

from .coordinator import Coordinator, install_worker
from .harness import Harness
from .options import HarnessOptions, add_arguments

# Workers report every 3 s by default; a second keeps the master's progress and drain check fresh.
locust.runners.WORKER_REPORT_INTERVAL = 1.0


def install(events) -> None:
    """Register the harness on a locustfile's `events`."""

    @events.init_command_line_parser.add_listener
    def _arguments(parser, **kwargs) -> None:
        add_arguments(parser)

    @events.init.add_listener
    def _init(environment, **kwargs) -> None:
        options = HarnessOptions.from_parsed(environment.parsed_options)
        runner = environment.runner
        harness = None
        if not isinstance(runner, MasterRunner):
            harness = environment.harness = Harness(environment, options)
        if isinstance(runner, WorkerRunner):
            install_worker(environment, harness)
        else:
            coordinator = environment.coordinator = Coordinator(environment, options, harness)
            coordinator.install()

    @events.test_start.add_listener
    def _test_start(environment, **kwargs) -> None:
        harness = getattr(environment, "harness", None)
        if harness is None:
            return
        # Workers learn the master's options (and so the worker count) with their first spawn message.
        harness.options = HarnessOptions.from_parsed(environment.parsed_options)
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            workers = int(getattr(environment.parsed_options, "expect_workers", 1) or 1)
            harness.configure(runner.client_id, max(0, runner.worker_index), workers)
        else:
            harness.configure("local", 0, 1)

    @events.quitting.add_listener
    def _quitting(environment, **kwargs) -> None:
        coordinator = getattr(environment, "coordinator", None)
        if coordinator is not None and coordinator.summary is None:
            coordinator.write_summary(interrupted=True)
        harness = getattr(environment, "harness", None)
        if harness is not None:
            harness.stop()
