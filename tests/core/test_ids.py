"""Tests for simulator.core.ids."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from simulator.core import ids as ids_mod
from simulator.core.ids import IdFormat, MessageIds

N = 100_000


class FakeTime:
    """Stands in for time.time() inside the ids module."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    ft = FakeTime(1_767_225_600.0)
    monkeypatch.setattr(ids_mod, "_time", ft)
    return ft


@pytest.mark.parametrize("fmt", list(IdFormat))
def test_unique_over_100k(fmt: IdFormat) -> None:
    gen = MessageIds()
    out = [gen.next(fmt) for _ in range(N)]
    assert len(set(out)) == N
    assert max(map(len, out)) <= 64


def test_legacy_unique_over_100k() -> None:
    gen = MessageIds()
    out = [gen.next(legacy=True) for _ in range(N)]
    assert len(set(out)) == N


def test_hex_format() -> None:
    gen = MessageIds()
    a, b = gen.next(IdFormat.HEX), gen.next()
    assert re.fullmatch(r"[0-9a-f]+", a)
    assert not a.startswith("0")  # no padding
    assert int(b, 16) == int(a, 16) + 1  # one monotonic counter


def test_decimal_format_shares_counter() -> None:
    gen = MessageIds()
    a = gen.next(IdFormat.DECIMAL)
    b = gen.next(IdFormat.HEX)
    assert a.isdigit()
    assert int(b, 16) == int(a) + 1


def test_formats_accept_plain_strings() -> None:
    gen = MessageIds()
    assert gen.next("decimal").isdigit()
    with pytest.raises(ValueError):
        gen.next("base64")


def test_counter_starts_at_time_in_microseconds(fake_time: FakeTime) -> None:
    gen = MessageIds()
    assert int(gen.next(IdFormat.DECIMAL)) == 1_767_225_600_000_000


def test_uuid_shape_and_equivalence() -> None:
    gen = MessageIds()
    ids = [gen.next(IdFormat.UUID) for _ in range(1000)]
    for s in ids:
        u = uuid.UUID(s)
        assert str(u) == s  # canonical lowercase form
        assert u.version == 8
        assert u.variant == uuid.RFC_4122
    # The salt is chosen once: the last 58 bits are identical within a run.
    tails = {uuid.UUID(s).int & ((1 << 58) - 1) for s in ids}
    assert len(tails) == 1
    # Counter is in the leading bits, so issue order is string order.
    assert ids == sorted(ids)


def test_uuid_encodes_counter_without_losing_bits(fake_time: FakeTime) -> None:
    gen = MessageIds()
    # Consecutive counters differing only in bits hidden under the version
    # nibble / variant bits must still give different UUIDs.
    ids = {gen.next(IdFormat.UUID) for _ in range(1 << 17)}
    assert len(ids) == 1 << 17


def test_uuid_differs_across_restarts_at_same_counter(fake_time: FakeTime) -> None:
    a = MessageIds().next(IdFormat.UUID)
    b = MessageIds().next(IdFormat.UUID)  # same time -> same counter value
    assert a != b  # the per-process salt still separates them


def test_legacy_at_most_8_hex_chars() -> None:
    gen = MessageIds()
    for _ in range(10_000):
        s = gen.next(IdFormat.UUID, legacy=True)  # format ignored for legacy
        assert re.fullmatch(r"[0-9a-f]{1,8}", s)


def test_legacy_wraps_at_32_bits(fake_time: FakeTime) -> None:
    gen = MessageIds()
    gen._legacy = 0xFFFFFFFE
    gen._legacy_limit = gen._legacy + 10
    assert [gen.next(legacy=True) for _ in range(3)] == ["fffffffe", "ffffffff", "0"]


def test_legacy_seeded_from_time(fake_time: FakeTime) -> None:
    gen = MessageIds()
    expected = int(1_767_225_600.0 * 16) & 0xFFFFFFFF
    assert int(gen.next(legacy=True), 16) == expected


def test_legacy_counter_independent_of_main() -> None:
    gen = MessageIds()
    a = int(gen.next(), 16)
    for _ in range(10):
        gen.next(legacy=True)
    assert int(gen.next(), 16) == a + 1


def test_restart_without_state_never_repeats(fake_time: FakeTime) -> None:
    first = MessageIds()
    seen = {first.next() for _ in range(N)}
    # Restart one second later: the first run averaged 100k ids/s, well
    # under the documented 1M ids/s limit.
    fake_time.t += 1.0
    second = MessageIds()
    again = {second.next() for _ in range(N)}
    assert seen.isdisjoint(again)
    assert min(int(x, 16) for x in again) > max(int(x, 16) for x in seen)


