"""course_lib's generated modules are exactly what the notebooks export (``make lib``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_course_lib_matches_the_notebooks():
    done = subprocess.run([sys.executable, "tools/export.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"course_lib and the notebooks disagree:\n{done.stdout}{done.stderr}"


def test_export_marker_and_rendering(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import export
    finally:
        sys.path.pop(0)
    cells = [("02_x.ipynb", "Pooling", ["import numpy as np", "from course_lib import data", "", "def f(x):",
                                       "    return np.mean(x)"]),
             ("03_y.ipynb", "Gates", ["import numpy as np", "def g(x):", "    return f(x) * 2"])]
    text = export.render("demo", cells)
    assert text.startswith(export.GENERATED)
    assert text.count("import numpy as np") == 1
    assert "# ---- 02_x: Pooling" in text and "# ---- 03_y: Gates" in text
    namespace: dict = {}
    exec(compile(text, "demo.py", "exec"), namespace)  # noqa: S102 - our own generated text
    assert namespace["g"]([1.0, 3.0]) == 4.0
    assert export.MARKER.match("#@save encoders").group(1) == "encoders"
    assert export.MARKER.match("#@save Encoders") is None
