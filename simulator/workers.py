"""`carrier-sim serve --workers N`: N simulator processes on one port (SO_REUSEPORT) and the hub relaying between them.

How limits are shared: a bind lives in one worker, so `tps_per_bind` and the window hold exactly.
An account's `tps` is split evenly: each worker enforces tps / N, because binds are spread over the
workers by the kernel. The store, query_sm/cancel_sm/replace_sm and the control API are per worker;
the control API is served by worker 0 only.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile


def run_workers(argv: list[str], workers: int) -> int:
    """Start `workers` copies of `carrier-sim serve` (argv without --workers) and the relay hub."""
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
        try:
            os.unlink(path)
            os.rmdir(directory)
        except OSError:
            pass
