"""Editions of the course: learner notebooks, and the instructor guide.

Usage::

    python tools/editions.py student       # editions/student/*.ipynb: solutions and answers removed
    python tools/editions.py instructor    # docs/instructor_guide.md, from the notebooks + docs/instructor_notes.md
    python tools/editions.py instructor --check   # exit 1 if the committed guide is out of date

**Student edition.** The committed notebooks minus every solution (markdown cells holding a
``<details>`` block whose summary starts with "Solution") and every cell tagged ``answers``;
exercise cells (tag ``exercise``) keep their stub and lose their output.

**Instructor guide.** A one-day schedule computed from the notebooks' headers (teaching and
exercise minutes) with breaks, so the times add up; then, per notebook: objectives, time, the
teaching notes and short-of-time cuts from ``docs/instructor_notes.md``, the exercises by kind,
the mistakes each exercise's check diagnoses (read from ``course_lib/checks``), and the
questionnaire with its answers (from the notes).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTES = ROOT / "docs" / "instructor_notes.md"
GUIDE = ROOT / "docs" / "instructor_guide.md"
STUDENT = ROOT / "editions" / "student"

TIME = re.compile(r"\*\*Time\*\*:\s*(\d+) minutes of teaching, (\d+) minutes of exercises")
EXERCISE = re.compile(r"^#{2,4} +Exercise (\d+[a-z]?\.\d+)\s*\(([a-z]+)\)[: ]*(.*)$", re.MULTILINE)
SOLUTION = re.compile(r"<details>\s*<summary>\s*(?:<b>)?\s*Solution", re.IGNORECASE)
CHECK_CALL = re.compile(r"\bchecks\.([a-z_0-9]+)\(")
KINDS = ("build", "predict", "read", "decide")
#: Notebooks the one-day schedule covers; the others are extensions (a second day, or self-study).
#: 03a is one of them: 03b reads its baseline scores (and runs it if they are missing).
DAY_ONE = ("00", "01", "02", "03b", "03c", "04", "05", "06", "07")


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))


def number(path: Path) -> str:
    return path.name.split("_", 1)[0]


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    return "".join(cell.get("source", []))


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def is_solution(cell: dict) -> bool:
    return cell["cell_type"] == "markdown" and bool(SOLUTION.search(text(cell)))


# ---- student edition --------------------------------------------------------


def student_edition(nb: dict) -> dict:
    """A copy of ``nb`` without solutions and answers; exercise cells keep their stub, not its output."""
    out = copy.deepcopy(nb)
    out["cells"] = [c for c in out["cells"] if not is_solution(c) and "answers" not in tags(c)]
    for cell in out["cells"]:
        if cell["cell_type"] == "code" and "exercise" in tags(cell):
            cell["outputs"], cell["execution_count"] = [], None
    return out


def write_student(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks():
        target = folder / path.name
        target.write_text(json.dumps(student_edition(read(path)), indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    return written


# ---- instructor guide -------------------------------------------------------


def header(nb: dict) -> dict:
    """Title, objectives and minutes from a notebook's first cell."""
    first = text(nb["cells"][0])
    title = first.splitlines()[0].lstrip("# ").strip()
    match = TIME.search(first)
    teach, exercises = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    learn = first.split("**You will learn**", 1)[-1].split("**Prerequisites**", 1)[0]
    objectives = [line[2:].strip() for line in learn.splitlines() if line.startswith("- ")]
    return {"title": title, "teach": teach, "exercises": exercises, "objectives": objectives}


def exercises(nb: dict) -> list[dict]:
    """Each exercise: number, kind, title, and the check functions its exercise cell calls."""
    found, current = [], None
    for cell in nb["cells"]:
        src = text(cell)
        if cell["cell_type"] == "markdown":
            for num, kind, title in EXERCISE.findall(src):
                current = {"number": num, "kind": kind, "title": title.strip(), "checks": []}
                found.append(current)
        elif current is not None and "exercise" in tags(cell):
            current["checks"] += [c for c in CHECK_CALL.findall(src) if c not in current["checks"]]
    return found


def check_hints(module: Path) -> dict[str, list[str]]:
    """{check function: the hint strings of its ``expect(...)`` calls and options}, read from the source."""
    if not module.exists():
        return {}
    tree = ast.parse(module.read_text(encoding="utf-8"))
    hints: dict[str, list[str]] = {}
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        found = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "expect" and len(node.args) >= 3:
                hint = node.args[2]
                if isinstance(hint, ast.Constant) and isinstance(hint.value, str):
                    found.append(hint.value)
                elif isinstance(hint, ast.JoinedStr):
                    found.append("".join(v.value if isinstance(v, ast.Constant) else "…" for v in hint.values))
        hints[fn.name] = found
    return hints


def questionnaire(nb: dict) -> list[str]:
    """The numbered questions under a heading that contains "Questionnaire"."""
    for i, cell in enumerate(nb["cells"]):
        src = text(cell)
        if cell["cell_type"] == "markdown" and re.search(r"^#+ .*Questionnaire", src, re.MULTILINE | re.IGNORECASE):
            body = src.split("Questionnaire", 1)[1]
            if not re.search(r"^\d+\. ", body, re.MULTILINE) and i + 1 < len(nb["cells"]):
                body = text(nb["cells"][i + 1])
            return [re.sub(r"^\d+\.\s*", "", q).strip() for q in re.findall(r"^\d+\. .+$", body, re.MULTILINE)]
    return []


