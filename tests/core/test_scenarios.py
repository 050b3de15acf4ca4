"""Each bundled scenario does what its header says; scenarios replay identically from their seed."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from simulator.core.records import MessageState
from simulator.core.scenario import bundled_names, load_scenario, parse_scenario
from simulator.smpp.status import Status
from tests.core.scenario_harness import Harness

OK = Status.ESME_ROK


def test_every_scenario_named_in_the_issue_is_bundled_with_a_header_comment() -> None:
    expected = {"happy-path", "realistic-mix", "throttled", "queue-full", "flaky-carrier", "outage-and-recovery",
                "slow-carrier", "dlr-chaos", "opt-out", "magic-numbers"}
    assert expected <= set(bundled_names())
    from simulator.core.scenario import SCENARIO_DIR

    for name in expected:
        first = (SCENARIO_DIR / f"{name}.yaml").read_text().splitlines()[0]
        assert first.startswith(f"# {name}:"), f"{name}.yaml must open with what it models"


def test_happy_path_delivers_everything_after_100ms() -> None:
    h = Harness("happy-path")
    capture = h.capture()
    results = [h.submit() for _ in range(200)]
    assert all(r.status == OK and r.latency == 0 for r in results)
    h.advance(0.099)
    assert not capture.receipts
    h.advance(0.002)
    assert len(capture.receipts) == 200
    assert {r.state for r in capture.receipts} == {MessageState.DELIVERED}


def test_realistic_mix_follows_smppsim_proportions_and_lognormal_delays() -> None:
    h = Harness("realistic-mix")
    capture = h.capture()
    for _ in range(20_000):
        assert h.submit().status == OK
    h.advance(3600, step=60)
    states = Counter(r.state for r in capture.receipts)
    assert sum(states.values()) == 20_000
    share = {state: count / 20_000 for state, count in states.items()}
    # Fixed seed; tolerance 1 percentage point on each share.
    assert share[MessageState.DELIVERED] == pytest.approx(0.90, abs=0.01)
    assert share[MessageState.UNDELIVERABLE] == pytest.approx(0.06, abs=0.01)
    assert share[MessageState.ACCEPTED] == pytest.approx(0.02, abs=0.01)
    assert share[MessageState.REJECTED] == pytest.approx(0.02, abs=0.01)
    delays = [m.final_at - m.submitted_at for m in h.carrier.store]
    assert statistics.median(delays) == pytest.approx(2.0, rel=0.05)
    assert max(delays) > 10, "a long tail"


def test_throttled_caps_each_account_at_30_per_second() -> None:
    h = Harness("throttled")
    accepted: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for tick in range(1000):  # 100/s per account for 10 s
        for account in ("acme", "beta"):
            status = h.submit(system_id=account).status
            statuses[status] += 1
            accepted[account] += status == OK
        h.advance(0.01)
    assert set(statuses) == {OK, Status.ESME_RTHROTTLED}
    for account in ("acme", "beta"):
        assert accepted[account] / 10 == pytest.approx(30, rel=0.1)


def test_queue_full_refuses_past_100_pending_until_deliveries_drain() -> None:
    h = Harness("queue-full")
    statuses = [h.submit().status for _ in range(150)]
    assert statuses.count(OK) == 100 and statuses[100:] == [Status.ESME_RMSGQFUL] * 50
    assert h.submit(system_id="beta").status == OK, "the queue is per account"
    h.advance(5.001)
    assert [h.submit().status for _ in range(100)].count(OK) == 100


def test_flaky_carrier_mixes_errors_by_weight_and_drops_binds_every_500_pdus() -> None:
    h = Harness("flaky-carrier")
    statuses = Counter(h.submit().status for _ in range(20_000))
    share = {status: count / 20_000 for status, count in statuses.items()}
    assert share[OK] == pytest.approx(0.85, abs=0.01)
    assert share[Status.ESME_RTHROTTLED] == pytest.approx(0.05, abs=0.01)
    assert share[Status.ESME_RMSGQFUL] == pytest.approx(0.04, abs=0.01)
    assert share[Status.ESME_RSYSERR] == pytest.approx(0.03, abs=0.01)
    assert share[Status.ESME_RSUBMITFAIL] == pytest.approx(0.03, abs=0.01)
    assert h.carrier.scenario.connection().disconnect_after_pdus == 500
    latencies = Counter(round(h.submit().latency, 3) for _ in range(5000))
    assert latencies[0.01] / 5000 == pytest.approx(0.80, abs=0.02)
    assert latencies[1.0] / 5000 == pytest.approx(0.05, abs=0.01)


def test_outage_and_recovery_runs_its_phases_in_order() -> None:
    h = Harness("outage-and-recovery")
    capture = h.capture()
    first = Counter(h.submit().status for _ in range(2000))
    assert first[Status.ESME_RTHROTTLED] / 2000 == pytest.approx(0.30, abs=0.03)
    h.advance(1)
    delivered_before = len(capture.receipts)
    assert delivered_before == first[OK]
    h.advance(600 - 1, step=10)  # into receipts-stopped
    assert [p.name for p in h.carrier.scenario.active_phases()] == ["receipts-stopped"]
    assert all(h.submit().status == OK for _ in range(100)), "the throttling phase is over"
    h.advance(60)
    assert len(capture.receipts) == delivered_before, "receipts stopped"
    h.advance(240, step=10)  # 15 m: binds dropped and refused
    connection = h.carrier.scenario.connection()
    assert connection.refuse_binds == 0x0D and connection.disconnect_at == [900.0]
    h.advance(120, step=10)  # 17 m: recovered
    assert h.carrier.scenario.active_phases() == [] and h.carrier.scenario.connection().refuse_binds == 0
    h.submit()
    h.advance(1)
    assert len(capture.receipts) == delivered_before + 1
    assert h.carrier.trigger("outage") == ["outage"]
    assert h.carrier.scenario.connection().refuse_binds == 0x0D
    h.advance(60)
    assert h.carrier.scenario.connection().refuse_binds == 0


def test_slow_carrier_answers_in_two_to_four_seconds() -> None:
    h = Harness("slow-carrier")
    latencies = [h.submit().latency for _ in range(2000)]
    assert 2.0 <= min(latencies) and max(latencies) <= 4.0
    assert statistics.mean(latencies) == pytest.approx(3.0, abs=0.05)


def test_dlr_chaos_loses_duplicates_reorders_and_sends_early_about_ten_percent_each() -> None:
    h = Harness("dlr-chaos")
    capture = h.capture()
    results = [h.submit(text=f"m{n}") for n in range(10_000)]
    early = sum(r.latency > 0.05 for r in results)
    h.advance(5, step=0.05)
    counts = Counter(r.message.id for r in capture.receipts)
    lost = sum(1 for r in results if counts[r.message_id] == 0)
    duplicated = sum(1 for n in counts.values() if n == 2)
    assert early / 10_000 == pytest.approx(0.10, abs=0.01)
    assert lost / 10_000 == pytest.approx(0.10, abs=0.01)
    assert duplicated / 10_000 == pytest.approx(0.09, abs=0.01)  # a lost receipt cannot also be duplicated
    order = [r.message.id for r in capture.receipts]
    submitted = [r.message_id for r in results]
    position = {message_id: n for n, message_id in enumerate(submitted)}
    overtaken, latest = 0, -1
    for message_id in order:
        if position[message_id] < latest:
            overtaken += 1  # a later message's receipt came first
        latest = max(latest, position[message_id])
    assert overtaken / len(order) == pytest.approx(0.10, abs=0.015), "held-back receipts are overtaken"


def test_opt_out_lists_and_number_fates() -> None:
    h = Harness("opt-out")
    capture = h.capture()
    assert h.submit("447700900100", source="ANY").status == Status.ESME_RSUBMITFAIL
    assert h.submit("447700900101", source="SHOP").status == Status.ESME_RSUBMITFAIL
    assert h.submit("447700900101", source="OTHER").status == OK
    unreachable = h.submit("447700900200")
    landline = h.submit("442071234567")
    ported = h.submit("447700900300")
    h.advance(1)
    fates = {r.message.id: (r.state, r.error, r.network_error) for r in capture.receipts}
    assert fates[unreachable.message_id] == (MessageState.UNDELIVERABLE, 27, (3, 27))
    assert fates[landline.message_id] == (MessageState.UNDELIVERABLE, 11, (3, 11))
    assert fates[ported.message_id] == (MessageState.UNDELIVERABLE, 1, (3, 1))
    h.carrier.handset_send("447700900101", "SHOP", "START")
    assert h.submit("447700900101", source="SHOP").status == OK


def test_magic_numbers_keep_other_simulators_conventions() -> None:
    h = Harness("magic-numbers")
    capture = h.capture()
    assert h.submit("111").latency == 10.0
    assert h.submit("222").respond is False
    assert h.submit("333").status == Status.ESME_RSUBMITFAIL
    assert h.submit("444").status == Status.ESME_RTHROTTLED
    assert h.submit("555").status == Status.ESME_RMSGQFUL
    assert h.submit("1234567").status == Status.ESME_RINVDSTADR
    assert h.submit("447700900001", text="test_error: ESME_RTHROTTLED").status == Status.ESME_RTHROTTLED
    fates = {}
    for destination in ("666", "12345678", "22345678", "32345678", "42345678", "52345678", "92345678"):
        fates[h.submit(destination).message_id] = destination
    h.advance(1)
    states = {fates[r.message.id]: r.state.name for r in capture.receipts if r.message.id in fates}
    assert states == {"666": "UNDELIVERABLE", "12345678": "EXPIRED", "22345678": "DELETED",
                      "32345678": "UNDELIVERABLE", "42345678": "ACCEPTED", "52345678": "REJECTED",
                      "92345678": "DELIVERED"}


@pytest.mark.parametrize("name", ["realistic-mix", "flaky-carrier", "dlr-chaos"])
def test_same_seed_and_traffic_give_identical_outcome_logs(name: str) -> None:
    logs = []
    for _ in range(2):
        h = Harness(name)
        h.capture()
        for n in range(2000):
            h.submit(f"4477009{n % 1000:05d}", text=f"message {n}")
            h.advance(0.01)
        h.advance(60, step=1)
        logs.append(list(h.carrier.scenario.log))
    assert logs[0] == logs[1] and len(logs[0]) > 3000
    other = Harness(parse_scenario(load_scenario(name).source and open(load_scenario(name).source).read()
                                   .replace("seed:", "seed: 999 #")))
    other.capture()
    for n in range(200):
        other.submit(f"4477009{n % 1000:05d}", text=f"message {n}")
    assert list(other.carrier.scenario.log)[:200] != logs[0][:200], "another seed, other outcomes"


def test_rules_change_only_what_they_name_and_the_first_match_wins() -> None:
    scenario = parse_scenario("""
