"""The self-checks of notebook 09 reject the mistakes they name, with their hint, and pass the solution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.checks import ExerciseError, nb09


def _raises(fn, *args, hint):
    with pytest.raises(ExerciseError, match=hint):
        fn(*args)


def test_gain_by_page(capsys):
    gains = pd.Series([0.0, 0.3, 0.14, 0.04, 0.03])
    nb09.check_gain_by_page("b", gains)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_gain_by_page, "a", gains, hint="nothing has been clicked")
    _raises(nb09.check_gain_by_page, "c", gains, hint="not it")
    nb09.check_gain_by_page(..., gains)
    assert "not attempted" in capsys.readouterr().out


def test_best_arm_and_regret_reads(capsys):
    table = pd.DataFrame({"buy": [5.5, 8.4], "profit": [4.7, 9.7]}, index=["bargain", "loyal"])
    nb09.check_best_arm_read("b", table)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_best_arm_read, "a", table, hint="each row")
    regret = -np.ones((3, 10)).cumsum(axis=1)
    nb09.check_negative_regret_read("b", regret)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_negative_regret_read, "c", regret, hint="expected rewards")


def test_dr_estimate(capsys):
    def right(r, p, logged, target, r_log, r_tgt):
        return float(np.mean(r_tgt + (logged == target) / p * (r - r_log)))

    nb09.check_dr_estimate(right)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_dr_estimate, lambda r, p, lo, t, rl, rt: float(np.mean((lo == t) / p * r)), hint="plain IPS")
    _raises(nb09.check_dr_estimate, lambda r, p, lo, t, rl, rt: float(np.mean(rt + (lo == t) * p * (r - rl))),
            hint="divide the indicator")
    _raises(nb09.check_dr_estimate, lambda r, p, lo, t, rl, rt: float(np.mean(rt + (lo == t) / p * (r - rt))),
            hint="logged")


def test_launch_memo(capsys):
    regret = -np.ones((3, 10)).cumsum(axis=1)
    ope = pd.DataFrame({"2.5%": [5.5]}, index=["DR"])
    nb09.check_launch_memo("d", regret, ope, 5.54)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_launch_memo, "a", regret, ope, 5.54, hint="does not exclude")
    _raises(nb09.check_launch_memo, "b", regret, ope, 5.54, hint="ceiling")
    nb09.check_launch_memo("a", regret, ope, 5.0)
    assert "✅" in capsys.readouterr().out


def test_gain_by_page_peaking_late(capsys):
    gains = pd.Series([0.0, 0.26, 0.57, 0.61, 0.35])
    nb09.check_gain_by_page("c", gains)
    assert "✅" in capsys.readouterr().out
    _raises(nb09.check_gain_by_page, "b", gains, hint="not it")
