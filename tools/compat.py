"""The lowest versions pyproject.toml allows: install them in a second venv and run the course there.

Usage::

    python tools/compat.py                 # set up .venv-compat (when needed), run the checks
    python tools/compat.py --constraints   # only print the constraints generated from pyproject's floors
    python tools/compat.py --set colab     # a set like a current Colab runtime instead of the floors

pyproject's ranges are what Colab and pip users get (``pip install course_lib`` keeps Colab's own
packages when they are in range). So the floors must hold: this tool writes a constraints file
pinning every runtime dependency to its lower bound (``numpy>=2.0`` -> ``numpy==2.0``), creates
``.venv-compat`` (same Python as the caller), installs those versions WITHOUT TensorFlow (the
TensorFlow floor is checked by hand, see the README), plus the test tools at the pinned versions
of requirements.txt, with uv (pip-installed into the venv from PyPI: about a minute from empty
caches, where pip took 4.5 to 18), and runs there:

- the unit tests, except the modules that import Keras or TensorFlow (listed, not hidden);
- nbval over every notebook that needs no TensorFlow: no ``import keras``/``tensorflow``, no
  ``course_lib.features``/``models``, and every artifact it loads already built and current (the
  main ``make test`` builds them first; a stale one would need TensorFlow to rebuild).

The venv is reinstalled only when the constraints change (a stamp holds their hash). The
repository is put on the path with PYTHONPATH (course_lib is not installed there). ``make test``
runs this last (``COMPAT=0`` skips it outside CI); ``--set colab`` is run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-compat"
STAMP = VENV / ".compat-installed"
#: Test tools installed at requirements.txt's pins (they are not course_lib's dependencies).
TOOLS = ["pytest", "nbval", "ipykernel", "nbclient", "nbformat", "setuptools"]
#: Runtime dependencies left out of the check (the learning wing, checked by hand).
LEFT_OUT = {"tensorflow", "keras"}
#: The installer of .venv-compat, pinned like every other tool (pip-installed from PyPI into the venv).
UV = "0.13.9"
#: A set like a Google Colab runtime (Python 3.12 there; checked by hand 2026-11, see the README).
COLAB = {"numpy": "2.0.2", "pandas": "2.2.2", "pyarrow": "18.1.0", "matplotlib": "3.10.0",
         "scikit-learn": "1.6.1", "scipy": "1.14.1", "ipywidgets": "7.7.1", "tqdm": "4.67.1",
         "psutil": "5.9.5"}  # fmt: skip
#: Test modules that check the repository's files (versions play no part) or need the site/Jupyter stack.
REPOSITORY_TESTS = {"test_notebooks_stored.py", "test_editions.py", "test_prose.py", "test_export.py",
                    "test_launch.py", "test_site.py", "test_browser.py", "test_compat.py"}
#: Tests in the modules kept here that need TensorFlow all the same (imported inside a subprocess).
TF_TESTS = {"test_setup.py::test_setup_with_tensorflow_seeds_keras_weights_and_reports_gpu":
            "runs course_lib.setup(tensorflow=True) in a subprocess"}  # fmt: skip
TF_IMPORT = re.compile(
    r"^\s*(import (keras|tensorflow)\b|from (keras|tensorflow)\b|from course_lib(\.(encoders|multitask)\b| import [^\n]*\b(encoders|multitask)\b))",
    re.M,
)
ARTIFACT_LOAD = re.compile(r"\bartifacts\.load\w*\(")


def _pyproject() -> dict:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest brings tomli along
        import tomli as tomllib
    return tomllib.loads(text)


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def floors() -> dict[str, str]:
    """Each runtime dependency's lower bound (``>=`` or ``==``): ``project.dependencies`` and every
    optional extra but TensorFlow's. Keys keep their extras (``dask[dataframe]``)."""
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra, more in project.get("optional-dependencies", {}).items():
        if extra != "tf":
            reqs += more
    out = {}
    for req in reqs:
        name = _name(req)
        if name in LEFT_OUT:
            continue
        m = re.search(r"(?:>=|==|~=)\s*([0-9][^,;\s]*)", req)
        if not m:
            raise SystemExit(f"error: pyproject.toml: {req!r} has no lower bound; give every dependency a floor")
        extras = re.match(r"^[A-Za-z0-9_.-]+\s*(\[[^\]]*\])?", req).group(1) or ""
        out[name + extras] = m.group(1)
    return out


