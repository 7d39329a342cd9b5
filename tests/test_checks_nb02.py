"""The checks of notebook 02's exercises: each diagnosed mistake gets its hint, the solution passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from keras import ops

from course_lib.checks import ExerciseError, nb02


def _solution(u, v, item_ids, log_q, temperature=0.1):
    """The solution of Exercise 2.1, as written in the notebook."""
    logits = ops.matmul(u, ops.transpose(v)) / temperature
    logits = logits - ops.expand_dims(ops.cast(log_q, logits.dtype), 0)
    same_item = ops.equal(ops.expand_dims(item_ids, 1), ops.expand_dims(item_ids, 0))
    twin = ops.logical_and(same_item, ops.logical_not(ops.eye(ops.shape(logits)[0], dtype="bool")))
    logits = ops.where(twin, -1e9, logits)
    return -ops.diagonal(ops.log_softmax(logits, axis=1))


def _variant(sign=-1.0, axis=1, mask_twins=True, use_temperature=True, mask_diagonal=False, reduce=False, negate=False):
    """A learner's loss with one of the mistakes the check diagnoses."""

    def loss(u, v, item_ids, log_q, temperature=0.1):
        logits = ops.matmul(u, ops.transpose(v)) / (temperature if use_temperature else 1.0)
        logits = logits + sign * ops.expand_dims(log_q, 0)
        same_item = ops.equal(ops.expand_dims(item_ids, 1), ops.expand_dims(item_ids, 0))
        if mask_diagonal:
            logits = ops.where(same_item, -np.inf, logits)
        elif mask_twins:
            twin = ops.logical_and(same_item, ops.logical_not(ops.eye(ops.shape(logits)[0], dtype="bool")))
            logits = ops.where(twin, -1e9, logits)
        out = -ops.diagonal(ops.log_softmax(logits, axis=axis))
        out = -out if negate else out
        return ops.mean(out) if reduce else out

    return loss


def test_the_solution_passes(capsys):
    nb02.check_in_batch_softmax_loss(_solution)
    assert "✅ Exercise 2.1" in capsys.readouterr().out


def test_the_stub_is_not_attempted(capsys):
    nb02.check_in_batch_softmax_loss(lambda u, v, item_ids, log_q, temperature=0.1: None)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ({"sign": 0.0}, "logQ correction is missing"),
        ({"sign": +1.0}, "log q is added"),
        ({"axis": 0}, "softmax runs down the columns"),
        ({"mask_twins": False}, "twins are not masked"),
        ({"use_temperature": False}, "temperature is ignored"),
        ({"mask_diagonal": True}, "not finite"),
        ({"reduce": True}, "one loss per row"),
        ({"negate": True}, "losses are negative"),
    ],
)
def test_each_mistake_gets_its_hint(mistake, hint):
    with pytest.raises(ExerciseError, match=hint):
        nb02.check_in_batch_softmax_loss(_variant(**mistake))


def test_a_numpy_answer_is_refused():
    def numpy_loss(u, v, item_ids, log_q, temperature=0.1):
        return np.asarray(ops.convert_to_numpy(_solution(u, v, item_ids, log_q, temperature)))

    with pytest.raises(ExerciseError, match="NumPy array"):
        nb02.check_in_batch_softmax_loss(numpy_loss)


def test_another_error_shows_the_expected_losses():
    with pytest.raises(ExerciseError, match="expected about"):
        nb02.check_in_batch_softmax_loss(lambda u, v, item_ids, log_q, temperature=0.1: ops.ones((6,)))


@pytest.mark.parametrize(
    ("check", "right", "wrong", "reason"),
    [
        (nb02.check_no_logq_prediction, "c", "b", "not a detail"),
        (nb02.check_no_logq_prediction, "c", "d", "every user"),
        (nb02.check_no_logq_reading, "b", "a", "did learn"),
        (nb02.check_no_logq_reading, "b", "c", "measure different things"),
        (nb02.check_encoder_decision, "b", "a", "seed-to-seed noise"),
        (nb02.check_encoder_decision, "b", "d", "co-occurrence is clearly below"),
        (nb02.check_encoder_decision, "b", "c", "cannot rule sequence models out"),
    ],
)
def test_choices_explain_wrong_answers_and_accept_the_right_one(check, right, wrong, reason, capsys):
    with pytest.raises(ExerciseError, match=reason):
        check(wrong)
    check(right)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="answer with one of"):
        check("e")


class _Shop:
    """The few tables check_popular_click_share reads: 4 items, clicks before and in the valid window."""

    def __init__(self):
        from course_lib import data

        first = data.WINDOWS["valid"][0]
        rows = [(0, first - 1)] * 5 + [(1, first - 1)] * 3 + [(150, first)] * 1 + [(0, first)] * 3
        self.impressions = pd.DataFrame({"item_id": [i for i, _ in rows], "day": [d for _, d in rows],
                                         "clicked": True})
        self.items = pd.DataFrame({"item_id": range(200)})


def test_popular_click_share_prediction(capsys):
    fake = _Shop()
    assert nb02.popular_click_share(fake) == pytest.approx(0.75)  # the 100 most clicked are items 0-99 (ties: lower id)
    nb02.check_popular_click_share(0.8, fake)
    assert "✅ Exercise 2.5" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="you predicted 0.3"):
        nb02.check_popular_click_share(0.3, fake)
    with pytest.raises(ExerciseError, match="between 0 and 1"):
        nb02.check_popular_click_share(45, fake)
    nb02.check_popular_click_share(..., fake)
    assert "not attempted" in capsys.readouterr().out
