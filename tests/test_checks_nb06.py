"""The checks of notebook 06's exercises: each diagnosed mistake gets its hint, the solution passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib import pareto
from course_lib.checks import ExerciseError, nb06


def _ok(capsys, exercise):
    assert f"✅ Exercise {exercise}" in capsys.readouterr().out


# Exercise 6.1 -------------------------------------------------------------------------------


def test_dominates(capsys):
    nb06.check_dominates(lambda a, b: bool(np.all(a <= b) and np.any(a < b)))
    _ok(capsys, "6.1")
    with pytest.raises(ExerciseError, match="equal vectors"):
        nb06.check_dominates(lambda a, b: bool(np.all(a <= b)))
    with pytest.raises(ExerciseError, match="better in both objectives"):  # maximising instead of minimising
        nb06.check_dominates(lambda a, b: bool(np.all(a >= b) and np.any(a > b)))
    with pytest.raises(ExerciseError, match="as good in one and better"):  # strictly better everywhere
        nb06.check_dominates(lambda a, b: bool(np.all(a < b)))
    nb06.check_dominates(lambda a, b: None)
    assert "not attempted" in capsys.readouterr().out


# Exercise 6.2 -------------------------------------------------------------------------------


def test_missed_end(capsys):
    names = ("clicks", "gmv", "diversity")
    ref = np.array([[1.8, 10.0, 0.3], [1.5, 20.0, 0.4], [1.0, 12.0, 0.6]])
    found = np.array([[1.8, 10.0, 0.3], [1.5, 20.0, 0.4], [1.4, 15.0, 0.45]])  # misses the diversity end
    nb06.check_missed_end("c", ref, found, names)
    _ok(capsys, "6.2")
    with pytest.raises(ExerciseError, match="clicks end"):
        nb06.check_missed_end("a", ref, found, names)
    with pytest.raises(ExerciseError, match="One end is clearly missing"):
        nb06.check_missed_end("d", ref, found, names)
    nb06.check_missed_end("d", ref, ref, names)


# Exercise 6.3 -------------------------------------------------------------------------------


def _hv_2d(F, ref):
    F = np.asarray(F, dtype=float)
    F = F[np.all(F < ref, axis=1)]
    if len(F) == 0:
        return 0.0
    F = np.unique(F[pareto.fast_non_dominated_sort(F)[0]], axis=0)
    right = np.append(F[1:, 0], ref)
    return float(np.sum((right - F[:, 0]) * (ref - F[:, 1])))


def test_hv_2d(capsys):
    nb06.check_hv_2d(_hv_2d)
    _ok(capsys, "6.3")


def test_hv_2d_mistakes():
    def keeps_dominated(F, ref):
        F = np.asarray(F, dtype=float)
        F = F[np.all(F < ref, axis=1)]
        F = F[np.argsort(F[:, 0])]
        return float(np.sum((np.append(F[1:, 0], ref) - F[:, 0]) * (ref - F[:, 1])))

    with pytest.raises(ExerciseError, match="dominated point"):
        nb06.check_hv_2d(keeps_dominated)

    def keeps_outside(F, ref):
        F = np.asarray(F, dtype=float)
        F = np.unique(F[pareto.fast_non_dominated_sort(F)[0]], axis=0)
        return float(np.sum((np.append(F[1:, 0], ref) - F[:, 0]) * (ref - F[:, 1])))

    with pytest.raises(ExerciseError, match="beyond the reference point"):
        nb06.check_hv_2d(keeps_outside)
    with pytest.raises(ExerciseError, match="0.46"):
        nb06.check_hv_2d(lambda F, ref: 1.0)


# Exercise 6.4 -------------------------------------------------------------------------------


def test_igd_prediction(capsys):
    igd = {"NSGA-II": 0.19, "MOPSO-CD": 0.18, "random": 0.10}
    hv = {"NSGA-II": 0.97, "MOPSO-CD": 0.96, "random": 0.85}
    nb06.check_igd_prediction("c", igd, hv)
    out = capsys.readouterr().out
    assert "✅ Exercise 6.4" in out and "highest hypervolume" in out
    with pytest.raises(ExerciseError, match="misses one end"):
        nb06.check_igd_prediction("a", igd, hv)
    nb06.check_igd_prediction("a", {"NSGA-II": 0.05, "MOPSO-CD": 0.18, "random": 0.10}, hv)
    with pytest.raises(ExerciseError, match="not always enough"):
        nb06.check_igd_prediction("c", {"NSGA-II": 0.05, "MOPSO-CD": 0.18, "random": 0.10}, hv)


# Exercise 6.5 -------------------------------------------------------------------------------


def _front():
    t = np.linspace(0, 1, 25)
    return np.column_stack([t, (1 - t) * 100, (1 - t) ** 2])  # a front; the second objective in "euros"


def test_asf_choice(capsys):
    F = _front()
    ideal, nadir = F.min(axis=0), F.max(axis=0)

    def solution(F, importance, ideal, nadir):
        return int(np.argmin(np.max(importance * (F - ideal) / (nadir - ideal), axis=1)))

    nb06.check_asf_choice(solution, F, np.array([0.2, 0.6, 0.2]), ideal, nadir)
    _ok(capsys, "6.5")
    with pytest.raises(ExerciseError, match="largest ASF"):
        nb06.check_asf_choice(lambda F, i, lo, hi: int(np.argmax(np.max(i * (F - lo) / (hi - lo), axis=1))),
                              F, np.array([0.2, 0.6, 0.2]), ideal, nadir)
    with pytest.raises(ExerciseError, match="normalise"):
        nb06.check_asf_choice(lambda F, i, lo, hi: int(np.argmin(np.max(i * (F - lo), axis=1))),
                              F, np.array([0.2, 0.6, 0.2]), ideal, nadir)
    with pytest.raises(ExerciseError, match="one index"):
        nb06.check_asf_choice(lambda F, i, lo, hi: [0, 1], F, np.array([0.2, 0.6, 0.2]), ideal, nadir)


# Exercise 6.6 -------------------------------------------------------------------------------


def test_launch_choice(capsys):
    table = pd.DataFrame({"clicks": [1.8, 1.4, 1.7, 1.65], "gmv": [9.0, 22.0, 18.0, 19.0]},
                         index=["CTR ranking", "GMV ranking", "knee", "ASF (0.4, 0.4, 0.2)"])
    nb06.check_launch_choice("ASF (0.4, 0.4, 0.2)", table)
    _ok(capsys, "6.6")
    with pytest.raises(ExerciseError, match="below the memo's floor"):
        nb06.check_launch_choice("GMV ranking", table)
    with pytest.raises(ExerciseError, match="earns more GMV"):
        nb06.check_launch_choice("knee", table)
    with pytest.raises(ExerciseError, match="row label"):
        nb06.check_launch_choice("best", table)
