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
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1)
        deadline = time.monotonic() + timeout
        stream = self.process.stdout
        assert stream is not None
        while "smpp" not in self.listeners or "control" not in self.listeners:
            line = stream.readline()
            if not line:
                self.stop()
                raise EmbeddedSimulatorError("carrier-sim exited before listening:\n" + "".join(self._lines))
            self._note(line)
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedSimulatorError("carrier-sim did not list its listeners in time:\n" + "".join(self._lines))
        if "smpp" not in self.listeners:
            self.stop()
            raise EmbeddedSimulatorError("carrier-sim started without an SMPP listener:\n" + "".join(self._lines))
        self._pump = threading.Thread(target=self._drain_output, args=(stream,), daemon=True)
        self._pump.start()
        self._wait_accepting(deadline)
        return self

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
        self._lines.append(line)
        match = _LISTENER.match(line)
        if match:
            name, scheme, host, port = match.groups()
            self.listeners[name] = f"{scheme}://{host}:{port}"

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
