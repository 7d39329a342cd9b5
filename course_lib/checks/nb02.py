"""Self-checks of the exercises in notebooks/02_encoders.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import attempted, expect, expect_close, passed


def _nb02_masked_mean_reference(x, mask):
    m = np.asarray(mask, dtype=float)[..., None]
    return (np.asarray(x, dtype=float) * m).sum(1) / np.maximum(m.sum(1), 1.0)


def check_masked_mean(masked_mean) -> None:
    """Exercise 2.1: ``masked_mean(x, mask)`` for x (batch, T, d) and mask (batch, T) bool -> (batch, d)."""
    rng = np.random.default_rng(21)
    x = rng.normal(size=(4, 5, 3))
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=bool)
    answer = masked_mean(x, mask)
    if not attempted(answer, "2.1"):
        return
    answer = np.asarray(answer, dtype=float)
    expect(answer.shape == (4, 3), "2.1", f"the result should have shape (batch, d) = (4, 3), got {answer.shape}.")
    expect(np.isfinite(answer).all(), "2.1", "a user with no event (an all-False mask row) must give zeros, not NaN: "
           "divide by max(count, 1).")
    expect(not np.allclose(answer[0], x[0].mean(0)), "2.1", "row 0 has two padded steps: average only the steps "
           "where mask is True.")
    expect_close(answer, _nb02_masked_mean_reference(x, mask), "2.1", "masked_mean(x, mask)")
    passed("2.1", "Padded steps are ignored and an empty history gives zeros.")


def check_recall_ndcg(answer, ranked, relevant, k: int) -> None:
    """Exercise 2.2: ``answer = (recall, ndcg)`` at ``k`` of one ranked list against a set of relevant items."""
    if not attempted(answer, "2.2"):
        return
    expect(len(answer) == 2, "2.2", "return a pair (recall, ndcg).")
    top = list(ranked)[:k]
    hits = np.array([item in set(relevant) for item in top], dtype=float)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    recall = hits.sum() / len(set(relevant))
    ndcg = (hits * discount[: len(top)]).sum() / discount[: min(len(set(relevant)), k)].sum()
    expect(not np.isclose(answer[0], hits.sum() / k), "2.2", "that is precision@K (hits / K); recall divides the "
           "hits by the number of relevant items.")
    expect_close(answer[0], recall, "2.2", "recall", rtol=1e-4)
    expect_close(answer[1], ndcg, "2.2", "NDCG (gain 1 / log2(rank + 2) for rank 0, 1, ...; ideal DCG puts all "
                 "relevant items first, at most K of them)", rtol=1e-4)
    passed("2.2", f"Recall@{k} = {recall:.3f}, NDCG@{k} = {ndcg:.3f}.")


def check_nearest(nearest, vectors) -> None:
    """Exercise 2.3: ``nearest(vectors, i, k)`` -> the k items most cosine-similar to item i, best first, without i."""
    vectors = np.asarray(vectors, dtype=float)
    answer = nearest(vectors, 0, 5)
    if not attempted(answer, "2.3"):
        return
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for i in [0, 7, len(vectors) - 1]:
        got = np.asarray(nearest(vectors, i, 5)).ravel()
        sims = unit @ unit[i]
        sims[i] = -np.inf
        best = np.argsort(-sims, kind="stable")[:5]
        expect(len(got) == 5, "2.3", f"nearest(vectors, {i}, 5) should return 5 item ids, got {len(got)}.")
        expect(i not in got, "2.3", f"item {i} is its own nearest neighbour: leave it out.")
        expect_close(sims[got], sims[best], "2.3", f"the cosine similarities of item {i}'s neighbours", rtol=1e-5)
    passed("2.3", "Nearest neighbours by cosine similarity, best first.")
