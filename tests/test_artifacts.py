"""The artifact cache: every kind of part round-trips, and a changed input makes an artifact stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from make_shop import generate

from course_lib import artifacts


@pytest.fixture(scope="module")
def tiny():
    return generate(n_users=300, n_items=200, n_days=10, seed=5)


def test_parts_round_trip(tmp_path, tiny):
    weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1.5], dtype=np.float64)]
    table = pd.DataFrame({"user_id": [1, 2], "score": [0.5, 0.25]})
    artifacts.save("multitask_model", tiny, root=tmp_path, choice={"best": "esmm"}, weights=weights, runs=table)
    assert artifacts._stale_reason("multitask_model", tiny, root=tmp_path) is None
    assert artifacts.load("multitask_model", "choice", tiny, root=tmp_path) == {"best": "esmm"}
    pd.testing.assert_frame_equal(artifacts.load("multitask_model", "runs", tiny, root=tmp_path), table)
    loaded = artifacts.load("multitask_model", "weights", tiny, root=tmp_path)
    assert len(loaded) == 2
    for got, want in zip(loaded, weights, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    with pytest.raises(KeyError, match="no part 'missing'"):
        artifacts.load("multitask_model", "missing", tiny, root=tmp_path)


def test_unknown_names_and_types_are_refused(tmp_path, tiny):
    with pytest.raises(ValueError, match="unknown artifact"):
        artifacts.save("nonsense", tiny, root=tmp_path, x={})
    with pytest.raises(TypeError, match="part 'x'"):
        artifacts.save("predictions", tiny, root=tmp_path, x=np.zeros(3))


def test_a_changed_input_makes_it_stale(tmp_path, tiny):
    artifacts.save("candidates", tiny, root=tmp_path, valid=pd.DataFrame({"a": [1]}))
    artifacts.save("predictions", tiny, depends_on=("candidates",), root=tmp_path, valid=pd.DataFrame({"b": [1]}))
    assert artifacts._stale_reason("predictions", tiny, root=tmp_path) is None
    artifacts.save("candidates", tiny, root=tmp_path, valid=pd.DataFrame({"a": [2]}), note={"changed": True})
    assert artifacts._stale_reason("predictions", tiny, root=tmp_path) == "an input artifact was rebuilt"
