"""An embedded carrier-sim for a load test: a child process on free loopback ports.

A child, never a thread: Locust monkey-patches its process with gevent, and the asyncio simulator
must not share that process. The child is told to listen on port 0 (any free port), prints its
listeners, and is ready once its SMPP port accepts a connection.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

_LISTENER = re.compile(r"^\s+(\S+)\s+(\w+)://(\S+):(\d+)\s*$")
_PROVIDERS = re.compile(r"^\s+providers\s+(.*?)\s+\(HTTP APIs at (\S+)\)")  # names, then their shared URL


class EmbeddedSimulatorError(RuntimeError):
    """The simulator would not start; the message carries what it printed."""


class EmbeddedSimulator:
    """`python -m simulator.cli serve --port 0 --control-port 0 --scenario S` as a child process."""

    def __init__(self, scenario: str = "happy-path", *, config: str | None = None, host: str = "127.0.0.1",
                 log: Path | None = None) -> None:
        self.scenario = scenario
        self.config = config
        self.host = host
        self.log = log
        self.listeners: dict[str, str] = {}  # name -> URL, as the simulator printed them
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._pump: threading.Thread | None = None
        self._last_line = time.monotonic()

    @property
    def smpp_url(self) -> str:
        return self.listeners["smpp"]

    @property
    def control_url(self) -> str:
        return self.listeners.get("control", "")

    def start(self, timeout: float = 20.0) -> EmbeddedSimulator:
        command = [sys.executable, "-m", "simulator.cli", "serve", "--host", self.host, "--port", "0",
                   "--control-port", "0", "--scenario", self.scenario]
        if self.config:
            command += ["--config", self.config]
        # Its own session: a Ctrl-C at the terminal stops Locust, which then still needs the carrier to
        # drain and correlate; stop() ends the carrier afterwards.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1, start_new_session=True)
        deadline = time.monotonic() + timeout
        stream = self.process.stdout
        assert stream is not None
        self._pump = threading.Thread(target=self._drain_output, args=(stream,), daemon=True)
        self._pump.start()
        # The listing is printed at once: once SMPP and control are in, give the rest a moment to arrive.
        while not ({"smpp", "control"} <= set(self.listeners) and self._quiet_for(0.3)):
            if self.process.poll() is not None and not self._pump.is_alive():
                self.stop()
                raise EmbeddedSimulatorError("carrier-sim exited before listening:\n" + "".join(self._lines))
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedSimulatorError("carrier-sim did not list its listeners in time:\n" + "".join(self._lines))
            time.sleep(0.02)
        self._wait_accepting(deadline)
        return self

    def _quiet_for(self, seconds: float) -> bool:
        return time.monotonic() - self._last_line >= seconds

    def _wait_accepting(self, deadline: float) -> None:
        host, port = self.smpp_url.removeprefix("smpp://").rsplit(":", 1)
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or (self.process and self.process.poll() is not None):
                    self.stop()
                    raise EmbeddedSimulatorError(f"carrier-sim's SMPP port {port} never accepted a connection")
                time.sleep(0.05)

    def _note(self, line: str) -> None:
        self._last_line = time.monotonic()
        self._lines.append(line)
        match = _LISTENER.match(line)
        if match:
            name, scheme, host, port = match.groups()
            self.listeners[name] = f"{scheme}://{host}:{port}"
        providers = _PROVIDERS.match(line)
        if providers:  # the provider HTTP APIs, each by name, served at one URL
            for name in providers.group(1).split(","):
                self.listeners[name.strip()] = providers.group(2)

    def _drain_output(self, stream: IO[str]) -> None:
        """Keep reading the child's output so it never blocks on a full pipe (later listeners too)."""
        for line in stream:
            self._note(line)

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # graceful: the simulator unbinds its sessions
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._pump is not None:
            self._pump.join(2)
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self.log.write_text("".join(self._lines))
        self.process = None

    def __enter__(self) -> EmbeddedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
