"""Kannel (bearerbox + smsbox) as the gateway under test, configured from examples/kannel on free ports."""

from __future__ import annotations

import shutil
import socket
import string
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "kannel" / "kannel.conf.template"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS's choice for a throwaway bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def available() -> bool:
    return shutil.which("bearerbox") is not None and shutil.which("smsbox") is not None


@dataclass(frozen=True, slots=True)
class KannelPorts:
    admin: int
    smsbox: int
    sendsms: int


class KannelGateway:
    """Renders the template into `workdir`, runs bearerbox and smsbox, waits until the SMSC is online."""

    def __init__(self, workdir: Path, *, smpp_host: str, smpp_port: int, system_id: str = "kannel",
                 password: str = "secret", user: str = "loadtest", user_password: str = "secret",
                 template: Path = TEMPLATE) -> None:
        self.workdir = Path(workdir)
        self.ports = KannelPorts(free_port(), free_port(), free_port())
        self.admin_password = "admin-secret"
        self.user, self.user_password = user, user_password
        self.values = {
            "ADMIN_PORT": self.ports.admin, "ADMIN_PASSWORD": self.admin_password, "SMSBOX_PORT": self.ports.smsbox,
            "SENDSMS_PORT": self.ports.sendsms, "SMPP_HOST": smpp_host, "SMPP_PORT": smpp_port,
            "SYSTEM_ID": system_id, "PASSWORD": password, "KANNEL_USER": user, "KANNEL_PASSWORD": user_password,
            "LOG_DIR": str(self.workdir),
        }
        self.template = template
        self.config = self.workdir / "kannel.conf"
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sendsms}"

    def render(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = string.Template(self.template.read_text()).substitute(self.values)
        self.config.write_text(text)
        return self.config

    def start(self, timeout: float = 30.0) -> KannelGateway:
        if not available():
            raise FileNotFoundError("Kannel is not installed (bearerbox/smsbox not on PATH): apt-get install kannel")
        self.render()
        for box in ("bearerbox", "smsbox"):
            log = (self.workdir / f"{box}.out").open("wb")
            self._processes.append(subprocess.Popen([box, "-v", "1", str(self.config)], stdout=log,
                                                    stderr=subprocess.STDOUT, cwd=self.workdir))
            if box == "bearerbox":
                self._wait_port(self.ports.smsbox, timeout)
        self._wait_port(self.ports.sendsms, timeout)
        self._wait_online(timeout)
        return self

    def _check_alive(self) -> None:
        for process in self._processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}; see {self.workdir}")

    def _wait_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Kannel did not listen on {port} within {timeout}s; see {self.workdir}")
                time.sleep(0.1)

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.ports.admin}/status.txt?password={self.admin_password}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")

    def _wait_online(self, timeout: float) -> None:
        """Kannel binds to the SMSC in the background: wait until its SMPP connection is online."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                if "(online" in self.status():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kannel's SMPP connection did not come online within {timeout}s; "
                                   f"see {self.workdir}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self._processes):  # smsbox first, then bearerbox
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self._processes.clear()

    def __enter__(self) -> KannelGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
