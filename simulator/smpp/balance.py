"""Binds spread evenly over `serve --workers N`: a worker hands a new connection to a less loaded one.

SO_REUSEPORT picks a worker by a hash of the connection's addresses and ports, so two binds land on
the same worker half the time, and that worker then does all the work. Each worker therefore looks,
as it accepts a connection and before reading a byte of it, at how many connections every worker
holds. If another holds fewer, it passes the socket to that worker (SCM_RIGHTS over a Unix datagram
socket) and forgets it; the client never notices. Connections over TLS stay where they land: by the
time the protocol sees them the handshake's state is in this process.

The loads are a small shared file, one row per worker, each row written by its worker only:
``[connections held, connections received from worker 0, from worker 1, ...]``. A sender counts what
it has sent to each worker, so a hand-off still in flight counts towards its target's load.
"""

from __future__ import annotations

import array
import asyncio
import logging
import mmap
import os
import socket
from typing import Any, Callable

_log = logging.getLogger("carrier_sim.balance")

_SLOT = 8  # one int64


def _socket_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"handoff-{index}.sock")


class Balancer:
    """One per worker: decides who keeps each new connection, and adopts those handed over to it."""

    def __init__(self, directory: str, index: int, count: int) -> None:
        if not 0 <= index < count:
            raise ValueError(f"worker index {index} is outside 0..{count - 1}")
        self.directory = directory
        self.index = index
        self.count = count
        self.handed_off = 0
        self.adopted = 0
        self._sent = [0] * count  # connections this worker has handed to each worker
        self._row = count + 1
        self._file: int | None = None
        self._map: mmap.mmap | None = None
        self._loads: memoryview | None = None
        self._inbox: socket.socket | None = None
        self._outbox: socket.socket | None = None
        self._adopt: Callable[[socket.socket, int | None], Any] | None = None

    def start(self, adopt: Callable[[socket.socket, int | None], Any]) -> None:
        """Open the shared loads and this worker's inbox.

        `adopt(sock, sender)` serves a connection worker `sender` handed over; the connection calls
        `add(handed_by=sender)` once it is served, or `lost_in_transit(sender)` if it cannot be.
        """
        size = self.count * self._row * _SLOT
        self._file = os.open(os.path.join(self.directory, "loads"), os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._file).st_size < size:
            os.ftruncate(self._file, size)  # every worker asks for the same size, so the order does not matter
        self._map = mmap.mmap(self._file, size)
        self._loads = memoryview(self._map).cast("q")  # a new file reads as zeros: nothing held, nothing sent
        path = _socket_path(self.directory, self.index)
        if os.path.exists(path):
            os.unlink(path)
        self._inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._inbox.bind(path)
        self._inbox.setblocking(False)
        self._outbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._outbox.setblocking(False)
        self._adopt = adopt
        asyncio.get_running_loop().add_reader(self._inbox.fileno(), self._receive)

    def stop(self) -> None:
        if self._inbox is not None:
            asyncio.get_running_loop().remove_reader(self._inbox.fileno())
            self._inbox.close()
            self._inbox = None
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None
        if self._loads is not None:
            self._loads.release()
            self._loads = None
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            os.close(self._file)
            self._file = None

    # ------------------------------------------------------------------ loads

    def load(self, worker: int) -> int:
        """Connections `worker` holds, as this worker sees it: with what this worker sent it still in flight."""
        loads = self._loads
        if loads is None:
            return 0
        held = loads[worker * self._row]
        if worker == self.index:
            return held
        in_flight = self._sent[worker] - loads[worker * self._row + 1 + self.index]
        return held + max(0, in_flight)

    def add(self, handed_by: int | None = None) -> None:
        """A connection this worker serves (kept, adopted, or over TLS) has started.

        For one handed over by worker `handed_by` it also stops counting as in flight: held first,
        so a worker reading in between sees one connection too many, never one too few.
        """
        loads = self._loads
        if loads is not None:
            loads[self.index * self._row] += 1
            if handed_by is not None:
                loads[self.index * self._row + 1 + handed_by] += 1

    def lost_in_transit(self, handed_by: int) -> None:
        """A connection handed over by `handed_by` that could not be served: no longer in flight."""
        if self._loads is not None:
            self._loads[self.index * self._row + 1 + handed_by] += 1

    def remove(self) -> None:
        """A connection counted by `add()` has ended."""
        if self._loads is not None:
            self._loads[self.index * self._row] -= 1

    # ------------------------------------------------------------------ handing over

    def hand_off(self, transport: asyncio.BaseTransport) -> bool:
        """Pass a just-accepted connection to a less loaded worker; True if it went (the transport is closed).

        Called from connection_made, before anything has been read from the socket.
        """
        if self._outbox is None:
            return False
        target = min(range(self.count), key=self.load)
        if self.load(target) >= self.load(self.index):
            return False  # this worker is among the least loaded: keep it
        sock = transport.get_extra_info("socket")
        if sock is None:
            return False
        transport.pause_reading()  # type: ignore[attr-defined]
        duplicate = os.dup(sock.fileno())
        try:
            # sendmsg, not socket.send_fds: before Python 3.12 send_fds drops its address argument.
            self._outbox.sendmsg([bytes((self.index,))], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                           array.array("i", (duplicate,)))],
                                 0, _socket_path(self.directory, target))
        except OSError as error:
            # The other worker is gone or its inbox is full: serve the connection here.
            _log.debug("could not hand a connection to worker %d (%s); keeping it", target, error)
            os.close(duplicate)
            transport.resume_reading()  # type: ignore[attr-defined]
            return False
        os.close(duplicate)  # the receiving worker holds its own copy now
        self._sent[target] += 1
        self.handed_off += 1
        transport.abort()  # closes only this process's descriptor: the connection lives on in the target
        return True

    def _receive(self) -> None:
        while self._inbox is not None:
            try:
                message, fds, _, _ = socket.recv_fds(self._inbox, 16, 8)
            except (BlockingIOError, InterruptedError):
                return
            sender = message[0] if message and message[0] < self.count else None
            for fd in fds:
                sock = socket.socket(fileno=fd)
                self.adopted += 1
                try:
                    self._adopt(sock, sender)  # type: ignore[misc]
                except Exception:
                    _log.exception("could not serve a connection handed over by worker %s", sender)
                    sock.close()
                    if sender is not None:
                        self.lost_in_transit(sender)