def pins() -> dict[str, str]:
    """requirements.txt's pins that apply to this Python (environment markers evaluated simply)."""
    out = {}
    major_minor = sys.version_info[:2]
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        spec, _, marker = line.partition(";")
        m = re.search(r'python_version\s*([<>=!]=?)\s*"(\d+)\.(\d+)"', marker)
        if m:
            op, version = m.group(1), (int(m.group(2)), int(m.group(3)))
            if not {"<": major_minor < version, "<=": major_minor <= version, ">": major_minor > version,
                    ">=": major_minor >= version, "==": major_minor == version}.get(op, True):  # fmt: skip
                continue
        name, version = spec.split("==")
        out[_name(name)] = version.strip()
    return out


def constraints(which: str = "floors") -> list[str]:
    base = floors()
    tools = pins()
    notes = {}
    if which == "colab":
        from packaging.version import Version

        for name, floor in base.items():
            have = COLAB.get(_name(name))
            if have is None:
                continue
            if Version(have) >= Version(floor):
                base[name] = have
            else:  # installing course_lib on Colab upgrades it: to the newest release, like requirements.txt's pin
                base[name] = tools.get(_name(name), floor)
                notes[name] = f"  # Colab's {have} is below the floor {floor}: pip upgrades it"
    lines = [f"{name}=={version}{notes.get(name, '')}" for name, version in sorted(base.items())]
    names = {_name(n) for n in base}
    lines += [f"{name}=={tools[name]}" for name in TOOLS if name in tools and name not in names]
    return lines


