"""The website builds offline from the committed notebooks, with warnings as errors, and holds together.

``tools/site.py`` (``make site``) stages copies of the notebooks and pages and runs Sphinx with
``-W``; this test builds into a temporary folder, then reads every HTML page and checks that each
internal link (file and ``#anchor``) and each image resolves, that every notebook has its page,
that search works offline (its index is there), and that no widget shows as ``VBox(children=...)``.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import NOTEBOOKS, ROOT, load_tool

pytest.importorskip("myst_nb", reason="the site needs the pinned stack: make setup (requirements.txt)")
site = load_tool("site")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag/attr, target)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "name" in attrs:
            self.ids.add(attrs["name"])
        for attr in ("href", "src"):
            if attrs.get(attr) and tag in ("a", "img", "link", "script", "source"):
                self.links.append((f"{tag}[{attr}]", attrs[attr]))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    try:
        summary = site.build(out)
    except RuntimeError as exc:
        pytest.fail(f"the site does not build with warnings as errors (make site shows them):\n{exc}")
    summary["measured_s"] = time.perf_counter() - start
    html = Path(summary["html"])
    pages = {}
    for path in sorted(html.rglob("*.html")):
        if "_static" in path.relative_to(html).parts:
            continue  # the theme's template fragments, not pages
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path] = parser
    print(f"site: {summary['html_pages']} HTML pages in {summary['measured_s']:.1f} s")
    return html, pages, summary


def test_every_notebook_and_page_is_there(built):
    html, _, summary = built
    for nb in sorted(NOTEBOOKS.glob(site.NOTEBOOK_GLOB)):
        assert (html / "notebooks" / f"{nb.stem}.html").is_file(), f"no page for {nb.name}"
    for rel, required in site.PAGES:
        if required or (ROOT / rel).exists():
            assert (html / rel).with_suffix(".html").is_file(), f"no page for {rel}"
    assert (html / "index.html").is_file() and (html / "search.html").is_file()
    assert (html / "searchindex.js").stat().st_size > 10_000, "the search index is (almost) empty"
    index = (html / "index.html").read_text(encoding="utf-8")
    assert "Syllabus" in index, "the landing page should be the README's syllabus"
    assert summary["html_pages"] >= summary["notebooks"] + 4


def test_internal_links_and_images_resolve(built):
    html, pages, _ = built
    broken = []
    for path, page in pages.items():
        for what, target in page.links:
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                continue  # external (badges, the CDN the reader's browser loads widgets from)
            dest = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not dest.exists():
                broken.append(f"{path.relative_to(html)}: {what} -> {target} (no such file)")
            elif parts.fragment and dest.suffix == ".html" and dest in pages:
                if unquote(parts.fragment) not in pages[dest].ids:
                    broken.append(f"{path.relative_to(html)}: {what} -> {target} (no such anchor)")
    assert not broken, f"{len(broken)} broken internal link(s):\n" + "\n".join(broken[:30])


def test_notebook_pages_show_outputs_and_figures(built):
    html, _, _ = built
    for nb_path in sorted(NOTEBOOKS.glob(site.NOTEBOOK_GLOB)):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        figures = sum(
            1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        )
        page = (html / "notebooks" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        shown = len(re.findall(r"<img [^>]*src=\"\.\./_images/", page))
        assert shown >= figures, f"{nb_path.name}: {figures} stored figure(s), {shown} on its page"


def test_widgets_never_show_as_text(built):
    _, pages, _ = built
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "VBox(children=" not in text and "HBox(children=" not in text, (
            f"{path.name}: a widget shows as its text fallback; tools/site.py should replace it"
        )


def test_a_widget_without_saved_state_becomes_a_note(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "source": "ui",
                "outputs": [{
                    "output_type": "display_data", "metadata": {},
                    "data": {"text/plain": "VBox(children=(...))",
                             site.WIDGET_VIEW: {"model_id": "gone", "version_major": 2, "version_minor": 0}},
                }],
            },
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": "[code](../course_lib/data.py)"},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    src, dest = tmp_path / "09_x.ipynb", tmp_path / "out.ipynb"
    src.write_text(json.dumps(nb))
    changed = site._stage_notebook(src, dest, set(), {"repository": "https://github.com/o/r", "branch": "main"})
    staged = json.loads(dest.read_text())
    assert changed["widget_notes"] == 1
    assert staged["cells"][0]["outputs"][0]["data"] == {"text/html": site.WIDGET_NOTE}
    assert staged["cells"][1]["source"] == "[code](https://github.com/o/r/blob/main/course_lib/data.py)"
