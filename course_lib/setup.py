"""The one call every notebook's setup cell makes."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

SEED = 42


def setup(seed: int = SEED, tensorflow: bool = False, verbose: bool = True) -> None:
    """Seed Python, NumPy (and Keras when ``tensorflow``), set the plot style, quiet TF logs.

    Prints the versions that matter and whether a GPU is present (GPU checks
    only when ``tensorflow`` is True, since importing TensorFlow takes seconds).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    random.seed(seed)
    np.random.seed(seed)
    import matplotlib as mpl
    import pandas as pd

    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 80,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
        }
    )
    pd.set_option("display.precision", 4)
    pd.set_option("display.max_columns", 20)
    versions = [f"python {sys.version.split()[0]}", f"numpy {np.__version__}", f"pandas {pd.__version__}"]
    if tensorflow:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.get_logger().setLevel("ERROR")
        gpus = tf.config.list_physical_devices("GPU")
        versions += [f"tensorflow {tf.__version__}", f"keras {keras.__version__}", f"GPU: {'yes' if gpus else 'no'}"]
    if verbose:
        print("course_lib ready | seed", seed, "|", " | ".join(versions))
