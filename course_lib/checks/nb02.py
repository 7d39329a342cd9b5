"""Self-checks of the exercises in notebooks/02_encoders.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, check_choice, check_prediction, expect, passed


def _nb02_loss_reference(u, v, item_ids, log_q, temperature, sign=-1.0, axis=1, mask_twins=True):
    """The in-batch softmax loss per row in NumPy, with switches that reproduce the common mistakes."""
    logits = u @ v.T / temperature + sign * log_q[None, :]
    if mask_twins:
        twin = (item_ids[:, None] == item_ids[None, :]) & ~np.eye(len(item_ids), dtype=bool)
        logits = np.where(twin, -1e9, logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return -np.diag(log_softmax)


def check_in_batch_softmax_loss(in_batch_softmax_loss) -> None:
    """Exercise 2.1: ``in_batch_softmax_loss(u, v, item_ids, log_q, temperature)`` -> (batch,) losses, in keras.ops."""
    from keras import ops

    rng = np.random.default_rng(21)
    u = rng.normal(size=(6, 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = rng.normal(size=(6, 4))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    item_ids = np.array([3, 8, 3, 5, 9, 8])  # rows 0 and 2, and rows 1 and 5, clicked the same item
    log_q = np.log(np.array([0.3, 0.2, 0.3, 0.05, 0.01, 0.2]))
    temperature = 0.2
    args = [ops.convert_to_tensor(a.astype(np.float32)) for a in (u, v)]
    answer = in_batch_softmax_loss(args[0], args[1], ops.convert_to_tensor(item_ids),
                                   ops.convert_to_tensor(log_q.astype(np.float32)), temperature)
    if not attempted(answer, "2.1"):
        return
    expect(not isinstance(answer, np.ndarray), "2.1", "the result is a NumPy array: write the loss with keras.ops "
           "(ops.matmul, ops.log_softmax, ...), so that it runs on tensors inside training and gradients flow.")
    try:
        got = np.asarray(ops.convert_to_numpy(answer), dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 2.1: return a tensor of losses, got {type(answer).__name__}") from None
    expect(got.shape == (6,), "2.1", f"return one loss per row, shape (batch,) = (6,), got shape {got.shape}; "
           "the model weighs and averages them itself.")
    expect(np.isfinite(got).all(), "2.1", "some losses are not finite: mask the twins with a large negative number "
           "(-1e9), never the diagonal (the positive itself), and use ops.log_softmax rather than log(softmax).")
    reference = _nb02_loss_reference(u, v, item_ids, log_q, temperature)
    if np.allclose(got, reference, rtol=1e-4, atol=1e-5):
        passed("2.1", "Row-wise softmax, logQ subtracted per column, twins masked.")
        return
    mistakes = [
        (dict(sign=0.0), "the logQ correction is missing (or subtracted along the rows, where a softmax ignores it): "
                         "subtract log_q[j] from column j, ops.expand_dims(log_q, 0)."),
        (dict(sign=+1.0), "log q is added: the correction *lowers* popular columns, logits - log_q."),
        (dict(axis=0), "the softmax runs down the columns: each row (a user) chooses among the columns (the items), "
                       "so take ops.log_softmax(logits, axis=1)."),
        (dict(mask_twins=False), "twins are not masked: a column holding the same item as row b's positive (but not "
                                 "column b itself) must get a very negative logit, e.g. ops.where(twin, -1e9, logits)."),
        (dict(temperature=1.0), "the temperature is ignored: divide the dot products by temperature."),
    ]
    for switches, hint in mistakes:
        kwargs = {"temperature": temperature, **switches}
        t = kwargs.pop("temperature")
        if np.allclose(got, _nb02_loss_reference(u, v, item_ids, log_q, t, **kwargs), rtol=1e-4, atol=1e-5):
            raise ExerciseError(f"Exercise 2.1: not yet. {hint}")
    expect(not np.allclose(got, -reference, rtol=1e-4), "2.1", "the losses are negative: the loss is *minus* the log "
           "of the probability on the diagonal.")
    raise ExerciseError(f"Exercise 2.1: not yet. On the check's batch your losses are {np.round(got, 3)}, expected "
                        f"about {np.round(reference, 3)}. Compare step by step with the NumPy loss by hand above.")


def check_no_logq_prediction(answer) -> None:
    """Exercise 2.2 (predict): what happens to logged Recall@50 without the logQ correction."""
    check_choice("2.2", answer, {
        "a": (False, "the correction removes a sampling bias, it adds no noise: without it popular items are "
                     "pushed down in every batch."),
        "b": (False, "in-batch negatives are drawn in proportion to popularity; without the correction that bias "
                     "is large, not a detail."),
        "c": (True, "without logQ, popular items are over-punished as negatives, and logged clicks land mostly on "
                    "popular items, so logged recall falls, here below popularity's."),
        "d": (False, "the bias is in the loss, so it affects every user's vector, with or without history."),
    })


def check_no_logq_reading(answer) -> None:
    """Exercise 2.3 (read): the no-logQ model is below popularity on logged recall, above it on true CTR."""
    check_choice("2.3", answer, {
        "a": (False, "its true CTR@10 beats popularity's: the model did learn what users like. Logged recall is "
                     "biased toward what the old policy showed."),
        "b": (True, "it learned taste (true CTR@10 above popularity's) but demotes popular items, and logged clicks "
                    "mostly land on the popular items the policy showed."),
        "c": (False, "two metrics can disagree when they measure different things: logged clicks depend on exposure, "
                     "true click probabilities do not."),
        "d": (False, "nothing in the table is about price; true CTR@10 is the true click probability of the top 10, "
                     "which depends on taste and quality as well as price."),
    })


def check_encoder_decision(answer) -> None:
    """Exercise 2.4 (decide): ship the attention encoder instead of mean pooling?"""
    check_choice("2.4", answer, {
        "a": (False, "attention does not beat the mean on any column (one seed, half the epochs), while training "
                     "(and serving) cost several times more: the costlier model has to prove a gain beyond "
                     "seed-to-seed noise."),
        "b": (True, "no gain beyond noise, at several times the cost; name the evidence that would change the "
                    "decision (order signal in the logs, a gain over several seeds with more epochs)."),
        "c": (False, "one short run from one seed, on logs with little order signal, cannot rule sequence models out "
                     "for good: with sessions and shifting intent they often pay. Keep the door open, with a test."),
        "d": (False, "co-occurrence is clearly below the two-tower model on every column of the table."),
    })


def popular_click_share(shop_data) -> float:
    """Share of the valid window's clicks on the 100 most clicked items before it (train-window clicks)."""
    from course_lib import data

    first, end = data.WINDOWS["valid"]
    imp = shop_data.impressions
    clicked = imp[imp["clicked"].to_numpy()]
    day = clicked["day"].to_numpy()
    popularity = np.bincount(clicked["item_id"].to_numpy()[day < first], minlength=len(shop_data.items))
    head = np.argsort(-popularity, kind="stable")[:100]
    valid = clicked["item_id"].to_numpy()[(day >= first) & (day < end)]
    return float(np.isin(valid, head).mean())


def check_popular_click_share(guess, shop_data) -> None:
    """Exercise 2.5 (predict): the share of valid-window clicks on the 100 most popular items (within 25%)."""
    if not attempted(guess, "2.5"):
        return
    try:
        g = float(guess)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 2.5: give your guess as a number, got {type(guess).__name__}") from None
    expect(0.0 <= g <= 1.0, "2.5", f"give a share between 0 and 1 (e.g. 0.3 for 30%), got {g}.")
    check_prediction("2.5", g, popular_click_share(shop_data), "the share of valid-window clicks on the 100 most "
                     "popular items", rel_tol=0.25)
