"""`carrier-sim loadtest` end to end: embedded carrier, real Locust, real sockets, bounded runs."""

from __future__ import annotations

from pathlib import Path

from .conftest import explain, loadtest, locust_rows, summary

FIXED_500MS = """
name: fixed-500ms
seed: 1
defaults:
  submit: {status: 0, latency: 0ms}
  receipt:
    states: [{state: DELIVRD}]
    delay: 500ms
"""


def test_main_job_prints_percentiles_and_conservation_and_writes_reports(reports: Path):
    result = loadtest("--duration", "3s", "--users", "2", "--reports", reports, "--max-missing", "0",
                      "--max-error-ratio", "0")
    assert result.returncode == 0, explain(result)
    out = result.stdout
    for label in ("submit (submit_sm_resp)", "receipt (submit->DLR)", "gateway-added", "throughput", "verdict: PASS"):
        assert label in out, out
    assert "[loadtest]" in result.stderr  # progress while it ran
    for name in ("summary.json", "report.html", "locust_stats.csv", "locust_stats_history.csv", "timeseries.csv"):
        assert (reports / name).is_file(), name
        assert str(reports / name) in out  # the report paths are printed
    data = summary(reports)
    conservation, receipts = data["conservation"], data["receipts"]
    assert conservation["correlated"] and conservation["lost"] == 0
    assert conservation["sent"] == conservation["arrived"] == conservation["receipted"] == receipts["sent"] > 100
    assert f"conservation    sent {conservation['sent']:,} = accepted" in out
    assert receipts["missing"] == receipts["duplicate"] == receipts["orphan"] == 0
    assert data["latency"]["submit"]["count"] == data["submits"]["segments_ok"]
    assert data["latency"]["receipt"]["p50"] >= 100.0  # happy-path receipts take 100 ms
    rows = locust_rows(reports)
    assert int(rows[("DLR", "DELIVRD")]["Request Count"]) == receipts["received"]
    assert int(rows[("SMPP", "submit_sm")]["Request Count"]) == data["submits"]["segments_ok"]
    assert data["timeseries"] and max(row["window_max"] for row in data["timeseries"]) <= 10
    assert data["thresholds"] and all(v["passed"] for v in data["thresholds"])


def test_receipt_latency_matches_a_fixed_delay_and_a_broken_threshold_fails_the_run(tmp_path: Path, reports: Path):
    scenario = tmp_path / "fixed-500ms.yaml"
    scenario.write_text(FIXED_500MS)
    # An open-model 200 msg/s keeps the machine far from saturation, so the delay is what is measured.
    result = loadtest("--scenario", scenario, "--rate", "200", "--users", "2", "--duration", "3s",
                      "--max-receipt-p95", "450ms", "--reports", reports)
    assert result.returncode == 1, explain(result)
    assert "BROKEN: receipt_p95 (--max-receipt-p95)" in result.stdout
    assert "FAIL: BROKEN: receipt_p95" in result.stdout
    data = summary(reports)
    p50 = data["latency"]["receipt"]["p50"]
    assert abs(p50 - 500.0) / 500.0 < 0.02, f"receipt p50 {p50} ms against 500 ms configured"
    assert data["verdict"] == "fail" and data["receipts"]["received"] > 300
    assert data["latency"]["lateness"]["count"] == data["receipts"]["sent"]  # the open model reports lateness


def test_receipt_races_are_counted(reports: Path):
    # dlr-chaos: 10 % each of lost, duplicate, out-of-order and early (before submit_sm_resp) receipts.
    result = loadtest("--scenario", "dlr-chaos", "--rate", "400", "--users", "4", "--shape", "step", "--duration", "2s",
                      "--receipt-timeout", "1500ms", "--drain", "4s", "--reports", reports)
    assert result.returncode in (0, 1), explain(result)  # missing receipts are Locust failures
    receipts = summary(reports)["receipts"]
    accepted = receipts["accepted"]
    assert accepted > 500
    assert 0.04 < receipts["missing"] / accepted < 0.18, receipts
    assert 0.04 < receipts["duplicate"] / accepted < 0.18, receipts
    assert 0.04 < receipts["early"] / accepted < 0.18, receipts
    assert receipts["orphan"] == 0 and receipts["received"] + receipts["missing"] == accepted
    assert "missing" in result.stdout and int(locust_rows(reports)[("DLR", "missing")]["Failure Count"]) > 0
    series = summary(reports)["timeseries"]
    assert series[0]["binds"] < max(row["binds"] for row in series)  # the step shape added binds over time


def test_throttling_backs_off_and_reports_retries_on_their_own(reports: Path):
    # throttled: 30 submits/s per account, 0x58 beyond.
    result = loadtest("--scenario", "throttled", "--users", "2", "--duration", "3s", "--reports", reports)
    data = summary(reports)
    submits = data["submits"]
    assert submits["throttled"] > 0 and submits["retries"] >= submits["throttled"], explain(result)
    retries = locust_rows(reports)[("RETRY", "0x58 ESME_RTHROTTLED")]
    assert int(retries["Request Count"]) == submits["throttled"] and int(retries["Failure Count"]) == 0
    assert 20 < data["throughput"]["messages_per_s"] < 45  # backed off to about the carrier's 30/s, no stall
    assert submits["timeouts"] == 0 and submits["segments_failed"] <= 0.03 * submits["messages"]
    assert any(row["throttled"] for row in data["timeseries"])
    assert data["conservation"]["lost"] == 0


def test_campaign_burst_of_long_messages(reports: Path):
    result = loadtest("--messages", "150", "--mix", "1:gsm7:400,1:ucs2-emoji:150", "--duration", "60s",
                      "--users", "2", "--reports", reports)
    assert result.returncode == 0, explain(result)
    data = summary(reports)
    assert data["submits"]["messages"] == 150  # the budget, then the run stopped by itself
    assert data["submits"]["segments"] == data["submits"]["segments_ok"] == 150 * 3
    assert data["receipts"]["received"] == 150 and data["conservation"]["arrived"] == 150
    assert data["run"]["send_seconds"] < 20
