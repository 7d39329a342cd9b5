"""tools/compat.py: the constraints it installs are exactly pyproject's floors (the check itself runs in make test)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compat", ROOT / "tools" / "compat.py")
compat = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compat)


def _pins(lines):
    return {line.split("==")[0]: line.split("==")[1].split()[0] for line in lines}


def test_the_floors_are_pinned_exactly_and_tensorflow_is_left_out():
    pins = _pins(compat.constraints("floors"))
    project = compat._pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["scale"]
    for req in reqs:
        name = compat._name(req)
        floor = re.search(r">=\s*([0-9][^,;\s]*)", req).group(1)
        key = next(k for k in pins if compat._name(k) == name)
        assert pins[key] == floor, f"{name}: constraints say {pins[key]}, pyproject's floor is {floor}"
    assert not {"tensorflow", "keras"} & {compat._name(k) for k in pins}
    assert pins["pytest"] == compat.pins()["pytest"], "the test tools come at requirements.txt's pins"


def test_the_colab_set_stays_within_the_ranges():
    floors = _pins(compat.constraints("floors"))
    for name, version in _pins(compat.constraints("colab")).items():
        assert Version(version) >= Version(floors[name]), f"{name} {version} is below the floor {floors[name]}"


def test_the_tests_left_out_for_tensorflow_exist():
    for test in compat.TF_TESTS:
        module, _, name = test.partition("::")
        assert re.search(rf"^def {name}\(", (ROOT / "tests" / module).read_text(), re.M), f"{test} is gone"
