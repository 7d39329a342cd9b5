"""Self-checks of the exercises in notebooks/02_encoders.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import as_array, attempted, check_prediction, choice, compare, expect, number, passed

OPTIONS = {
    "2.2": {
        "a": (False, "the correction removes a sampling bias, it adds no noise: without it popular items are pushed "
                     "down in every batch."),
        "b": (False, "in-batch negatives are drawn in proportion to popularity; without the correction that bias is "
                     "large, not a detail."),
        "c": (True, "without logQ, popular items are over-punished as negatives, and logged clicks land mostly on "
                    "popular items, so logged recall falls, here below popularity's."),
        "d": (False, "the bias is in the loss, so it affects every user's vector, with or without history."),
    },
    "2.3": {
        "a": (False, "its true CTR@10 beats popularity's: the model did learn what users like. Logged recall is biased "
                     "toward what the old policy showed."),
        "b": (True, "it learned taste (true CTR@10 above popularity's) but demotes popular items, and logged clicks "
                    "mostly land on the popular items the policy showed."),
        "c": (False, "two metrics can disagree when they measure different things: logged clicks depend on exposure, "
                     "true click probabilities do not."),
        "d": (False, "nothing in the table is about price; true CTR@10 is the true click probability of the top 10, "
                     "which depends on taste and quality as well as price."),
    },
    "2.4": {
        "a": (False, "attention does not beat the mean on any column (one seed, half the epochs), while training (and "
                     "serving) cost several times more: the costlier model has to prove a gain beyond seed-to-seed "
                     "noise."),
        "b": (True, "no gain beyond noise, at several times the cost; name the evidence that would change the decision "
                    "(order signal in the logs, a gain over several seeds with more epochs)."),
        "c": (False, "one short run from one seed, on logs with little order signal, cannot rule sequence models out "
                     "for good: with sessions and shifting intent they often pay. Keep the door open, with a test."),
        "d": (False, "co-occurrence is clearly below the two-tower model on every column of the table."),
    },
}
check_no_logq_prediction = choice(OPTIONS, "2.2", "what happens to logged Recall@50 without the logQ correction?")
check_no_logq_reading = choice(OPTIONS, "2.3", "why is the no-logQ model below popularity on logged recall only?")
check_encoder_decision = choice(OPTIONS, "2.4", "ship the attention encoder instead of mean pooling?")


def _loss(u, v, item_ids, log_q, temperature, sign=-1.0, axis=1, mask_twins=True):
    """The in-batch softmax loss per row in NumPy; the switches reproduce the common mistakes."""
    logits = u @ v.T / temperature + sign * log_q[None, :]
    twin = (item_ids[:, None] == item_ids[None, :]) & ~np.eye(len(item_ids), dtype=bool)
    logits = np.where(twin & mask_twins, -1e9, logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return -np.diag(shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)))


def check_in_batch_softmax_loss(in_batch_softmax_loss) -> None:
    """Exercise 2.1: ``in_batch_softmax_loss(u, v, item_ids, log_q, temperature)`` -> (batch,) losses, in keras.ops."""
    from keras import ops

    rng = np.random.default_rng(21)
    u, v = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (rng.normal(size=(6, 4)), rng.normal(size=(6, 4))))
    item_ids = np.array([3, 8, 3, 5, 9, 8])  # rows 0 and 2, and rows 1 and 5, clicked the same item
    log_q = np.log(np.array([0.3, 0.2, 0.3, 0.05, 0.01, 0.2]))
    f32 = [ops.convert_to_tensor(a.astype("float32")) for a in (u, v, log_q)]
    answer = in_batch_softmax_loss(f32[0], f32[1], ops.convert_to_tensor(item_ids), f32[2], 0.2)
    if not attempted(answer, "2.1"):
        return
    expect(not isinstance(answer, np.ndarray), "2.1", "the result is a NumPy array: write the loss with keras.ops "
           "(ops.matmul, ops.log_softmax, ...), so that it runs on tensors inside training and gradients flow.")
    got = as_array(ops.convert_to_numpy(answer), "2.1", "a tensor of losses")
    expect(got.shape == (6,), "2.1", f"return one loss per row, shape (batch,) = (6,), got shape {got.shape}; "
           "the model weighs and averages them itself.")
    expect(np.isfinite(got).all(), "2.1", "some losses are not finite: mask the twins with a large negative number "
           "(-1e9), never the diagonal (the positive itself), and use ops.log_softmax rather than log(softmax).")
    right = _loss(u, v, item_ids, log_q, 0.2)
    expect(not np.allclose(got, -right, rtol=1e-4), "2.1", "the losses are negative: the loss is *minus* the log "
           "of the probability on the diagonal.")
    compare(got, right, "2.1", "the losses on the check's batch", {
        "the logQ correction is missing (or subtracted along the rows, where a softmax ignores it): subtract "
        "log_q[j] from column j, ops.expand_dims(log_q, 0).": _loss(u, v, item_ids, log_q, 0.2, sign=0.0),
        "log q is added: the correction *lowers* popular columns, logits - log_q.":
            _loss(u, v, item_ids, log_q, 0.2, sign=1.0),
        "the softmax runs down the columns: each row (a user) chooses among the columns (the items), so take "
        "ops.log_softmax(logits, axis=1).": _loss(u, v, item_ids, log_q, 0.2, axis=0),
        "twins are not masked: a column holding the same item as row b's positive (but not column b itself) must "
        "get a very negative logit, e.g. ops.where(twin, -1e9, logits).":
            _loss(u, v, item_ids, log_q, 0.2, mask_twins=False),
        "the temperature is ignored: divide the dot products by temperature.": _loss(u, v, item_ids, log_q, 1.0),
    }, rtol=1e-4, atol=1e-5)
    passed("2.1", "Row-wise softmax, logQ subtracted per column, twins masked.")


def popular_click_share(shop_data) -> float:
    """Share of the valid window's clicks on the 100 most clicked items before it (train-window clicks)."""
    from course_lib import data

    first, end = data.WINDOWS["valid"]
    clicked = shop_data.impressions[shop_data.impressions["clicked"].to_numpy()]
    day, item = clicked["day"].to_numpy(), clicked["item_id"].to_numpy()
    head = np.argsort(-np.bincount(item[day < first], minlength=len(shop_data.items)), kind="stable")[:100]
    return float(np.isin(item[(day >= first) & (day < end)], head).mean())


def check_popular_click_share(guess, shop_data) -> None:
    """Exercise 2.5 (predict): the share of valid-window clicks on the 100 most popular items (within 25%)."""
    if attempted(guess, "2.5"):
        expect(0.0 <= number(guess, "2.5") <= 1.0, "2.5",
               f"give a share between 0 and 1 (e.g. 0.3 for 30%), got {guess}.")
        check_prediction("2.5", guess, popular_click_share(shop_data),
                         "the share of valid-window clicks on the 100 most popular items")
