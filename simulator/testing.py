"""Test helpers sharing no event loop with the test, so sync, asyncio and trio suites can all use them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import select
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .app import Simulator
from .config import Config, ControlConfig, SmppConfig
from .core.clock import Clock
from .core.scenario import Scenario

T = TypeVar("T")
WAIT = 10.0  # seconds every helper waits at most by default


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


class SmppTestClient:
    """A bound smpplib client whose PDUs a background thread reads, answers and keeps, for blocking waits."""

    def __init__(self, port: int, system_id: str = "pytest", password: str = "secret",
                 bind: str = "transceiver") -> None:
        import smpplib.client  # here, not at the top: the simulator itself runs without smpplib

        self.system_id = system_id
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True)
        self.received: list[Any] = []  # every PDU read, in order
        self.disconnected = threading.Event()  # set when the server closes the connection (not when we do)
        self.answer_unbind = True  # False: ignore the server's unbind, as smpplib's own read_once() does
        # The command_status to answer each deliver_sm or data_sm with; None leaves it unanswered.
        self.deliver_sm_status: Callable[[Any], int | None] = lambda pdu: 0
        self._by_command: dict[str, list[Any]] = {}
        self._arrived: dict[int, float] = {}  # id(pdu) -> time.monotonic() when it was read
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self.client.connect()
        try:
            self.bind_response = getattr(self.client, f"bind_{bind}")(system_id=system_id, password=password)
        except BaseException:
            self.client.disconnect()
            raise
        self._thread = threading.Thread(target=self._read, name=f"smpp-{system_id}", daemon=True)
        self._thread.start()

    def __enter__(self) -> SmppTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the reader thread

    def _answer(self, pdu: Any) -> None:
        """deliver_sm and data_sm as deliver_sm_status says, enquire_link always, unbind if answer_unbind."""
        import smpplib.smpp

        if pdu.command in ("deliver_sm", "data_sm"):
            status = self.deliver_sm_status(pdu)
        elif pdu.command == "enquire_link" or (pdu.command == "unbind" and self.answer_unbind):
            status = 0
        else:
            return
        if status is None:
            return
        response = smpplib.smpp.make_pdu(f"{pdu.command}_resp", client=self.client, status=status)
        response.sequence = pdu.sequence
        with self._send_lock:
            self.client.send_pdu(response)

    def _read(self) -> None:
        sock = self.client._socket
        while not self._stop.is_set():
            try:
                if not select.select([sock], [], [], 0.05)[0]:
                    continue
                pdu = self.client.read_pdu()
            except Exception:  # EOF, reset, or our own close
                if not self._stop.is_set():
                    self.disconnected.set()
                break
            try:
                self._answer(pdu)
            except Exception:
                pass  # the connection is going; the read above reports it
            with self._cond:
                self.received.append(pdu)
                self._by_command.setdefault(pdu.command, []).append(pdu)
                self._arrived[id(pdu)] = time.monotonic()
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ what has arrived

    def arrival(self, pdu: Any) -> float:
        """When `pdu` was read (time.monotonic())."""
        return self._arrived[id(pdu)]

    def _of(self, command: str) -> list[Any]:
        with self._cond:
            return list(self._by_command.get(command, ()))

    @property
    def responses(self) -> list[Any]:
        """Every submit_sm_resp read so far, errors included, in arrival order."""
        return self._of("submit_sm_resp")

    @property
    def delivered(self) -> list[Any]:
        """Every deliver_sm (MO or receipt) read so far, in arrival order; deliveries() waits for them."""
        return self._of("deliver_sm")

    def wait_until(self, condition: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Whether `condition()` came true within `timeout` seconds (checked as PDUs arrive, and every 50 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            arrived = len(self.received)
            if condition():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._cond:
                if len(self.received) == arrived:  # nothing new since condition() looked
                    self._cond.wait(min(left, 0.05))

    def wait_for(self, match: Callable[[Any], bool], count: int = 1, timeout: float = WAIT) -> list[Any]:
        """The first `count` received PDUs that match, once that many have arrived; AssertionError on timeout."""
        found: list[Any] = []
        seen = 0

        def enough() -> bool:
            nonlocal seen
            with self._cond:
                new = self.received[seen:]
            seen += len(new)
            found.extend(pdu for pdu in new if match(pdu))
            return len(found) >= count

        if not self.wait_until(enough, timeout):
            commands = [pdu.command for pdu in self.received]
            raise AssertionError(f"{self.system_id}: {len(found)} of {count} PDUs within {timeout}s; "
                                 f"received {commands}")
        return found[:count]

    def deliveries(self, count: int = 1, timeout: float = WAIT) -> list[Any]:
        """Wait for `count` deliver_sm (MO or receipts) and return them."""
        return self.wait_for(lambda p: p.command == "deliver_sm", count, timeout)

    def wait_disconnected(self, timeout: float = WAIT) -> bool:
        """Whether the server closed the connection within `timeout` seconds."""
        return self.disconnected.wait(timeout)

    @staticmethod
    def text(pdu: Any) -> str:
        """A deliver_sm's or submit_sm's short_message decoded by its data_coding."""
        from simulator.smpp import text as sms_text

        return sms_text.decode(pdu.short_message, pdu.data_coding or 0)

    # ------------------------------------------------------------------ sending

    def submit_nowait(self, source: str = "12345", destination: str = "447700900001", text: str | bytes = "hello",
                      **fields: Any) -> Any:
        """Send a submit_sm and return it (for its `.sequence`); its submit_sm_resp lands in `responses`.

        A str text is encoded in GSM 7-bit, or UCS-2 where it must be (or in `data_coding` if given);
        bytes go as they are, with `data_coding` 0 unless given. An alphanumeric source gets TON 5,
        NPI 0, a numeric one and the destination TON 1, NPI 1; `fields` override any of it.
        """
        from simulator.smpp import text as sms_text

        if isinstance(text, str):
            coding = fields.pop("data_coding", None)
            coding = sms_text.choose_data_coding(text) if coding is None else coding
            short_message = sms_text.encode(text, coding)
        else:
            coding, short_message = fields.pop("data_coding", 0), text
        numeric = source.isdigit()
        pdu_fields = {"source_addr_ton": 1 if numeric else 5, "source_addr_npi": 1 if numeric else 0,
                      "dest_addr_ton": 1, "dest_addr_npi": 1, **fields}
        with self._send_lock:
            return self.client.send_message(source_addr=source, destination_addr=destination,
                                            short_message=short_message, data_coding=int(coding), **pdu_fields)

    def submit(self, source: str = "12345", destination: str = "447700900001", text: str | bytes = "hello",
               **fields: Any) -> Any:
        """submit_nowait() and wait for its submit_sm_resp, which is returned."""
        sequence = self.submit_nowait(source, destination, text, **fields).sequence
        return self.wait_for(lambda p: p.command == "submit_sm_resp" and p.sequence == sequence)[0]

    def unbind(self, timeout: float = WAIT) -> Any:
        """Send unbind and wait for its unbind_resp, which is returned (smpplib's state is then OPEN)."""
        import smpplib.smpp

        with self._send_lock:
            pdu = smpplib.smpp.make_pdu("unbind", client=self.client)
            self.client.send_pdu(pdu)
        return self.wait_for(lambda p: p.command == "unbind_resp" and p.sequence == pdu.sequence, timeout=timeout)[0]

    def close(self) -> None:
        """Unbind (unless the server has gone or we already did), stop the reader and disconnect."""
        import smpplib.consts

        if not self.disconnected.is_set():
            try:
                self.unbind(timeout=2.0)
            except Exception:
                pass
        self._stop.set()
        self._thread.join(2.0)
        try:
            self.client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
            self.client.disconnect()
        except Exception:
            pass
