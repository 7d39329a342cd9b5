"""The checks of notebook 03c: each diagnosed mistake gets its hint, and the solution passes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import ExerciseError
from course_lib.checks import nb03c as checks


def test_esmm_cvr():
    rng = np.random.default_rng(0)
    ctr, cvr = rng.uniform(0.02, 0.3, 50), rng.uniform(0.05, 0.4, 50)
    checks.check_esmm_cvr(ctr * cvr / ctr, cvr)
    with pytest.raises(ExerciseError, match="exceed 1"):
        checks.check_esmm_cvr(ctr / (ctr * cvr), cvr)
    with pytest.raises(ExerciseError, match="division"):
        checks.check_esmm_cvr(ctr * ctr * cvr, cvr)
    with pytest.raises(ExerciseError, match="shape"):
        checks.check_esmm_cvr(cvr[:10], cvr)


def test_selection_prediction(capsys):
    checks.check_selection_prediction("b")
    assert "✅ Exercise 3.4" in capsys.readouterr().out
    for wrong, hint in [("a", "clicked rows alone"), ("c", "differ")]:
        with pytest.raises(ExerciseError, match=hint):
            checks.check_selection_prediction(wrong)


@pytest.mark.parametrize(("network_wins", "right", "wrong"), [(True, "a", "b"), (False, "b", "a")])
def test_launch_decision_follows_the_measured_result(capsys, network_wins, right, wrong):
    checks.check_launch_decision(right, network_wins)
    assert "✅ Exercise 3.6" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="is not it"):
        checks.check_launch_decision(wrong, network_wins)
    with pytest.raises(ExerciseError, match="divides"):
        checks.check_launch_decision("c", network_wins)
