"""course_lib.setup: seeds really repeat the draws, and TensorFlow stays out unless asked."""

# ruff: noqa: NPY002  (these tests draw from the global generators that setup() seeds)

from __future__ import annotations

import os
import random
import subprocess
import sys

import matplotlib as mpl
import numpy as np

import course_lib
from course_lib.setup import PLOT_STYLE


def _draws():
    return random.random(), np.random.rand(4), np.random.permutation(10)


def test_same_seed_repeats_python_and_numpy_draws():
    course_lib.setup(seed=7, verbose=False)
    first = _draws()
    course_lib.setup(seed=7, verbose=False)
    second = _draws()
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[2], second[2])


def test_another_seed_gives_other_draws():
    course_lib.setup(seed=7, verbose=False)
    a = np.random.rand(4)
    course_lib.setup(seed=8, verbose=False)
    b = np.random.rand(4)
    assert not np.allclose(a, b)


def test_setup_sets_the_plot_style_and_prints_versions_and_cores(capsys):
    course_lib.setup(seed=3)
    line = capsys.readouterr().out
    assert line.startswith("course_lib ready | seed 3 |")
    assert f"numpy {np.__version__}" in line
    assert f"{os.cpu_count()} CPU cores" in line
    assert "tensorflow" not in line
    for key, value in PLOT_STYLE.items():
        got = mpl.rcParams[key]
        assert (list(got) == list(value)) if isinstance(value, tuple) else got == value, key


def test_quiet_setup_prints_nothing(capsys):
    course_lib.setup(verbose=False)
    assert capsys.readouterr().out == ""


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_setup_does_not_import_tensorflow_unless_asked():
    out = _run(
        "import sys, course_lib\n"
        "course_lib.setup(verbose=False)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    assert out.strip() == "[]"


def test_setup_with_tensorflow_seeds_keras_weights_and_reports_gpu():
    out = _run(
        "import course_lib, keras, numpy as np\n"
        "def weights():\n"
        "    layer = keras.layers.Dense(4)\n"
        "    layer.build((None, 3))\n"
        "    return np.asarray(layer.kernel)\n"
        "course_lib.setup(seed=11, tensorflow=True)\n"
        "a = weights()\n"
        "course_lib.setup(seed=11, tensorflow=True, verbose=False)\n"
        "b = weights()\n"
        "course_lib.setup(seed=12, tensorflow=True, verbose=False)\n"
        "c = weights()\n"
        "print('same', bool(np.array_equal(a, b)), 'other', bool(np.array_equal(a, c)))\n"
    )
    assert "keras 3." in out and "GPU: " in out, out
    assert "same True other False" in out, out
