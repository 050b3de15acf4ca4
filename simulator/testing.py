"""Run a whole simulator in a background thread with its own event loop, for tests of any flavour.

Sync, asyncio and trio test suites can all use it, because the simulator never shares the test's
loop. `call()` runs a function on the simulator's loop, which is how a test reads or changes the
carrier safely.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .app import Simulator
from .config import Config, ControlConfig, SmppConfig
from .core.clock import Clock
from .core.scenario import Scenario

T = TypeVar("T")


def loopback_config(*, control: bool = True, accounts: list | None = None, **smpp: Any) -> Config:
    """A config on 127.0.0.1 with free ports picked by the OS."""
    return Config(smpp=SmppConfig(port=0, **smpp), control=ControlConfig(port=0, enabled=control),
                  accounts=list(accounts or []))


class SimulatorThread:
    """A Simulator running in a daemon thread. Use as a context manager, or start()/stop()."""

    def __init__(self, config: Config | None = None, *, scenario: Scenario | None = None,
                 clock: Clock | None = None, store_capacity: int | None = None) -> None:
        self.config = config or loopback_config()
        self._scenario = scenario
        self._clock = clock
        self._store_capacity = store_capacity
        self.loop: asyncio.AbstractEventLoop | None = None
        self.simulator: Simulator | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> SimulatorThread:
        self._thread = threading.Thread(target=self._run, name="carrier-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("carrier-sim did not start in time")
        if self._error is not None:
            raise RuntimeError("carrier-sim failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        try:
            self.simulator = Simulator(self.config, scenario=self._scenario, clock=self._clock,
                                       store_capacity=self._store_capacity)
            self._stop = asyncio.Event()
            await self.simulator.start()
        except BaseException as error:  # reported to the starting thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.simulator.stop(grace=0.3)  # test clients rarely answer the server's unbind

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Run fn(*args) on the simulator's loop and return its result (coroutines are awaited)."""
        assert self.loop is not None

        async def runner() -> Any:
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(runner(), self.loop)
        return future.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop is not None and self._stop is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def carrier(self):
        assert self.simulator is not None
        return self.simulator.carrier

    @property
    def smpp_port(self) -> int:
        assert self.simulator is not None
        return self.simulator.smpp_port

    @property
    def control_url(self) -> str:
        assert self.simulator is not None
        return self.simulator.control_url
