"""Stamp the repository's address into every notebook header, README.md and CITATION.cff.

The address is written once, in pyproject.toml::

    [tool.course]
    repository = "https://github.com/OWNER/NAME"
    branch = "main"

Usage::

    python tools/sync_headers.py            # rewrite what is out of date
    python tools/sync_headers.py --check    # list what is out of date; exit 1 if anything is

In each notebook it rewrites the badges line of the first (markdown) cell, the line that
starts with ``[![Open In Colab]``, and the Colab install block of the first code cell, the
lines between ``# --- course install: ...`` and ``# --- end course install ---``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INSTALL_START = "# --- course install: Colab only (managed by tools/sync_headers.py) ---"
INSTALL_END = "# --- end course install ---"
BADGE_PREFIX = "[![Open In Colab]"


def course_config(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """The ``[tool.course]`` table of pyproject.toml (repository URL and branch)."""
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # Python 3.10: pytest brings tomli along
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            tomllib = None
    if tomllib is not None:
        table = tomllib.loads(text).get("tool", {}).get("course", {})
    else:  # last resort: the two simple lines we need
        section = text.split("[tool.course]", 1)[-1].split("\n[", 1)[0]
        table = dict(re.findall(r'^(\w+)\s*=\s*"([^"]*)"', section, flags=re.M))
    repo = table.get("repository", "")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo):
        raise ValueError(f"{pyproject}: [tool.course] repository must be https://github.com/OWNER/NAME, got {repo!r}")
    return {"repository": repo, "branch": table.get("branch", "main")}


def slug(config: dict[str, str]) -> str:
    """``OWNER/NAME`` of the repository."""
    return config["repository"].removeprefix("https://github.com/")


def badges_line(notebook_name: str, config: dict[str, str]) -> str:
    """The Colab and Binder badges of one notebook (file name such as ``00_welcome.ipynb``)."""
    s, b = slug(config), config["branch"]
    colab = f"https://colab.research.google.com/github/{s}/blob/{b}/notebooks/{notebook_name}"
    binder = f"https://mybinder.org/v2/gh/{s}/{b}?labpath=notebooks%2F{notebook_name}"
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def install_block(config: dict[str, str]) -> str:
    """The Colab-only install block, markers included.

    On Colab it clones the repository, installs course_lib editable (with its
    dependencies) and moves into notebooks/. The ``sys.path`` line makes course_lib
    importable at once: an editable install is only picked up by a new process.
    Everywhere else it does nothing.
    """
    return "\n".join(
        [
            INSTALL_START,
            "import sys",
            "",
            'if "google.colab" in sys.modules:',
            f'    REPO = "{config["repository"]}"',
            "    !git clone -q --depth 1 {REPO} /content/course 2>/dev/null || true",
            "    %pip install -q -e /content/course",
            '    sys.path.insert(0, "/content/course")',
            "    %cd /content/course/notebooks",
            INSTALL_END,
        ]
    )


def first_cell(nb: nbformat.NotebookNode, cell_type: str) -> nbformat.NotebookNode | None:
    """The first cell of ``cell_type`` in ``nb``, or None."""
    return next((c for c in nb.cells if c.cell_type == cell_type), None)


def sync_notebook(nb: nbformat.NotebookNode, name: str, config: dict[str, str]) -> list[str]:
    """Bring one notebook's badges and install block up to date, in place.

    Returns what was out of date (empty when nothing changed). Raises ValueError when the
    header or the install markers are missing, since those cannot be guessed.
    """
    changes = []
    header = nb.cells[0] if nb.cells else None
    if header is None or header.cell_type != "markdown" or not header.source.lstrip().startswith("# "):
        raise ValueError(f"{name}: the first cell must be the markdown header starting with '# NN · Title'")
    lines = header.source.split("\n")
    want = badges_line(name, config)
    idx = next((i for i, line in enumerate(lines) if line.startswith(BADGE_PREFIX)), None)
    if idx is None:
        title = next(i for i, line in enumerate(lines) if line.startswith("# "))
        lines[title + 1 : title + 1] = ["", want]
        changes.append("badges line added")
    elif lines[idx] != want:
        lines[idx] = want
        changes.append("badges line")
    header.source = "\n".join(lines)

    code = first_cell(nb, "code")
    src = code.source if code is not None else ""
    if INSTALL_START not in src or INSTALL_END not in src:
        raise ValueError(f"{name}: the first code cell lacks the install markers {INSTALL_START!r} ... {INSTALL_END!r}")
    before, rest = src.split(INSTALL_START, 1)
    _, after = rest.split(INSTALL_END, 1)
    new = before + install_block(config) + after
    if new != src:
        code.source = new
        changes.append("install block")
    return changes


def sync_text_file(path: Path, config: dict[str, str]) -> tuple[str, str]:
    """(old, new) text of README.md or CITATION.cff with the repository's address stamped in."""
    old = path.read_text(encoding="utf-8")
    s, b = slug(config), config["branch"]
    new = re.sub(
        r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/",
        f"colab.research.google.com/github/{s}/blob/{b}/",
        old,
    )
    new = re.sub(r"mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w.-]+\?", f"mybinder.org/v2/gh/{s}/{b}?", new)
    new = re.sub(r"^(repository-code|url): .*$", lambda m: f'{m.group(1)}: "{config["repository"]}"', new, flags=re.M)
    new = re.sub(r'^Repository = ".*"$', f'Repository = "{config["repository"]}"', new, flags=re.M)
    new = re.sub(r"git clone https://github\.com/[\w.-]+/[\w.-]+(\.git)?", f"git clone {config['repository']}.git", new)
    return old, new


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The course notebooks, sorted by name."""
    return sorted(folder.glob("[0-9][0-9]*_*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when anything is out of date")
    parser.add_argument(
        "paths", nargs="*", type=Path, help="notebooks to sync (default: all, plus README and CITATION)"
    )
    args = parser.parse_args(argv)
    config = course_config()
    stale, errors = [], []
    targets = args.paths or notebooks()
    for path in targets:
        nb = nbformat.read(path, as_version=4)
        try:
            changes = sync_notebook(nb, path.name, config)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if changes:
            stale.append(f"{path}: {', '.join(changes)}")
            if not args.check:
                nbformat.write(nb, path)
    if not args.paths:
        for path in (ROOT / "README.md", ROOT / "CITATION.cff", ROOT / "pyproject.toml"):
            if path.exists():
                old, new = sync_text_file(path, config)
                if old != new:
                    stale.append(f"{path}: repository address")
                    if not args.check:
                        path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "updated"
    for line in stale:
        print(f"{verb}: {line}")
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if not stale and not errors:
        print(f"all in sync with {config['repository']}")
    return 1 if errors or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
