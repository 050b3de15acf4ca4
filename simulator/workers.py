"""`carrier-sim serve --workers N`: N simulator processes on one port (SO_REUSEPORT) and the hub relaying between them.

How limits are shared: a bind lives in one worker, so `tps_per_bind` and the window hold exactly.
An account's `tps` is split evenly: each worker enforces tps / N, because binds are spread evenly
over the workers (SO_REUSEPORT picks one, and `smpp/balance.py` evens out what its hash leaves).
The store, query_sm/cancel_sm/replace_sm and the control API are per worker; the control API is
served by worker 0 only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile


def reserve_port(host: str, port: int) -> tuple[socket.socket | None, int]:
    """Port 0 means "any free port": pick it here, once, so every worker listens on the same one.

    The socket is bound with SO_REUSEPORT and kept open (never listening: connections go only to
    listening sockets) so no other program takes the port before the workers bind it.
    """
    if port != 0:
        return None, port
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return holder, holder.getsockname()[1]


def run_workers(argv: list[str], workers: int, *, host: str = "127.0.0.1", port: int = 0) -> int:
    """Start `workers` copies of `carrier-sim serve` (argv without --workers) and the relay hub.

    `host` and `port` are the SMPP listener's; port 0 is resolved to one free port for all workers.
    """
    holder, port = reserve_port(host, port)
    argv = [*argv, "--port", str(port)]  # the last --port wins
    try:
        return _run(argv, workers)
    finally:
        if holder is not None:
            holder.close()


def _run(argv: list[str], workers: int) -> int:
    from .core.relay import Hub

    directory = tempfile.mkdtemp(prefix="carrier-sim-")
    path = os.path.join(directory, "relay.sock")

    async def main() -> int:
        hub = Hub(path)
        await hub.start()
        children = []
        for index in range(workers):
            extra = ["--worker-index", str(index), "--worker-count", str(workers), "--relay", path]
            if index:
                extra.append("--no-control")
            children.append(subprocess.Popen([sys.executable, "-m", "simulator.cli", *argv, *extra],
                                             stdout=None if index == 0 else subprocess.DEVNULL))
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def watch() -> None:
            while all(child.poll() is None for child in children):
                await asyncio.sleep(0.2)
            stop.set()

        watcher = asyncio.create_task(watch())
        await stop.wait()
        watcher.cancel()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(child.wait, 15) for child in children]
        await hub.stop()
        return max(abs(code) for code in codes) if any(codes) else 0

    try:
        return asyncio.run(main())
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # the relay socket, the hand-off sockets, the loads