def notes_by_notebook() -> dict[str, str]:
    """Sections of docs/instructor_notes.md, keyed by the notebook number of their '## NN' heading."""
    if not NOTES.exists():
        return {}
    parts = re.split(r"^## +(\d\d[a-z]?)\b.*$", NOTES.read_text(encoding="utf-8"), flags=re.MULTILINE)
    notes = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}
    notes["intro"] = re.sub(r"^# .*$", "", parts[0], flags=re.MULTILINE).strip()  # the text before the first '## NN'
    return notes


def clock(minutes: int) -> str:
    return f"{9 + minutes // 60:02d}:{minutes % 60:02d}"


def schedule(rows: list[tuple[str, str, int]]) -> tuple[list[str], int]:
    """The day from 09:00: sessions in order, a break before two hours pass without one, lunch after ~3 hours."""
    lines = ["| start | end | session | minutes |", "|---|---|---|---:|"]
    t, since_break, lunch_done, total = 0, 0, False, 0
    for num, title, minutes in rows:
        if since_break >= 90 or since_break + minutes > 120 or (not lunch_done and t >= 170):
            pause = 60 if (not lunch_done and t >= 170) else 15
            lunch_done = lunch_done or pause == 60
            lines.append(f"| {clock(t)} | {clock(t + pause)} | {'lunch' if pause == 60 else 'break'} | {pause} |")
            t, since_break = t + pause, 0
        lines.append(f"| {clock(t)} | {clock(t + minutes)} | {num} · {title} | {minutes} |")
        t, since_break, total = t + minutes, since_break + minutes, total + minutes
    lines.append(f"| {clock(0)} | {clock(t)} | **the day** ({total} min of sessions, {t - total} min of breaks) | {t} |")
    return lines, t


def guide() -> str:
    notes = notes_by_notebook()
    books = [(p, read(p)) for p in notebooks()]
    heads = {number(p): header(nb) for p, nb in books}
    rows = [(n, h["title"].split("·", 1)[-1].strip(), h["teach"] + h["exercises"]) for n, h in heads.items()
            if n in DAY_ONE]
    sched, _ = schedule(rows)
    extra = [f"- {n} · {h['title'].split('·', 1)[-1].strip()}: {h['teach'] + h['exercises']} minutes"
             for n, h in heads.items() if n not in DAY_ONE]
    out = ["<!-- Generated by `make instructor` (tools/editions.py) from the notebooks and "
           "docs/instructor_notes.md: edit those, not this file. -->", "", "# Instructor guide", "",
           notes.get("intro", ""), "", "## A one-day schedule", "",
           "Session times are the notebooks' own (teaching + exercises, as in their headers and the README).", "",
           *sched, "", "Beyond the day (a second day, or self-study):", "", *extra, ""]
    hints_cache: dict[str, dict[str, list[str]]] = {}
    for path, nb in books:
        num, h = number(path), heads[number(path)]
        out += [f"## {h['title']}", "", f"*{h['teach']} minutes of teaching, {h['exercises']} of exercises.* "
                f"Notebook: `notebooks/{path.name}`.", "", "**Objectives**", ""]
        out += [f"- {o}" for o in h["objectives"]] + [""]
        out += [notes.get(num, "*(No teaching notes yet.)*"), ""]
        exs = exercises(nb)
        if exs:
            counts = ", ".join(f"{sum(e['kind'] == k for e in exs)} {k}" for k in KINDS)
            out += [f"**Exercises** ({counts})", ""]
            module = ROOT / "course_lib" / "checks" / f"nb{num}.py"
            hints = hints_cache.setdefault(num, check_hints(module))
            for e in exs:
                out.append(f"- **{e['number']} ({e['kind']})** {e['title']}")
                for check in e["checks"]:
                    for hint in hints.get(check, []):
                        out.append(f"  - mistake diagnosed: {hint}")
            out.append("")
        questions = questionnaire(nb)
        if questions:
            out += [f"**Questionnaire** ({len(questions)} questions; answers under *Answers* in the notes above)", ""]
            out += [f"{i}. {q}" for i, q in enumerate(questions, 1)] + [""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("edition", choices=["student", "instructor"])
    parser.add_argument("--check", action="store_true", help="instructor: fail if docs/instructor_guide.md is stale")
    args = parser.parse_args(argv)
    if args.edition == "student":
        written = write_student(STUDENT)
        print(f"wrote {len(written)} learner notebooks to {STUDENT.relative_to(ROOT)}/")
        return 0
    text_ = guide()
    if args.check:
        if not GUIDE.exists() or GUIDE.read_text(encoding="utf-8") != text_:
            print("docs/instructor_guide.md is out of date: run `make instructor`")
            return 1
        return 0
    GUIDE.parent.mkdir(parents=True, exist_ok=True)
    GUIDE.write_text(text_, encoding="utf-8")
    print(f"wrote {GUIDE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
