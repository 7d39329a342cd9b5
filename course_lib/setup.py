"""The one call every notebook's setup cell makes."""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterator

import numpy as np

SEED = 42

#: Plot style for every figure of the course (readable at notebook width).
PLOT_STYLE = {
    "figure.figsize": (7.0, 4.0), "figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "axes.titleweight": "bold",
}


def _tensorflow_environment() -> None:
    """Before any TensorFlow import: fewer log lines, no oneDNN reordering of float sums (results repeat
    exactly), and Keras 3 on the TensorFlow backend."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _seed_everything(seed: int, tensorflow: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator and, when asked, Keras/TensorFlow."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the global generator is what unseeded code draws from)
    if tensorflow:
        import keras

        keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend (TensorFlow)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what C++ code writes straight to file descriptor 2 (TensorFlow's start-up lines, logged
    through absl before TF_CPP_MIN_LOG_LEVEL is read). Python exceptions still raise."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable descriptor 2 (some embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tensorflow_info() -> dict[str, object]:
    """Import TensorFlow and Keras 3 quietly; return their versions and the GPUs TensorFlow sees.

    Returns ``{"tensorflow": version, "keras": version, "backend": name, "gpus": [device names]}``.
    Raises whatever the import raises (ImportError when TensorFlow is missing).
    """
    _tensorflow_environment()
    with _quiet_native_stderr():
        import keras
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    tf.get_logger().setLevel("ERROR")
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "backend": keras.backend.backend(),
            "gpus": [g.name for g in gpus]}


def setup(seed: int = SEED, tensorflow: bool = False, verbose: bool = True) -> None:
    """Seed Python, NumPy (and Keras when ``tensorflow``), set the plot style, quiet TF logs.

    seed: the seed for every random generator the course uses.
    tensorflow: also import TensorFlow and Keras 3, seed them and report whether a GPU is present (off
        by default: the import takes seconds and the deciding notebooks never need it).
    verbose: print one line with the versions that matter and the CPU count.
    """
    _tensorflow_environment()
    _seed_everything(seed)

    import matplotlib as mpl
    import pandas as pd

    mpl.rcParams.update(PLOT_STYLE)
    pd.set_option("display.precision", 4)
    pd.set_option("display.max_columns", 20)
    info = [f"python {sys.version.split()[0]}", f"numpy {np.__version__}", f"pandas {pd.__version__}",
            f"{os.cpu_count()} CPU cores"]
    if tensorflow:
        tf_info = tensorflow_info()
        _seed_everything(seed, tensorflow=True)
        info += [f"tensorflow {tf_info['tensorflow']}", f"keras {tf_info['keras']}",
                 f"GPU: {'yes' if tf_info['gpus'] else 'no'}"]
    if verbose:
        print("course_lib ready | seed", seed, "|", " | ".join(info))


def release_memory() -> None:
    """Collect garbage and hand the freed memory back to the system (glibc keeps it otherwise), so the
    next step's peak starts lower. Elsewhere than Linux with glibc, only the garbage collector runs."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
