"""Message mixes, destination pools and references."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtests import text as sms
from loadtests.refs import RefSource, find_ref
from loadtests.workload import Workload, parse_destinations, parse_mix


def test_default_mix_proportions_lengths_and_encodings():
    workload = Workload(seed=3)
    kinds = Counter()
    for _ in range(20_000):
        message = workload.next()
        kinds[message.kind] += 1
        coding = message.segments[0].data_coding
        assert sms.units(message.text, coding) == int(message.kind.rsplit("-", 1)[1])
        assert message.parts == 1  # every default kind fits one segment
        assert find_ref(message.text) == message.ref
    assert abs(kinds["gsm7-25"] / 20_000 - 0.45) < 0.02
    assert abs(kinds["gsm7-150"] / 20_000 - 0.45) < 0.02
    assert abs(kinds["ucs2-70"] / 20_000 - 0.10) < 0.01


def test_prebuilt_segments_equal_a_fresh_encoding():
    workload = Workload("1:gsm7:100,1:ucs2:60", seed=1)
    for _ in range(200):
        message = workload.next()
        assert message.segments[0].short_message == sms.encode(message.text, message.segments[0].data_coding)


def test_long_kinds_are_split_with_udh():
    workload = Workload("1:gsm7-escapes:400,1:ucs2-emoji:200", seed=2)
    for _ in range(100):
        message = workload.next()
        assert message.parts == 3 and all(s.esm_class == sms.UDHI for s in message.segments)


def test_destination_pools_are_weighted_and_bounded():
    workload = Workload(destinations="447700900000+100:80,491700000000+10:20", seed=5)
    counts = Counter(workload.next().to[:2] for _ in range(5_000))
    assert abs(counts["44"] / 5_000 - 0.8) < 0.03
    numbers = {workload.next().to for _ in range(2_000)}
    assert all(447700900000 <= int(n) < 447700900100 or 491700000000 <= int(n) < 491700000010 for n in numbers)


def test_references_are_unique_and_seeded():
    refs = RefSource()
    assert len({refs.next() for _ in range(50_000)}) == 50_000
    assert [Workload(seed=9).next().text for _ in range(1)] == [Workload(seed=9).next().text]


@pytest.mark.parametrize("spec", ["45:gsm7", "x:gsm7:25", "10:latin1:50", "10:gsm7:10", "0:gsm7:30"])
def test_bad_mixes_are_refused(spec):
    with pytest.raises(ValueError):
        parse_mix(spec)


def test_bad_pools_are_refused():
    with pytest.raises(ValueError):
        parse_destinations("44770+0")