def setup_venv(lines: list[str], which: str = "floors") -> None:
    py = VENV / "bin" / "python"
    digest = hashlib.sha256(("\n".join(lines) + sys.version).encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        print(f"{VENV.name} up to date (it is reinstalled only when pyproject's floors or the test tools' pins change)")
        return
    start = time.perf_counter()
    if VENV.exists():
        shutil.rmtree(VENV)  # afresh: nothing left over from another set of versions
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    req = VENV / "constraints.txt"
    req.write_text("\n".join(lines) + "\n")
    what = "the lowest allowed versions" if which == "floors" else f"the {which} set"
    print(f"installing {what} into {VENV.name}:\n  " + "\n  ".join(lines), flush=True)
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # uv (from PyPI, into the venv itself) resolves, downloads and installs these ~140 wheels in about a
    # minute from empty caches, venv included (10 s of CPU); pip took 4.5 minutes (110 s of CPU) to 18 for the
    # same set. Without uv (no wheel for this platform, an index that only pip's configuration knows), pip
    # installs the very same versions, only slower.
    uv = VENV / "bin" / "uv"
    if subprocess.run([*pip, f"uv=={UV}"]).returncode == 0 and uv.exists():
        cmd = [str(uv), "pip", "install", "--quiet", "--python", str(py), "--only-binary", ":all:", "-r", str(req)]
        if subprocess.run(cmd).returncode != 0:
            print("uv could not install them: trying pip (slower)", flush=True)
            subprocess.run([*pip, "--only-binary=:all:", "-r", str(req)], check=True)
    else:
        print(f"uv=={UV} could not be installed: pip installs the versions instead (slower)", flush=True)
        subprocess.run([*pip, "--only-binary=:all:", "-r", str(req)], check=True)
    STAMP.write_text(digest)
    print(f"installed in {time.perf_counter() - start:.0f} s", flush=True)


def tf_free_notebooks() -> tuple[list[Path], dict[str, str]]:
    """Notebooks that run without TensorFlow, and why each other one is left out.

    A notebook that reads artifacts (``artifacts.load...``) is left out too when an artifact made
    by a TensorFlow notebook is missing or stale: rebuilding it would need TensorFlow.
    """
    py = VENV / "bin" / "python"
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    code = {}
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code[path.name] = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    needs_tf = {name for name, text in code.items() if TF_IMPORT.search(text)}
    check = (
        "import json\nfrom course_lib import artifacts, data\nd = data.load_shop()\n"
        f"tf = {sorted(needs_tf)!r}\n"
        "print(json.dumps({n: artifacts._stale_reason(n, d) for n, nb in artifacts.PRODUCERS.items() if nb in tf}))"
    )
    proc = subprocess.run([str(py), "-c", check], capture_output=True, text=True, env=_env(), cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"error: checking the artifacts failed:\n{proc.stderr[-3000:]}")
    stale = {n: why for n, why in json.loads(proc.stdout.strip().splitlines()[-1]).items() if why}
    keep, left = [], {}
    for path in paths:
        if path.name in needs_tf:
            left[path.name] = "imports Keras/TensorFlow"
        elif stale and ARTIFACT_LOAD.search(code[path.name]):
            why = "; ".join(f"{n}: {w}" for n, w in stale.items())
            left[path.name] = f"reads artifacts that only TensorFlow can rebuild ({why}): run make test first"
        else:
            keep.append(path)
    return keep, left


def tf_free_tests() -> tuple[list[Path], dict[str, str], list[str]]:
    """The unit tests to run here, why each other test module or test is left out, and pytest's
    ``--deselect`` arguments for the tests of kept modules that need TensorFlow (TF_TESTS)."""
    keep, left, deselect = [], {}, []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name in REPOSITORY_TESTS:
            left[path.name] = "reads the repository's files or needs the Jupyter/site stack: the main run checks it"
        elif TF_IMPORT.search(text):
            left[path.name] = "imports Keras/TensorFlow at module level"
        else:
            keep.append(path)
            for test, why in TF_TESTS.items():
                module, _, name = test.partition("::")
                if module == path.name and re.search(rf"^def {name}\(", text, re.M):
                    left[test] = why
                    deselect += ["--deselect", f"tests/{test}"]
    return keep, left, deselect


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(VENV / "bin"), env.get("PATH", "")])
    env.update(PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="module://matplotlib_inline.backend_inline")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["floors", "colab"], default="floors", help="which versions (default floors)")
    parser.add_argument("--constraints", action="store_true", help="print the constraints and stop")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    args = parser.parse_args(argv)
    lines = constraints(args.set)
    if args.constraints:
        print("\n".join(lines))
        return 0
    start = time.perf_counter()
    setup_venv(lines, args.set)
    py = str(VENV / "bin" / "python")
    versions = subprocess.run(
        [py, "-c", "import sys, importlib.metadata as m; print('Python', sys.version.split()[0]);"
         f"[print(n, m.version(n)) for n in {sorted({_name(n) for n in floors()})!r}]"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    print("compat: running with\n  " + versions.strip().replace("\n", "\n  "), flush=True)
    tests, tests_left, deselect = tf_free_tests()
    nbs, nbs_left = tf_free_notebooks()
    for name, why in tests_left.items():
        print(f"  left out: tests/{name} ({why})")
    for name, why in nbs_left.items():
        print(f"  left out: notebooks/{name} ({why})")
    stale = [name for name, why in nbs_left.items() if "only TensorFlow can rebuild" in why]
    if stale and os.environ.get("CI", "").lower() == "true":
        print(f"error: CI=true and {len(stale)} notebook(s) left out for stale artifacts: the main run of make test "
              "should have built them", file=sys.stderr)
        return 1
    cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
           *deselect, *map(str, tests), *map(str, nbs), *args.pytest_args]  # fmt: skip
    # The notebooks run on a copy of artifacts/: what they rebuild at these versions (03a's baselines, 05's and
    # 06's weights) must not replace the main environment's artifacts.
    with tempfile.TemporaryDirectory(prefix="compat-artifacts-") as tmp:
        if (ROOT / "artifacts").is_dir():
            shutil.copytree(ROOT / "artifacts", Path(tmp) / "artifacts")
        rc = subprocess.run(cmd, env={**_env(), "COURSE_ARTIFACTS": str(Path(tmp) / "artifacts")}, cwd=ROOT).returncode
    print(f"compat ({args.set}): exit {rc} in {time.perf_counter() - start:.0f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
