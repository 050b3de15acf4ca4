"""The running simulator: one carrier core and its front ends (SMPP, HTTP, SMTP) on one event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from dataclasses import dataclass

from . import speedups
from .config import Config
from .core.carrier import Carrier
from .core.clock import Clock
from .core.metrics import GC_PAUSES
from .core.scenario import Scenario
from .core.scheduler import Scheduler
from .http.providers import ProviderFrontEnds
from .smpp.server import SmppServer

_log = logging.getLogger("carrier_sim")


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    host: str
    port: int
    scheme: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.name:<12} {self.scheme}://{host}:{self.port}"


def tune_gc() -> None:
    """Keep the garbage collector's pauses short: small young generations, promoted quickly, never a full pass.

    A collection walks every tracked object of the generations it collects, so a pause lasts as
    long as they are large. Messages and receipts are not tracked at all (records.py); timers,
    deliveries and the like are, and they are long-lived and free of cycles, so every other young
    collection takes the survivors into the old generation. A full collection is never started by
    the collector (the old generation's threshold is out of reach); the start-up objects are
    collected once and frozen. The young threshold (2,000) counts allocations net of frees, which in
    steady traffic hardly move, so `collect_young_on_a_clock()` also collects every 50 ms while
    there is traffic. Pauses are on /metrics (`carrier_sim_gc_pause_seconds`).
    """
    global _gc_tuned
    gc.collect()
    gc.freeze()
    gc.set_threshold(2_000, 0, 1_000_000)
    GC_PAUSES.install()
    _gc_tuned = True  # and `collect_young_on_a_clock()` keeps the young generations small


# While timers are being scheduled, the young generations are collected this often (seconds); when
# nothing has been scheduled since the last look, the next look is IDLE_COLLECTION_PERIOD later.
YOUNG_COLLECTION_PERIOD = 0.05
IDLE_COLLECTION_PERIOD = 0.5
_gc_tuned = False


async def collect_young_on_a_clock(scheduler: Scheduler) -> None:
    """Collect the young generations every 50 ms while there is traffic, so a pause is bounded by time.

    CPython starts a collection when allocations net of frees pass the threshold. Messages and
    receipts are not tracked, and in steady traffic each message's tracked objects (its timer entry,
    its delivery) are freed about as fast as new ones are made: the count hardly moves, while the
    young generation keeps every such object still alive. After a few seconds at 20,000 messages a
    second a collection walked ~100,000 of them (70-90 ms). Runs only in a process whose collector
    `tune_gc()` set up; returns at once otherwise.
    """
    if not _gc_tuned:
        return
    seen = scheduler.scheduled
    while True:
        await asyncio.sleep(YOUNG_COLLECTION_PERIOD)
        if scheduler.scheduled == seen:
            await asyncio.sleep(IDLE_COLLECTION_PERIOD)
            continue
        seen = scheduler.scheduled
        gc.collect(1)


def install_uvloop() -> bool:
    """Use uvloop's event loop when it is installed (it roughly halves the per-PDU cost)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets of that protocol, and
    # without it Nagle and delayed ACKs hold every response body back by ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Simulator:
    """Start and stop everything that makes up one carrier-sim process."""

    def __init__(self, config: Config | None = None, *, scenario: Scenario | None = None, clock: Clock | None = None,
                 store_capacity: int | None = None, worker: tuple[int, int] = (0, 1)) -> None:
        self.config = config or Config()
        self.carrier = Carrier(self.config, clock=clock, scenario=scenario, store_capacity=store_capacity,
                               worker=worker)
        self.smpp = SmppServer(self.carrier)
        self.providers = ProviderFrontEnds(self.carrier, self.config.providers)
        self.listeners: list[Listener] = []
        self._http_servers: list = []
        self._stop_requested: asyncio.Event | None = None
        self._main: asyncio.Task[None] | None = None
        self._grace = 2.0

    @property
    def smpp_port(self) -> int:
        return next(listener.port for listener in self.listeners if listener.name == "smpp")

    @property
    def providers_url(self) -> str:
        """Where the provider HTTP APIs answer (their own listener, or the control API's)."""
        names = ("providers", "control")
        listener = next((listener for name in names for listener in self.listeners if listener.name == name), None)
        return f"http://{listener.host}:{listener.port}" if listener is not None else ""

    @property
    def smtp_port(self) -> int:
        return next(listener.port for listener in self.listeners if listener.name == "smtp")

    @property
    def control_url(self) -> str:
        listener = next(listener for listener in self.listeners if listener.name == "control")
        return f"http://{listener.host}:{listener.port}"

    async def serve(self, ready: asyncio.Future[list[Listener]] | None = None) -> None:
        """Run every front end until `stop()` is called, all tasks owned by one TaskGroup.

        trio's nursery discipline: the scheduler, SMPP housekeeping and HTTP servers live and die
        together, and a crash in any of them cancels the others and surfaces here. `ready` gets the
        listeners once everything listens.
        """
        self._stop_requested = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as tasks:
                background = [
                    tasks.create_task(self.carrier.scheduler.run(), name="scheduler"),
                    tasks.create_task(self.smpp.housekeeping(), name="smpp-housekeeping"),
                    tasks.create_task(collect_young_on_a_clock(self.carrier.scheduler), name="young-collections"),
                ]
                for host, port, tls in await self.smpp.start():
                    self.listeners.append(Listener("smpp-tls" if tls else "smpp", host, port,
                                                   "smpps" if tls else "smpp"))
                for name, host, port in await self.providers.start():
                    self.listeners.append(Listener(name, host, port, name))
                control = self.config.control
                providers = self.config.providers
                if control.enabled:
                    from .http.control import build_app

                    app = build_app(self)
                    if providers.port is None:  # the provider APIs share the control API's listener
                        app = self.providers.asgi(app)
                    port = await self._serve_http(tasks, app, control.host, control.port)
                    self.listeners.append(Listener("control", control.host, port, "http"))
                if providers.port is not None:
                    port = await self._serve_http(tasks, self.providers.asgi(), providers.host, providers.port)
                    self.listeners.append(Listener("providers", providers.host, port, "http"))
                if ready is not None and not ready.done():
                    ready.set_result(self.listeners)
                await self._stop_requested.wait()
                await self.smpp.stop(grace=self._grace)
                for server in self._http_servers:
                    server.should_exit = True  # they finish their connections and return
                for task in background:
                    task.cancel()
        finally:
            await self.providers.stop()

    async def _serve_http(self, tasks: asyncio.TaskGroup, app, host: str, port: int) -> int:
        import uvicorn

        sock = bind_socket(host, port)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                                               loop="none", http="auto"))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # we own the signals
        self._http_servers.append(server)
        task = tasks.create_task(server.serve(sockets=[sock]), name=f"http:{port}")
        while not server.started:
            await asyncio.sleep(0.005)
            if task.done():
                task.result()
        return sock.getsockname()[1]

    async def start(self) -> list[Listener]:
        """Start `serve()` in the background and return once everything listens (or raise why not)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[list[Listener]] = loop.create_future()
        self._main = asyncio.create_task(self.serve(ready), name="carrier-sim")
        await asyncio.wait([ready, self._main], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            self._main.result()  # serve() ended before listening: raise its error
            raise RuntimeError("carrier-sim stopped before it was ready")
        return ready.result()

    async def stop(self, *, grace: float = 2.0) -> None:
        """Unbind every SMPP session (closing those that do not answer within `grace` s), then stop."""
        self._grace = grace
        if self._stop_requested is not None:
            self._stop_requested.set()
        if self._main is not None:
            try:
                await self._main
            finally:
                self._main = None

    async def run_until_signalled(self, announce=print) -> None:
        """Start, print what listens where, and stop gracefully on SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        listeners = await self.start()
        announce(f"carrier-sim {self.carrier.scenario.name and 'scenario ' + self.carrier.scenario.name}".rstrip())
        for listener in listeners:
            announce(f"  {listener}")
        if self.providers.enabled:
            where = self.providers_url or "not served: the control API is off and providers.port is unset"
            announce(f"  providers    {', '.join(self.providers.enabled)} (HTTP APIs: {where})")
        announce(f"  hot path     {speedups.describe()}")
        if self.carrier.accounts.open_mode:
            announce("  accounts     none configured: any system_id and password may bind")
        try:
            await stop.wait()
        finally:
            announce("shutting down: unbinding sessions")
            await self.stop()
