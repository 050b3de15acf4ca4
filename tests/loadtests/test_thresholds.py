"""CI thresholds from flags and YAML, and their verdicts."""

from __future__ import annotations

import pytest

from loadtests.thresholds import Thresholds, check, from_flags, load


def test_flags_parse_units():
    limits = from_flags({"submit_p95": "5ms", "receipt_p95": "1.5s", "error_ratio": "1%", "min_throughput": "1000/s",
                         "max_missing": "0", "submit_p99": ""})
    assert limits == Thresholds(submit_p95=5.0, receipt_p95=1500.0, error_ratio=0.01, min_throughput=1000.0,
                                max_missing=0)


def test_yaml_file_and_flags_override_it(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("thresholds:\n  submit_p95: 10   # ms\n  receipt_p95: 2s\n  max_missing: 3\n")
    merged = load(path).merged(from_flags({"submit_p95": "2ms"}))
    assert (merged.submit_p95, merged.receipt_p95, merged.max_missing) == (2.0, 2000.0, 3)


def test_unknown_or_bad_entries_are_named(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("submit_p96: 5ms\n")
    with pytest.raises(ValueError, match="submit_p96"):
        load(path)
    with pytest.raises(ValueError, match="--max-error-ratio"):
        from_flags({"error_ratio": "2"})


def test_verdicts_name_the_broken_threshold():
    verdicts = check(Thresholds(submit_p95=1.0, min_throughput=500.0, max_missing=0),
                     {"submit_p95": 1.7, "min_throughput": 800.0, "max_missing": 0})
    broken = [v for v in verdicts if not v.passed]
    assert [v.name for v in broken] == ["submit_p95"]
    assert "submit_p95 (--max-submit-p95) measured 1.700 ms, limit at most 1.000 ms" in broken[0].message


def test_a_limit_with_nothing_measured_fails():
    [verdict] = check(Thresholds(receipt_p95=100.0), {"receipt_p95": None})
    assert not verdict.passed and "nothing measured" in verdict.message
