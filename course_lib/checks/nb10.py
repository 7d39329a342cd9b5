"""Self-checks of the exercises in notebooks/10_scaling_out.ipynb."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks import ExerciseError, attempted, check_prediction, choice, expect, fail, passed

OPTIONS = {
    "10.3": {
        "a": (False, "no: Dask does not compress a partition in memory; a pandas partition costs what pandas costs."),
        "b": (True, "each worker holds only the few partitions it is working on, and what the reductions send back "
                    "(counts per type, per segment, per item) is tiny, so the peak depends on the partition size and "
                    "the number of workers, not on the length of the log."),
        "c": (False, "no: spilling to disk only starts when a worker passes its memory target (60% of its limit); the "
                     "peak here stayed below it."),
        "d": (False, "no: the Parquet files are smaller than the frames, but each partition is decompressed into a "
                     "full pandas DataFrame before it is counted."),
    },
    "10.4": {
        "a": (False, "a 64 GB machine cannot hold 90 GB of pandas frames, and the groupby needs a multiple of that; it "
                     "would swap or be killed before the morning."),
        "b": (False, "a 1% sample of users gives good estimates of rates, but the finance team asked for exact daily "
                     "counts of every purchase: a sample cannot give those."),
        "c": (True, "the analysis is the same pandas code, the log already sits as Parquet in the object store, and a "
                    "cluster of 8 workers with 16 GB each holds a few partitions per worker at a time: the same "
                    "notebook, with Client pointed at the cluster, finishes within the hour."),
        "d": (False, "a rewrite in Spark could work too, but it costs weeks of porting and a second code base for the "
                     "same result; worth it only if the company already runs Spark and not Dask."),
    },
}
check_memory_reading = choice(OPTIONS, "10.3", "why the cluster's memory stays flat while the log grows.")
check_cluster_decision = choice(OPTIONS, "10.4", "how to run the daily analysis on 3 billion events.")


def _toy_events(seed: int = 10) -> pd.DataFrame:
    """A small event log in the canonical schema (enough columns for the checks)."""
    rng = np.random.default_rng(seed)
    types = ["view", "click", "cart", "purchase"]
    category = rng.choice(["books", "grocery", "toys"], size=4000)
    p = {"books": [0.8, 0.12, 0.05, 0.03], "grocery": [0.7, 0.14, 0.06, 0.10], "toys": [0.85, 0.1, 0.03, 0.02]}
    kind = np.array([rng.choice(types, p=p[c]) for c in category])
    return pd.DataFrame({"user_id": rng.integers(0, 300, size=4000).astype(np.int32),
                         "item_id": rng.integers(0, 50, size=4000).astype(np.int32),
                         "event_type": pd.Categorical(kind, categories=types), "category": pd.Categorical(category)})


def _as_series(answer) -> pd.Series:
    """A pandas Series indexed by category name from a learner's answer (computed first when it is lazy)."""
    answer = answer.compute() if hasattr(answer, "compute") else answer
    if isinstance(answer, pd.DataFrame) and answer.shape[1] == 1:
        answer = answer.iloc[:, 0]
    expect(isinstance(answer, pd.Series), "10.1",
           f"return a Series indexed by category (one rate per category), got {type(answer).__name__}.")
    return answer.astype(float).rename(index=str).sort_index()


def check_purchase_per_click(purchase_per_click) -> None:
    """Exercise 10.1: ``purchase_per_click(events)`` -> purchases / clicks per category, on pandas and on Dask."""
    import dask
    import dask.dataframe as dd

    events = _toy_events()
    answer = purchase_per_click(events)
    if not attempted(answer, "10.1"):
        return
    g = events.groupby(["category", "event_type"], observed=True).size().unstack("event_type")
    g = g.rename(index=str).sort_index()
    expected, got = g["purchase"] / g["click"], _as_series(answer)
    expect(list(got.index) == list(expected.index), "10.1",
           f"index the result by category ({list(expected.index)}), got {list(got.index)[:6]}.")
    for hint, wrong in {
        "That is clicks per view (the CTR): divide purchases by clicks.": g["click"] / g["view"],
        "That is purchases per view: divide purchases by clicks, not by views.": g["purchase"] / g["view"],
        "Those are purchase counts: divide them by the clicks of each category.": g["purchase"],
    }.items():
        if np.allclose(got, wrong):
            fail("10.1", hint)
    expect(np.allclose(got, expected), "10.1",
           f"on pandas your rates are {np.round(got.to_numpy(), 4)}, expected {np.round(expected.to_numpy(), 4)}.")
    try:
        with dask.config.set(scheduler="sync"):
            on_dask = _as_series(purchase_per_click(dd.from_pandas(events, npartitions=3)))
    except ExerciseError:
        raise
    except Exception as exc:  # the learner's code used something Dask does not have
        fail("10.1", f"it works on pandas but fails on a Dask DataFrame ({type(exc).__name__}: {str(exc)[:120]}). "
             "Use only what both have (boolean masks, value_counts, groupby(..., observed=True).size(), unstack "
             "after compute()); avoid .to_numpy(), .values and Python loops over rows.")
    expect(np.allclose(on_dask, expected), "10.1",
           "on pandas it is right, but on a Dask DataFrame of the same rows it differs: does your code depend on "
           "the row order or on one partition seeing all rows?")
    passed("10.1", "the same function gives the same rates on pandas and on 3 Dask partitions.")


def amdahl_speedup(parallel_fraction: float, workers: int) -> float:
    """Amdahl's law: the speed-up when ``parallel_fraction`` of the time runs on ``workers`` at once."""
    return 1.0 / ((1.0 - float(parallel_fraction)) + float(parallel_fraction) / workers)


def check_speedup_prediction(guess, parallel_fraction: float, workers: int = 2) -> None:
    """Exercise 10.2: the best speed-up Amdahl's law allows with ``workers`` workers (within 10%)."""
    check_prediction("10.2", guess, amdahl_speedup(parallel_fraction, workers),
                     f"the best speed-up with {workers} workers", rel_tol=0.10)
