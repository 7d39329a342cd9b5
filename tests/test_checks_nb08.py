"""The checks of notebook 08 diagnose the mistakes they claim to, and pass the solutions."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import ExerciseError, nb08


def _passes(capsys, call) -> str:
    call()
    out = capsys.readouterr().out
    assert out.startswith("✅"), out
    return out


def test_not_attempted(capsys):
    nb08.check_reviews(None)
    nb08.check_thompson(lambda *a: None)
    nb08.check_coverage_prediction(None, 0.3)
    nb08.check_lambda_choice(None)
    nb08.check_ad_price(None, 0.5)
    out = capsys.readouterr().out
    assert out.count("not attempted") == 5


def test_choices(capsys):
    _passes(capsys, lambda: nb08.check_reviews("b"))
    _passes(capsys, lambda: nb08.check_lambda_choice("B"))
    with pytest.raises(ExerciseError, match="fewest stars"):
        nb08.check_reviews("a")
    with pytest.raises(ExerciseError, match="price paid matters"):
        nb08.check_reviews("c")
    with pytest.raises(ExerciseError, match="future purchases"):
        nb08.check_lambda_choice("a")
    with pytest.raises(ExerciseError, match="least GMV"):
        nb08.check_lambda_choice("c")
    with pytest.raises(ExerciseError, match="one of"):
        nb08.check_lambda_choice("e")


def solution(clicks, views, prior_mean, prior_strength, rng):
    return rng.beta(clicks + prior_strength * prior_mean, views - clicks + prior_strength * (1 - prior_mean))


def test_thompson(capsys):
    _passes(capsys, lambda: nb08.check_thompson(solution))

    def greedy(clicks, views, m, s, rng):
        return (clicks + s * m) / (views + s)

    with pytest.raises(ExerciseError, match="posterior mean"):
        nb08.check_thompson(greedy)

    def no_prior(clicks, views, m, s, rng):
        return rng.beta(clicks + 1, views - clicks + 1)

    with pytest.raises(ExerciseError, match="pseudo-views"):
        nb08.check_thompson(no_prior)

    def swapped(clicks, views, m, s, rng):
        return rng.beta(views - clicks + s * (1 - m), clicks + s * m)

    with pytest.raises(ExerciseError, match="non-clicks"):
        nb08.check_thompson(swapped)

    def too_narrow(clicks, views, m, s, rng):
        mean = (clicks + s * m) / (views + s)
        return mean + 0.001 * rng.standard_normal(np.shape(clicks))

    with pytest.raises(ExerciseError, match="spread"):
        nb08.check_thompson(too_narrow)

    with pytest.raises(ExerciseError, match="one draw per entry"):
        nb08.check_thompson(lambda c, v, m, s, rng: rng.beta(1.0, 1.0, size=3))


def test_coverage_prediction(capsys):
    _passes(capsys, lambda: nb08.check_coverage_prediction(0.33, 0.326))
    with pytest.raises(ExerciseError, match="between 0 and 1"):
        nb08.check_coverage_prediction(33, 0.326)
    with pytest.raises(ExerciseError, match="you predicted 0.9"):
        nb08.check_coverage_prediction(0.9, 0.326)


def test_ad_price(capsys):
    _passes(capsys, lambda: nb08.check_ad_price(0.5, 0.5))
    with pytest.raises(ExerciseError, match="percentage"):
        nb08.check_ad_price(50, 0.5)
    with pytest.raises(ExerciseError, match="gives up"):
        nb08.check_ad_price(0.3, 0.7)
    with pytest.raises(ExerciseError, match="max ad_revenue"):
        nb08.check_ad_price(0.9, 0.5)
    with pytest.raises(ExerciseError, match="one number"):
        nb08.check_ad_price("half", 0.5)
