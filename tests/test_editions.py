"""Exercises, solutions, times and the editions agree with the course's conventions (CONTRIBUTING.md).

These tests read the committed files only; they run no notebook.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, load_tool

editions = load_tool("editions")
PATHS = editions.notebooks()
#: Lesson notebooks: each needs exercises that make learners think, not only build.
LESSONS = [p for p in PATHS if editions.number(p) not in ("00",)]


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_header_states_teaching_and_exercise_minutes(path):
    first = editions.text(editions.read(path)["cells"][0])
    assert editions.TIME.search(first), (
        f"{path.name}: the header needs '**Time**: N minutes of teaching, M minutes of exercises.'"
    )


def test_readme_times_match_the_notebook_headers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in PATHS:
        head = editions.header(editions.read(path))
        row = re.search(rf"^\| {re.escape(editions.number(path))} \|.*\]\(notebooks/{re.escape(path.name)}\).*$",
                        readme, re.MULTILINE)
        assert row, f"README.md's syllabus has no row for {path.name}"
        minutes = re.search(r"\| (\d+) min \|", row.group(0))
        assert minutes, f"README.md: the row of {path.name} gives no 'NN min' time"
        assert int(minutes.group(1)) == head["teach"] + head["exercises"], (
            f"README.md says {minutes.group(1)} min for {path.name}; its header says "
            f"{head['teach']} + {head['exercises']} = {head['teach'] + head['exercises']} min"
        )


def test_schedule_adds_up():
    rows = [("01", "a", 45), ("02", "b", 60), ("03", "c", 60), ("04", "d", 50)]
    lines, end = editions.schedule(rows)
    assert end == 45 + 60 + 60 + 50 + 15 + 60, lines  # one coffee break and lunch
    assert lines[-1].startswith("| 09:00 |")


def test_instructor_guide_is_up_to_date():
    assert editions.main(["instructor", "--check"]) == 0, "run `make instructor` and commit docs/instructor_guide.md"


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lessons_ask_as_well_as_tell(path):
    exs = editions.exercises(editions.read(path))
    kinds = [e["kind"] for e in exs]
    assert set(kinds) <= set(editions.KINDS), f"{path.name}: unknown exercise kinds {set(kinds) - set(editions.KINDS)}"
    thinking = [k for k in kinds if k in ("predict", "read", "decide")]
    assert len(thinking) >= 2, (
        f"{path.name}: needs at least two predict / read / decide exercises, has {kinds}"
    )


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_every_exercise_has_a_checked_cell_and_a_hidden_solution(path):
    nb = editions.read(path)
    exs = editions.exercises(nb)
    solutions = sum(editions.is_solution(c) for c in nb["cells"])
    assert solutions >= len(exs), f"{path.name}: {len(exs)} exercises but {solutions} <details> solutions"
    for e in exs:
        assert e["checks"], f"{path.name}: exercise {e['number']} has no cell tagged 'exercise' calling a check"


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_no_stored_output_reveals_an_answer(path):
    nb = editions.read(path)
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and "solution" in editions.tags(cell):
            pytest.fail(f"{path.name}: cell {i} is a solution as a code cell; put it in a <details> markdown cell")
        if cell["cell_type"] != "code" or "exercise" not in editions.tags(cell):
            continue
        shown = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                        for o in cell.get("outputs", []))
        assert "✅" not in shown, f"{path.name}: exercise cell {i} stores a solved output: {shown[:120]!r}"


def test_student_edition_has_no_solutions(tmp_path):
    written = editions.write_student(tmp_path)
    assert len(written) == len(PATHS)
    for path in written:
        nb = editions.read(path)
        assert not any(editions.is_solution(c) for c in nb["cells"]), f"{path.name} still holds a solution"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and "exercise" in editions.tags(cell):
                assert cell["outputs"] == [], f"{path.name}: an exercise cell keeps its output"
