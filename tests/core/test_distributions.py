"""Tests for simulator.core.distributions: determinism, statistics, parsing and durations."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from simulator.core.distributions import (
    Distribution,
    Exponential,
    Fixed,
    LogNormal,
    Mixture,
    Normal,
    Uniform,
    format_duration,
    parse_distribution,
    parse_duration,
)

N = 20_000
SEED = 20240305

ALL: list[Distribution] = [
    Fixed(0.01),
    Uniform(2.0, 4.0),
    Normal(0.1, 0.02),
    LogNormal(1.0, 0.5),
    Exponential(0.2),
    Mixture(((80, Fixed(0.01)), (15, Fixed(0.1)), (5, Uniform(1.0, 2.0)))),
]


def draw(dist: Distribution, seed: int = SEED, n: int = N) -> list[float]:
    rng = random.Random(seed)
    return [dist.sample(rng) for _ in range(n)]


# --- determinism -------------------------------------------------------------


@pytest.mark.parametrize("dist", ALL, ids=lambda d: d.describe())
def test_same_seed_same_sequence(dist: Distribution) -> None:
    assert draw(dist, n=500) == draw(dist, n=500)


@pytest.mark.parametrize("dist", ALL[1:], ids=lambda d: d.describe())
def test_different_seed_different_sequence(dist: Distribution) -> None:
    assert draw(dist, seed=1, n=50) != draw(dist, seed=2, n=50)


def test_global_rng_untouched() -> None:
    random.seed(7)
    before = random.getstate()
    for dist in ALL:
        draw(dist, n=100)
    assert random.getstate() == before


def test_sampling_sequence_is_stable_across_interleaving() -> None:
    # One RNG shared by two distributions still replays identically from the seed.
    def run() -> list[float]:
        rng = random.Random(3)
        return [d.sample(rng) for _ in range(200) for d in (ALL[3], ALL[5])]

    assert run() == run()


# --- statistics (N = 20,000, fixed seed; tolerances stated per test) ---------


@pytest.mark.parametrize("dist", ALL, ids=lambda d: d.describe())
def test_never_negative(dist: Distribution) -> None:
    assert min(draw(dist)) >= 0


def test_normal_clamped_at_zero() -> None:
    samples = draw(Normal(0.0, 1.0))
    assert min(samples) == 0.0
    assert 0.45 < sum(s == 0.0 for s in samples) / N < 0.55  # half the mass sits below 0


def test_normal_mean_accounts_for_clamp() -> None:
    dist = Normal(0.0, 1.0)
    assert dist.mean() == pytest.approx(1 / math.sqrt(2 * math.pi))  # E[max(Z, 0)]
    assert statistics.fmean(draw(dist)) == pytest.approx(dist.mean(), rel=0.03)
    assert Normal(0.1, 0.0).mean() == 0.1
    assert Normal(5.0, 0.01).mean() == pytest.approx(5.0)


def test_normal_mean_and_stddev() -> None:
    samples = draw(Normal(0.1, 0.02))
    assert statistics.fmean(samples) == pytest.approx(0.1, rel=0.01)
    assert statistics.stdev(samples) == pytest.approx(0.02, rel=0.03)


def test_uniform_bounds_and_mean() -> None:
    samples = draw(Uniform(2.0, 4.0))
    assert 2.0 <= min(samples) < 2.01
    assert 3.99 < max(samples) <= 4.0
    assert statistics.fmean(samples) == pytest.approx(3.0, rel=0.01)
    assert Uniform(2.0, 4.0).mean() == 3.0


def test_fixed() -> None:
    assert set(draw(Fixed(0.25), n=100)) == {0.25}
    assert Fixed(0.25).mean() == 0.25


def test_lognormal_median_within_5_percent() -> None:
    samples = draw(LogNormal(1.0, 0.5))
    assert statistics.median(samples) == pytest.approx(1.0, rel=0.05)
    assert LogNormal(1.0, 0.5).mean() == pytest.approx(math.exp(0.125))
    assert statistics.fmean(samples) == pytest.approx(math.exp(0.125), rel=0.05)


def test_lognormal_huge_sigma_does_not_overflow() -> None:
    # Unsaturated, sigma=1e4 would overflow math.exp on about half the draws.
    samples = draw(LogNormal(1.0, 1e4), n=2000)
    assert all(math.isfinite(x) for x in samples)
    assert max(samples) == pytest.approx(math.exp(700.0))


def test_exponential_mean_within_5_percent() -> None:
    samples = draw(Exponential(0.2))
    assert statistics.fmean(samples) == pytest.approx(0.2, rel=0.05)
    assert statistics.median(samples) == pytest.approx(0.2 * math.log(2), rel=0.05)


def test_mixture_proportions_within_1_5_points() -> None:
    dist = Mixture(((80, Fixed(0.01)), (15, Fixed(0.1)), (5, Uniform(1.0, 2.0))))
    samples = draw(dist)
    fast = sum(s == 0.01 for s in samples) / N
    mid = sum(s == 0.1 for s in samples) / N
    slow = sum(1.0 <= s <= 2.0 for s in samples) / N
    assert fast + mid + slow == pytest.approx(1.0)
    assert abs(fast - 0.80) < 0.015
    assert abs(mid - 0.15) < 0.015
    assert abs(slow - 0.05) < 0.015


def test_mixture_weights_are_relative() -> None:
    a = Mixture(((8, Fixed(0.0)), (2, Fixed(1.0))))
    b = Mixture(((0.8, Fixed(0.0)), (0.2, Fixed(1.0))))
    assert draw(a, n=1000) == draw(b, n=1000)
    assert a.mean() == pytest.approx(0.2)


def test_mixture_zero_weight_never_chosen() -> None:
    dist = Mixture(((0, Fixed(9.0)), (1, Fixed(1.0)), (0, Fixed(7.0))))
    assert set(draw(dist, n=5000)) == {1.0}


def test_mixture_mean_is_weighted() -> None:
    dist = Mixture(((3, Fixed(1.0)), (1, Uniform(2.0, 4.0))))
    assert dist.mean() == pytest.approx(0.75 * 1.0 + 0.25 * 3.0)
    assert statistics.fmean(draw(dist)) == pytest.approx(dist.mean(), rel=0.02)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Fixed(-1),
        lambda: Uniform(3, 2),
        lambda: Uniform(-1, 2),
        lambda: Normal(0.1, -0.1),
        lambda: LogNormal(0, 0.5),
        lambda: LogNormal(1, -0.5),
        lambda: Exponential(0),
        lambda: Fixed(math.nan),
        lambda: Mixture(()),
        lambda: Mixture(((0, Fixed(1)),)),
        lambda: Mixture(((-1, Fixed(1)), (2, Fixed(1)))),
        lambda: Mixture(((1, 0.5),)),  # type: ignore[arg-type]
    ],
)
def test_invalid_parameters_raise(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_describe() -> None:
    assert Fixed(0.01).describe() == "fixed 10ms"
    assert Uniform(2, 4).describe() == "uniform 2s..4s"
    assert Normal(0.1, 0.02).describe() == "normal mean=100ms stddev=20ms"
    assert LogNormal(1, 0.5).describe() == "lognormal median=1s sigma=0.5"
    assert Exponential(0.0005).describe() == "exponential mean=500us"
    assert Mixture(((80, Fixed(0.01)), (20, Fixed(1)))).describe() == "mixture 80% fixed 10ms, 20% fixed 1s"


def test_is_distribution_protocol() -> None:
    assert all(isinstance(d, Distribution) for d in ALL)


# --- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        (" 10 ms ", 0.01),
        ("0.5", 0.5),
        (".5s", 0.5),
        ("1e3ms", 1.0),
        (0.5, 0.5),
        (3, 3.0),
        (0, 0.0),
    ],
)
def test_parse_duration(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "unit"),
        ("ms", "unit"),
        ("10 sec", "unit"),
        ("10x", "unit"),
        ("1.5S", "unit"),
        ("abc", "unit"),
        ("-5ms", "not negative"),
        (-1, "not negative"),
        (math.inf, "finite"),
        ("1e400s", "finite"),
        (True, "expected"),
        (None, "expected"),
    ],
)
def test_parse_duration_rejects(value: object, fragment: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_duration(value)  # type: ignore[arg-type]
    assert fragment in str(exc.value)
    assert repr(value) in str(exc.value)


def test_format_duration() -> None:
    assert [format_duration(x) for x in (0, 0.0005, 0.25, 1.5, 120)] == ["0s", "500us", "250ms", "1.5s", "120s"]


# --- parse_distribution ------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("10ms", Fixed(0.01)),
        (0.5, Fixed(0.5)),
        (2, Fixed(2.0)),
        ({"fixed": "10ms"}, Fixed(0.01)),
        ({"uniform": ["2s", "4s"]}, Uniform(2.0, 4.0)),
        ({"uniform": {"low": "2s", "high": "4s"}}, Uniform(2.0, 4.0)),
        ({"normal": {"mean": "100ms", "stddev": "20ms"}}, Normal(0.1, 0.02)),
        ({"lognormal": {"median": "1s", "sigma": 0.5}}, LogNormal(1.0, 0.5)),
        ({"lognormal": {"median": "1s", "sigma": "0.5"}}, LogNormal(1.0, 0.5)),
        ({"exponential": {"mean": "200ms"}}, Exponential(0.2)),
    ],
)
def test_parse_distribution(spec: object, expected: Distribution) -> None:
    assert parse_distribution(spec) == expected


def test_parse_mixture_long_form() -> None:
    dist = parse_distribution(
        {
            "mixture": [
                {"weight": 80, "value": "10ms"},
                {"weight": 15, "value": "100ms"},
                {"weight": 5, "value": {"uniform": ["1s", "2s"]}},
            ]
        }
    )
    assert dist == Mixture(((80.0, Fixed(0.01)), (15.0, Fixed(0.1)), (5.0, Uniform(1.0, 2.0))))


def test_parse_mixture_short_form() -> None:
    dist = parse_distribution({"mixture": {"80%": "10ms", "15%": "100ms", "5%": "1s"}})
    assert dist == Mixture(((80.0, Fixed(0.01)), (15.0, Fixed(0.1)), (5.0, Fixed(1.0))))


def test_parse_mixture_percent_weights_in_long_form() -> None:
    dist = parse_distribution({"mixture": [{"weight": "25%", "value": 1}, {"weight": "75%", "value": 2}]})
    assert dist.mean() == pytest.approx(1.75)


def test_parsed_mixture_samples_like_constructed() -> None:
    parsed = parse_distribution({"mixture": {"80%": "10ms", "15%": "100ms", "5%": {"uniform": ["1s", "2s"]}}})
    assert draw(parsed, n=1000) == draw(ALL[5], n=1000)


def test_unknown_kind_suggests_closest() -> None:
    with pytest.raises(ValueError) as exc:
        parse_distribution({"unifrom": ["1s", "2s"]})
    assert str(exc.value) == (
        "expected one of fixed, uniform, normal, lognormal, exponential, mixture; "
        "got 'unifrom' (did you mean 'uniform'?)"
    )


def test_unknown_kind_without_close_match() -> None:
    with pytest.raises(ValueError) as exc:
        parse_distribution({"zzz": 1})
    assert "got 'zzz'" in str(exc.value)
    assert "did you mean" not in str(exc.value)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"normal": {"mean": "1s", "stdev": "1s"}}, "unknown key 'stdev' (did you mean 'stddev'?)"),
        ({"normal": {"mean": "1s"}}, "normal is missing 'stddev'"),
        ({"normal": "1s"}, "normal expects a mapping"),
        ({"uniform": ["1s"]}, "uniform expects [low, high]"),
        ({"uniform": {"low": "1s", "hi": "2s"}}, "did you mean 'high'"),
        ({"uniform": ["3s", "1s"]}, "must not exceed"),
        ({"fixed": "10 parsecs"}, "fixed: invalid duration"),
        ({"fixed": [1]}, "fixed: expected a duration"),
        ({"normal": {"mean": "-1s", "stddev": "1s"}}, "normal mean: invalid duration"),
        ({"lognormal": {"median": "1s", "sigma": "0.5s"}}, "no unit"),
        ({"exponential": {"mean": 0}}, "exponential mean must be"),
        ({"mixture": "10ms"}, "mixture expects a list"),
        ({"mixture": [{"weight": 1, "valu": "1s"}]}, "mixture[0] expects keys weight, value"),
        ({"mixture": [{"weight": 1, "value": {"unifrom": [1, 2]}}]}, "mixture[0].value: expected one of"),
        ({"mixture": {"80%": "1s", "x%": "2s"}}, "mixture weight must be a plain number"),
        ({"mixture": {"100%": {"fixd": 1}}}, "mixture['100%']: expected one of"),
        ({"fixed": "1s", "uniform": [1, 2]}, "one key"),
        ({}, "one key"),
        ([1, 2], "one key"),
        (None, "one key"),
        (True, "one key"),
    ],
)
def test_parse_distribution_errors(spec: object, fragment: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_distribution(spec)
    assert fragment in str(exc.value)
