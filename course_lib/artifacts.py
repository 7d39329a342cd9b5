"""Saved artifacts: where the rebuilt candidates and predictions live, and whether they are current.

Notebooks 02 and 03 train models and write their outputs into ``data.ARTIFACTS``
(git-ignored): each user's candidates (02) and the multi-task model's
predictions for them (03), each with a small JSON *sidecar* that says which
dataset and which recipe made them. This module reads those files **without
importing TensorFlow**, so the deciding notebooks (04 to 07) stay light. Only
when a file is missing or stale does it hand over to ``features`` or
``models``, which import Keras and rebuild (with a printed message).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from course_lib import data as _data
from course_lib.shop import ShopData

#: Bump a recipe version whenever the code that makes an artifact changes what it writes.
CANDIDATES_RECIPE_VERSION = "02.2"
PREDICTIONS_RECIPE_VERSION = "03.2"
WINDOWS = ("valid", "test")
CANDIDATES_SIDECAR = "candidates.json"
PREDICTIONS_SIDECAR = "predictions.json"


def dataset_checksum(data: ShopData) -> str:
    """A SHA-256 fingerprint of a shop's tables (params, items, users, impressions' ids and labels)."""
    h = hashlib.sha256(json.dumps(data.params, sort_keys=True, default=str).encode())
    cols = {
        "items": ["item_id", "price", "launch_day"],
        "users": ["user_id", "signup_day"],
        "impressions": ["user_id", "item_id", "day", "clicked", "purchased"],
    }
    for name, c in cols.items():
        h.update(pd.util.hash_pandas_object(getattr(data, name)[c], index=False).to_numpy().tobytes())
    return h.hexdigest()


#: SHA-256 of a file's bytes, as hex.
file_checksum = _data.sha256_of


def check_window(window: str) -> None:
    """Raise a ValueError unless ``window`` is one with artifacts ("valid" or "test")."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")


def stale_reason(files: list[Path], sidecar: Path, expected: dict) -> str | None:
    """Why stored artifacts cannot be used (a short phrase), or None when they can.

    files: every file that must exist; sidecar: the JSON written beside them;
    expected: the sidecar entries that must match (dataset checksum, recipe...).
    """
    missing = [f.name for f in [*files, sidecar] if not f.exists()]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"unreadable {sidecar.name} ({err})"
    for key, value in expected.items():
        if meta.get(key) != value:
            return f"{key} changed (stored {meta.get(key)!r:.40}, current {value!r:.40})"
    return None


def candidates_stale_reason(data: ShopData, path: Path, window: str, checksum: str | None = None) -> str | None:
    """Why ``candidates_{window}.parquet`` in ``path`` is not current, or None."""
    expected = {
        "recipe_version": CANDIDATES_RECIPE_VERSION,
        "dataset_checksum": checksum or dataset_checksum(data),
    }
    return stale_reason([path / f"candidates_{window}.parquet"], path / CANDIDATES_SIDECAR, expected)


def predictions_expected(data: ShopData, path: Path, checksum: str | None = None) -> dict:
    """The sidecar entries that current predictions must carry."""
    return {
        "dataset_checksum": checksum or dataset_checksum(data),
        "candidates_checksum": {
            w: file_checksum(path / f"candidates_{w}.parquet") if (path / f"candidates_{w}.parquet").exists() else None
            for w in WINDOWS
        },
        "recipe_version": PREDICTIONS_RECIPE_VERSION,
    }


def predictions_stale_reason(data: ShopData, path: Path, window: str) -> str | None:
    """Why ``predictions_{window}.parquet`` in ``path`` is not current (candidates included), or None."""
    checksum = dataset_checksum(data)
    for w in WINDOWS:
        reason = candidates_stale_reason(data, path, w, checksum)
        if reason is not None:
            return f"candidates for {w!r}: {reason}"
    expected = predictions_expected(data, path, checksum)
    return stale_reason([path / f"predictions_{window}.parquet"], path / PREDICTIONS_SIDECAR, expected)


def load_candidates(window: str, data: ShopData | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Each user's 100 candidates for ``window``: read when current, else rebuilt by ``features``.

    Returns user_id, item_id, retrieval_rank, retrieval_score (see
    ``features.ensure_candidates``). Reading needs no TensorFlow.
    """
    check_window(window)
    data = _data.load_shop() if data is None else data
    path = Path(_data.ARTIFACTS if path is None else path)
    if candidates_stale_reason(data, path, window) is None:
        return pd.read_parquet(path / f"candidates_{window}.parquet")
    from course_lib import features  # imports Keras: only on the rebuild path

    return features.ensure_candidates(window, data=data, path=path)


def load_predictions(window: str, data: ShopData | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """The candidates of ``window`` with the multi-task model's predictions: read, or rebuilt by ``models``.

    Returns the candidate columns plus ``p_click`` and ``p_purchase`` (float32,
    at the top slot) and per-model columns (see ``models.ensure_predictions``).
    Reading needs no TensorFlow; a missing or stale file is rebuilt by training
    (about a minute, with a message).
    """
    check_window(window)
    data = _data.load_shop() if data is None else data
    path = Path(_data.ARTIFACTS if path is None else path)
    if predictions_stale_reason(data, path, window) is None:
        return pd.read_parquet(path / f"predictions_{window}.parquet")
    from course_lib import models  # imports Keras: only on the rebuild path

    return models.ensure_predictions(window, data=data, path=path)
