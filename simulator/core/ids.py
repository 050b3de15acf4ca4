"""Message ids that stay unique across restarts (hex, decimal, UUID and SMPP 3.3 legacy 32-bit)."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from time import time as _time  # module global so tests can fake a restart later in time

__all__ = ["IdFormat", "MessageIds"]

_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_MASK58 = (1 << 58) - 1
_STATE_VERSION = 1


class IdFormat(StrEnum):
    HEX = "hex"
    DECIMAL = "decimal"
    UUID = "uuid"


_HEX = IdFormat.HEX
_DECIMAL = IdFormat.DECIMAL
_UUID = IdFormat.UUID


def _time_start() -> int:
    # Microseconds since the epoch: a restart begins above every id a previous
    # run issued unless that run averaged more than 1M ids/s.
    return int(_time() * 1_000_000)


def _legacy_time_start() -> int:
    # 1/16 s resolution keeps the 32-bit seed from wrapping for ~8.5 years;
    # a restart is safe only if the previous run averaged <= 16 legacy ids/s,
    # which is why a state file matters for SMPP 3.3 traffic.
    return int(_time() * 16) & _MASK32


class MessageIds:
    """One monotonic 64-bit id counter for the process; create exactly one per process.

    Without ``state_path`` the counter starts at the current Unix time in
    microseconds, so a restart starts above anything a previous run issued
    *unless* that run issued more than 1,000,000 ids/s on average over its
    lifetime (or the wall clock was stepped back in between). Two instances
    alive in the same process overlap -- share one.

    With ``state_path`` it uses hi/lo block reservation: at start it reads the
    persisted high-water mark (or the time-based start, if larger), persists
    ``mark + block`` atomically (temp file, fsync, os.replace, fsync of the
    directory) and hands out ids from that block, reserving the next one when
    it runs out. A crash loses at most the unused rest of a block and never
    reuses an id. The file is small JSON; a corrupt file raises ValueError
    rather than risking reuse.

    Legacy (SMPP 3.3) ids come from a separate 32-bit counter, rendered as at
    most 8 lowercase hex digits. It wraps after 2**32 ids; without a state
    file it is seeded from the time at 1/16 s resolution (see
    ``_legacy_time_start``), with a state file it continues from the file.

    Under `serve --workers N`, worker i passes ``stride=N, offset=i`` and issues only counter values
    congruent to i modulo N, so no two workers ever issue the same id (32-bit legacy ids too, until
    their counter wraps). Each worker keeps its own state file.

    Not thread-safe: call from the event loop thread only.
    """

    __slots__ = ("_path", "_block", "_next", "_limit", "_legacy", "_legacy_limit", "_salt", "_stride")

    def __init__(self, state_path: Path | str | None = None, *, block: int = 1_000_000, stride: int = 1,
                 offset: int = 0) -> None:
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block!r}")
        if not 0 <= offset < stride:
            raise ValueError(f"offset must be in 0..stride-1, got {offset!r} of {stride!r}")
        self._path = Path(state_path) if state_path is not None else None
        self._block = block
        # Low 58 bits of a per-instance random salt fill the UUID's tail, so
        # UUIDs stay distinct even across hosts running from the same clock.
        self._salt = int.from_bytes(os.urandom(8), "big") & _MASK58

        # Worker `offset` of `stride` processes issues only counter values = offset (mod stride): the
        # workers of one `serve --workers N` never issue the same id, whenever each of them started.
        self._stride = stride
        start = _align(_time_start(), stride, offset)
        legacy = _align(_legacy_time_start(), stride, offset)
        if self._path is None:
            self._next = start
            self._legacy = legacy
            # No persistence: "reserving" a block just moves the limit on.
            self._limit = start + block
            self._legacy_limit = legacy + block
            return

        state = self._load()
        if state is not None:
            start = max(start, _align(state[0], stride, offset))
            legacy = _align(state[1], stride, offset)
        self._next = start
        self._legacy = legacy
        self._limit = start + block
        self._legacy_limit = legacy + block
        self._persist()

    @property
    def state_path(self) -> Path | None:
        return self._path

    def next(self, fmt: IdFormat | str = _HEX, *, legacy: bool = False) -> str:
        """Return a fresh id (<= 36 characters; SMPP allows 64 + NUL).

        HEX: lowercase hex, no padding. DECIMAL: decimal digits. UUID: a
        version-8 UUID string whose leading bits are the counter. With
        ``legacy=True`` the format is ignored: SMPP 3.3 message ids are hex
        and at most 8 characters.
        """
        if legacy:
            v = self._legacy
            if v >= self._legacy_limit:
                self._reserve()
            self._legacy = v + self._stride
            return "%x" % (v & _MASK32)
        if fmt.__class__ is not IdFormat:
            fmt = IdFormat(fmt)  # raises ValueError before consuming an id
        v = self._next
        if v >= self._limit:
            self._reserve()
        self._next = v + self._stride
        if fmt is _HEX:
            return "%x" % v
        if fmt is _DECIMAL:
            return str(v)
        return self._uuid(v)

    def _uuid(self, v: int) -> str:
        # UUIDv8 layout (RFC 9562): the version nibble and variant bits sit in
        # the middle of the 128 bits, so a counter placed naively in the high
        # 64 bits would lose 4 of its bits and collide. Instead the 64-bit
        # counter is split around them: 48 bits | ver | 12 bits | var | 4 bits,
        # then 58 salt bits. Uniqueness follows from the counter alone and
        # the strings still sort by issue order within a process.
        v &= _MASK64
        x = (
            (v >> 16) << 80
            | 0x8 << 76
            | ((v >> 4) & 0xFFF) << 64
            | 0b10 << 62
            | (v & 0xF) << 58
            | self._salt
        )
        # Equivalent to str(uuid.UUID(int=x)) without the object.
        h = "%032x" % x
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _reserve(self) -> None:
        # Called only when one counter reached its limit; the other keeps its
        # block, both marks are rewritten together.
        block = self._block
        if self._next >= self._limit:
            self._limit = self._next + block
        if self._legacy >= self._legacy_limit:
            self._legacy_limit = self._legacy + block
        if self._path is not None:
            self._persist()

    def _load(self) -> tuple[int, int] | None:
        assert self._path is not None
        try:
            raw = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            nxt = int(data["next"])
            legacy = int(data["legacy_next"]) & _MASK32
        except (ValueError, KeyError, TypeError) as exc:
            # Starting from scratch could reissue ids a previous run handed
            # out; make the operator decide.
            raise ValueError(f"corrupt message id state file {self._path}: {exc}") from exc
        return nxt, legacy

    def _persist(self) -> None:
        path = self._path
        assert path is not None
        payload = json.dumps(
            {
                "version": _STATE_VERSION,
                "next": self._limit,
                # Stored wrapped: the counter's position modulo 2**32 is all
                # that matters for 32-bit ids.
                "legacy_next": self._legacy_limit & _MASK32,
            }
        ).encode()
        directory = path.parent
        directory.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a crash leaves either the old or the new mark,
        # never a truncated file.
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _fsync_dir(directory)

    def __repr__(self) -> str:
        return f"MessageIds(next={self._next}, limit={self._limit}, state_path={self._path!r})"


def _align(value: int, stride: int, offset: int) -> int:
    """The smallest number >= value that is offset modulo stride."""
    return value + (offset - value) % stride


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; not possible on Windows,
    # where os.replace is already as durable as it gets.
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