defaults:
  submit: {latency: 5ms}
  receipt: {states: [{state: DELIVRD}], delay: 1s}
rules:
  - match: {destination: "4479"}
    receipt: {states: [{state: UNDELIV, err: 5}]}
  - match: {destination: "44"}
    submit: {status: THROTTLED}
""")
    h = Harness(scenario)
    capture = h.capture()
    special = h.submit("447900000001")
    assert special.status == OK and special.latency == 0.005, "the rule named only the receipt"
    assert h.submit("447700000001").status == Status.ESME_RTHROTTLED
    h.advance(1.001)
    assert capture.receipts[0].state is MessageState.UNDELIVERABLE and capture.receipts[0].error == 5
    assert capture.receipts[0].message.final_at - capture.receipts[0].message.submitted_at == pytest.approx(1.0)


def test_matches_on_source_system_id_text_coding_segments_and_channel() -> None:
    scenario = parse_scenario("""
defaults:
  receipt: {states: [{state: DELIVRD}], delay: 1s}
rules:
  - {match: {source: "/^BANK/"}, submit: {status: 0x0A}}
  - {match: {system_id: beta}, submit: {status: 0x0B}}
  - {match: {text: "(?i)casino"}, submit: {status: 0x45}}
  - {match: {channel: http}, submit: {status: 0x08}}
  - {match: {data_coding: 8}, submit: {status: 0x14}}
""")
    h = Harness(scenario)
    assert h.submit(source="BANKX").status == 0x0A
    assert h.submit(system_id="beta").status == 0x0B
    assert h.submit(text="Win at the CASINO").status == 0x45
    assert h.submit(channel="http").status == 0x08
    from simulator.core.carrier import Submission

    unicode_result = h.carrier.submit(Submission(system_id="acme", channel="smpp", source="1", destination="447",
                                                 data_coding=8, short_message="hé".encode("utf-16-be")))
    assert unicode_result.status == 0x14
    assert h.submit().status == OK
