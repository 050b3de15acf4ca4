"""Start `carrier-sim serve` as a child process (its own process: the bench must not share its CPU) and stop it."""

from __future__ import annotations

import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
_URL = re.compile(r"(\w[\w+.-]*)://(\[[^\]]+\]|[^\s:/]+):(\d+)")


def default_server_command() -> list[str]:
    """The tree's own CLI, run by this interpreter (what `carrier-sim` runs, without a shell shim in front)."""
    return [sys.executable, "-m", "simulator.cli"]


def raise_nofile() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def scenario_yaml(receipt_delay: float, *, name: str = "bench") -> str:
    return yaml.safe_dump({
        "name": name,
        "seed": 1,
        "description": f"benchmark: every submit accepted at once, DELIVRD {receipt_delay:g}s after it",
        "defaults": {
            "submit": {"status": 0, "latency": "0ms"},
            "receipt": {"states": [{"state": "DELIVRD", "weight": 1}], "delay": f"{receipt_delay * 1000:g}ms"},
        },
    }, sort_keys=False)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def config_yaml(*, window: int, deliver_window: int | None = None, extra: dict[str, Any] | None = None) -> str:
    """The server config the bench writes: loopback listeners, a window that fits the client's."""
    config: dict[str, Any] = {
        "smpp": {"host": "127.0.0.1", "window": window},
        "control": {"host": "127.0.0.1"},
        "providers": {
            # Provider front ends the SMPP benchmark does not exercise stay off; the HTTP bench turns Twilio's
            # throughput queues up so the API, not the simulated per-sender MPS, is what gets measured.
            "whatsapp": {"enabled": False},
            "messenger": {"enabled": False},
        },
    }
    if deliver_window is not None:
        config["smpp"]["deliver_window"] = deliver_window
    if extra:
        deep_merge(config, extra)
    return yaml.safe_dump(config, sort_keys=False)


class ServerError(RuntimeError):
    pass


class ServerProcess:
    """`<command> serve --port 0 --control-port 0 --scenario S --config C`, its announced listeners and its log."""

    def __init__(self, *, scenario: str, config: str, command: list[str] | None = None,
                 extra_args: list[str] | None = None, workdir: str | None = None) -> None:
        self.command = command or default_server_command()
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="carrier-sim-bench-"))
        self.scenario_path = self.dir / "scenario.yaml"
        self.config_path = self.dir / "config.yaml"
        self.scenario_path.write_text(scenario)
        self.config_path.write_text(config)
        self.scenario_text = scenario
        self.config_text = config
        self.extra_args = extra_args or []
        self.stderr_path = self.dir / "server.stderr"
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.listeners: dict[str, tuple[str, int]] = {}
        self.hot_path: str | None = None  # the banner's "hot path" line (None: not carrier-sim's banner)
        self.spawned_at = 0.0
        self._last_line_at = 0.0
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def argv(self, port: int = 0, control_port: int = 0) -> list[str]:
        return [*self.command, "serve", "--port", str(port), "--control-port", str(control_port),
                "--scenario", str(self.scenario_path), "--config", str(self.config_path), *self.extra_args]

    def spawn(self, port: int = 0, control_port: int = 0) -> None:
        raise_nofile()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._stderr = open(self.stderr_path, "w")
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv(port, control_port), stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, cwd=str(REPO), env=env, text=True, bufsize=1,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, name="server-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            match = _URL.search(line)
            if match:
                name = line.split()[0] if line.split() else match.group(1)
                host = match.group(2).strip("[]")
                self.listeners.setdefault(name, (host, int(match.group(3))))
                self.listeners.setdefault(f"{match.group(1)}:{name}", (host, int(match.group(3))))
            if line.lstrip().startswith("hot path"):  # compiled, or the pure-Python twins
                self.hot_path = line.split(None, 2)[2]
            self._last_line_at = time.monotonic()
            if line.lstrip().startswith("accounts"):  # the banner's last line (open mode)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 30.0) -> dict[str, tuple[str, int]]:
        """Wait for the start-up banner; raises ServerError with the server's stderr if it dies or hangs."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc is not None and self.proc.poll() is not None:
                break
            if "smpp" in self.listeners and time.monotonic() - self._last_line_at > 0.3:
                break  # configured accounts: no "accounts" line; the banner has gone quiet
            if time.monotonic() > deadline:
                raise ServerError(f"carrier-sim did not announce its listeners within {timeout:g}s\n{self.stderr_tail()}")
        time.sleep(0.05)  # the banner's last lines
        if "smpp" not in self.listeners:
            rc = self.proc.poll() if self.proc else None
            raise ServerError(f"carrier-sim exited (rc={rc}) or announced no smpp listener; stdout={self.lines!r}\n"
                              f"{self.stderr_tail()}")
        return self.listeners

    @property
    def smpp(self) -> tuple[str, int]:
        return self.listeners["smpp"]

    def http_base(self) -> str | None:
        """The provider APIs' URL: a 'twilio' or 'providers' listener if announced, else the control API's."""
        for key in ("twilio", "providers", "control"):
            for name, (host, port) in self.listeners.items():
                if name == key:
                    return f"http://{host}:{port}"
        for line in self.lines:
            if "twilio" in line.lower() or "http" in line.lower():
                match = _URL.search(line)
                if match:
                    return f"http://{match.group(2)}:{match.group(3)}"
        return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self) -> str:
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            return f"killed by signal {signal.Signals(-rc).name}"
        return f"exited with status {rc}"

    def stderr_tail(self, lines: int = 40) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> str:
        """SIGTERM (graceful: the server unbinds its sessions), then SIGKILL; returns how it ended."""
        if self.proc is None:
            return "not started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return "did not stop on SIGTERM; killed"
        status = self.exit_status()
        try:
            self._stderr.close()
        except Exception:
            pass
        return status

    def describe(self) -> dict[str, Any]:
        return {"command": shlex.join(self.argv()), "pid": self.proc.pid if self.proc else None,
                "listeners": {k: f"{h}:{p}" for k, (h, p) in self.listeners.items() if ":" not in k},
                "hot_path": self.hot_path,
                "scenario_yaml": self.scenario_text, "config_yaml": self.config_text}
