"""The exercise checks of notebook 07: each wrong answer it claims to diagnose gets its hint; the solution passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.checks import ExerciseError
from course_lib.checks import nb07 as checks
from course_lib.inference import bootstrap_ci


@pytest.fixture(scope="module")
def gmv():
    rng = np.random.default_rng(0)
    a = rng.gamma(2.0, 5.0, size=2000)  # per-user GMV under policy A
    return a, a * 2.0 + rng.normal(0, 3.0, size=2000)  # B: correlated with A, user by user


def solution_paired(gmv_a, gmv_b, n_boot=1000, seed=0):
    _, low, high = bootstrap_ci(np.asarray(gmv_b) - np.asarray(gmv_a), n_boot=n_boot, seed=seed)
    return low, high


def unpaired(gmv_a, gmv_b, n_boot=1000, seed=0):
    rng = np.random.default_rng(seed)
    a, b = np.asarray(gmv_a), np.asarray(gmv_b)
    reps = b[rng.integers(0, len(b), (n_boot, len(b)))].mean(1) - a[rng.integers(0, len(a), (n_boot, len(a)))].mean(1)
    return tuple(np.quantile(reps, [0.025, 0.975]))


def normal_approximation(gmv_a, gmv_b, n_boot=1000, seed=0):
    d = np.asarray(gmv_b) - np.asarray(gmv_a)
    se = d.std(ddof=1) / np.sqrt(len(d))
    return d.mean() - 1.96 * se, d.mean() + 1.96 * se


def test_paired_interval(gmv, capsys):
    checks.check_paired_interval(lambda a, b, n_boot=1000, seed=0: None, *gmv)
    assert "not attempted" in capsys.readouterr().out
    checks.check_paired_interval(solution_paired, *gmv)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="unpaired"):
        checks.check_paired_interval(unpaired, *gmv)
    with pytest.raises(ExerciseError, match="normal approximation"):
        checks.check_paired_interval(normal_approximation, *gmv)
    with pytest.raises(ExerciseError, match="pair of numbers"):
        checks.check_paired_interval(lambda a, b, n_boot=1000, seed=0: 3.0, *gmv)
    with pytest.raises(ExerciseError, match="below high"):
        checks.check_paired_interval(lambda a, b, n_boot=1000, seed=0: solution_paired(a, b)[::-1], *gmv)
    with pytest.raises(ExerciseError, match="far from"):  # a 68% interval instead of 95%
        checks.check_paired_interval(
            lambda a, b, n_boot=1000, seed=0: tuple(np.quantile(
                (np.asarray(b) - np.asarray(a))[np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))]
                .mean(1), [0.16, 0.84])), *gmv)


@pytest.mark.parametrize("check, right", [(checks.check_crn_read, "b"), (checks.check_aa_prediction, "b"),
                                          (checks.check_ess_prediction, "c")])
def test_multiple_choice(check, right, capsys):
    check(None)
    assert "not attempted" in capsys.readouterr().out
    check(right.upper())
    assert "✅" in capsys.readouterr().out
    for wrong in {"a", "b", "c", "d"} - {right}:
        if check is checks.check_ess_prediction and wrong == "d":
            continue
        with pytest.raises(ExerciseError, match=f"\\({wrong}\\) is not it"):
            check(wrong)
    with pytest.raises(ExerciseError, match="answer with one of"):
        check("z")


def ab_table(gmv=(12.0, 25.0, 24.0, 26.0), ctr=(0.224, 0.200, 0.199, 0.202), buys=(1.05, 0.65, 0.64, 0.66)):
    rows = {name: dict(zip(["a", "b", "diff", "low", "high"], [v[0], v[1], v[1] - v[0], v[2] - v[0], v[3] - v[0]],
                           strict=True))
            for name, v in [("gmv", gmv), ("ctr", ctr), ("purchases", buys)]}
    return pd.DataFrame(rows).T


def test_launch_memo_follows_the_numbers(capsys):
    broken = ab_table()  # GMV up, clicks -11% (within 15%), purchases -38% (beyond 5%)
    checks.check_launch_memo("b", broken, 15.0, 5.0)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="guardrails too"):
        checks.check_launch_memo("a", broken, 15.0, 5.0)
    with pytest.raises(ExerciseError, match="within the guardrail, so clicks are not the problem"):
        checks.check_launch_memo("c", broken, 15.0, 5.0)
    with pytest.raises(ExerciseError, match="more traffic would not change"):
        checks.check_launch_memo("d", broken, 15.0, 5.0)
    fine = ab_table(buys=(1.05, 1.04, 1.02, 1.06))  # purchases -1% [-3%, +1%]: within the guardrail
    checks.check_launch_memo("a", fine, 15.0, 5.0)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="within its guardrail"):
        checks.check_launch_memo("b", fine, 15.0, 5.0)
    clicks_lost = ab_table(ctr=(0.224, 0.15, 0.14, 0.16), buys=(1.05, 1.04, 1.02, 1.06))
    checks.check_launch_memo("c", clicks_lost, 15.0, 5.0)
    assert "✅" in capsys.readouterr().out
    undecided = ab_table(gmv=(12.0, 12.5, 11.0, 14.0), buys=(1.05, 1.04, 1.02, 1.06))
    checks.check_launch_memo("d", undecided, 15.0, 5.0)
    assert "✅" in capsys.readouterr().out
    checks.check_launch_memo(None, broken, 15.0, 5.0)
    assert "not attempted" in capsys.readouterr().out


def solution_snips(rewards, target_probs, logging_propensities):
    w = np.asarray(target_probs) / np.asarray(logging_propensities)
    return float((w * np.asarray(rewards)).sum() / w.sum())


@pytest.fixture(scope="module")
def logged():
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.05, 0.5, 400)
    pi = rng.uniform(0.0, 0.6, 400)
    return (rng.random(400) < 0.3).astype(float), pi, mu


def test_snips(logged, capsys):
    checks.check_snips(lambda r, p, m: None, *logged)
    assert "not attempted" in capsys.readouterr().out
    checks.check_snips(solution_snips, *logged)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="plain IPS"):
        checks.check_snips(lambda r, p, m: float(np.mean(np.asarray(p) / np.asarray(m) * r)), *logged)
    with pytest.raises(ExerciseError, match="upside down"):
        checks.check_snips(lambda r, p, m: solution_snips(r, m, p), *logged)
    with pytest.raises(ExerciseError, match="without any weights"):
        checks.check_snips(lambda r, p, m: float(np.mean(r)), *logged)
    with pytest.raises(ExerciseError, match="one number"):
        checks.check_snips(lambda r, p, m: (0.3, 100.0), *logged)
    with pytest.raises(ExerciseError, match="SNIPS on the logged requests: got"):
        checks.check_snips(lambda r, p, m: 0.123, *logged)