def test_restart_with_state_never_repeats(tmp_path: Path, fake_time: FakeTime) -> None:
    state = tmp_path / "ids.json"
    first = MessageIds(state, block=1000)
    seen = {first.next() for _ in range(5500)}
    legacy_seen = {first.next(legacy=True) for _ in range(2500)}
    # Restart at the *same* wall time (or a clock stepped back): only the
    # state file prevents reuse now.
    fake_time.t -= 60.0
    second = MessageIds(state, block=1000)
    again = {second.next() for _ in range(5500)}
    legacy_again = {second.next(legacy=True) for _ in range(2500)}
    assert seen.isdisjoint(again)
    assert legacy_seen.isdisjoint(legacy_again)


def test_crash_mid_block_never_reuses(tmp_path: Path, fake_time: FakeTime) -> None:
    state = tmp_path / "ids.json"
    first = MessageIds(state, block=100)
    issued = [int(first.next(IdFormat.DECIMAL)) for _ in range(150)]
    del first  # "crash": no shutdown hook writes anything
    second = MessageIds(state, block=100)
    nxt = int(second.next(IdFormat.DECIMAL))
    assert nxt > max(issued)
    # The unused tail of the crashed block is skipped, not reissued.
    assert nxt == issued[0] + 200


def test_state_file_survives_and_is_json(tmp_path: Path, fake_time: FakeTime) -> None:
    state = tmp_path / "sub" / "ids.json"
    gen = MessageIds(state, block=1000)
    first = int(gen.next(IdFormat.DECIMAL))
    data = json.loads(state.read_text())
    assert data["next"] == first + 1000
    assert 0 <= data["legacy_next"] <= 0xFFFFFFFF
    assert [p.name for p in state.parent.iterdir()] == ["ids.json"]  # no temp left


def test_block_reservation_persists_only_per_block(
    tmp_path: Path, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "ids.json"
    gen = MessageIds(state, block=10)
    start = int(gen.next(IdFormat.DECIMAL))
    writes: list[int] = []
    real_persist = MessageIds._persist

    def counting_persist(self: MessageIds) -> None:
        writes.append(self._limit)
        real_persist(self)

    monkeypatch.setattr(MessageIds, "_persist", counting_persist)
    for _ in range(9):  # rest of the first block: no write
        gen.next()
    assert writes == []
    gen.next()  # 11th id: new block
    assert writes == [start + 20]
    for _ in range(25):
        gen.next()
    assert writes == [start + 20, start + 30, start + 40]
    assert json.loads(state.read_text())["next"] == start + 40


def test_state_mark_wins_over_time_when_larger(tmp_path: Path, fake_time: FakeTime) -> None:
    state = tmp_path / "ids.json"
    far_future = 10**17
    state.write_text(json.dumps({"version": 1, "next": far_future, "legacy_next": 42}))
    gen = MessageIds(state)
    assert int(gen.next(IdFormat.DECIMAL)) == far_future
    assert gen.next(legacy=True) == "2a"


def test_time_wins_over_stale_state(tmp_path: Path, fake_time: FakeTime) -> None:
    state = tmp_path / "ids.json"
    state.write_text(json.dumps({"version": 1, "next": 5, "legacy_next": 0}))
    gen = MessageIds(state)
    assert int(gen.next(IdFormat.DECIMAL)) == 1_767_225_600_000_000


def test_corrupt_state_file_raises(tmp_path: Path) -> None:
    state = tmp_path / "ids.json"
    state.write_text("{not json")
    with pytest.raises(ValueError):
        MessageIds(state)
    state.write_text(json.dumps({"version": 1}))
    with pytest.raises(ValueError):
        MessageIds(state)


def test_invalid_block() -> None:
    with pytest.raises(ValueError):
        MessageIds(block=0)


@pytest.mark.parametrize("legacy", [False, True])
def test_workers_started_at_different_moments_never_share_an_id(fake_time: FakeTime, legacy: bool) -> None:
    # Three workers of one `serve --workers 3`, started a few microseconds apart: plain counters would
    # overlap after as many ids; strided ones stay apart however many they issue.
    workers = []
    for index in range(3):
        fake_time.t += 0.000_003 * (index + 1)
        workers.append(MessageIds(stride=3, offset=index))
    issued = [{w.next(legacy=legacy) for _ in range(20_000)} for w in workers]
    assert all(len(ids) == 20_000 for ids in issued)
    assert not (issued[0] & issued[1] or issued[0] & issued[2] or issued[1] & issued[2])


def test_a_worker_restarting_from_its_state_file_keeps_its_residue(tmp_path: Path, fake_time: FakeTime) -> None:
    first = MessageIds(tmp_path / "w1.json", block=10, stride=2, offset=1)
    before = [int(first.next(), 16) for _ in range(25)]
    fake_time.t -= 100  # the clock stepped back: the state file's mark must win
    again = MessageIds(tmp_path / "w1.json", block=10, stride=2, offset=1)
    after = [int(again.next(), 16) for _ in range(25)]
    assert all(v % 2 == 1 for v in before + after)
    assert min(after) > max(before)


def test_offset_must_be_below_stride() -> None:
    with pytest.raises(ValueError):
        MessageIds(stride=2, offset=2)
