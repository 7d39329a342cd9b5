"""A learner's session in a real browser: JupyterLab, headless Chromium, notebooks 00 and 04.

The test starts ``jupyter lab`` from the course's environment on a free loopback port with a
token, its root a temporary COPY of ``notebooks/`` (the committed notebooks are never touched;
``course_lib`` is the repository's, as for nbval), and drives Debian's Chromium through
Playwright's Python client (``executable_path``: Playwright downloads no browser). Steps:

1. open 00_welcome, wait for the kernel to be idle, run all cells, wait until every cell ran,
   find no error output; save it and check that JupyterLab wrote the metadata the committed
   notebooks carry (``tools/execute.py``'s ``KERNELSPEC`` and the kernel's ``language_info``);
2. open 04_ranking_objectives, run all, find the re-ranking sliders rendered as widgets
   (ipywidgets' slider class inside an output area), move one, and see the widget's output change.

Screenshots go to ``test-output/browser/`` (git-ignored; CI keeps the folder). The server is
always stopped. Without Chromium or Playwright the test is skipped, saying how to enable it,
except under CI (``CI=true``), where a skip would hide a broken promise: it fails instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import NOTEBOOKS, ROOT, load_tool

SHOTS = ROOT / "test-output" / "browser"
STARTUP_TIMEOUT = 120
RUN_TIMEOUT = {"00_welcome.ipynb": 300, "04_ranking_objectives.ipynb": 420}  # s, a contended 2-core machine
UNDER_CI = os.environ.get("CI", "").lower() == "true"
HOW_TO = (
    "the browser test needs Chromium and Playwright's Python client: "
    "sudo apt-get install chromium (Debian/Ubuntu), and make setup (requirements.txt brings playwright); "
    "or set CHROMIUM=/path/to/chromium"
)
SLIDER = ".jp-OutputArea .widget-slider, .jp-OutputArea .widget-hslider, .jp-OutputArea .jupyter-widgets.widget-slider"
#: What JupyterLab shows a learner, read through its application object (exposed for the test only).
JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.model.toJSON().cells;
  const code = cells.filter(c => c.cell_type === 'code' && String(c.source).trim());
  const errors = [];
  code.forEach((c, i) => (c.outputs || []).forEach(o => {
    if (o.output_type === 'error') errors.push(`code cell ${i}: ${o.ename}: ${o.evalue}`);
  }));
  const busy = Array.from(document.querySelectorAll('.jp-Notebook .jp-InputPrompt'))
    .filter(p => p.textContent.includes('*')).length;
  return {kernel: k ? k.status : null, code: code.length,
          ran: code.filter(c => c.execution_count !== null).length, busy, errors};
}"""


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _skip(reason: str):
    if UNDER_CI:
        pytest.fail(f"CI=true and {reason}: {HOW_TO} (.ci/run installs Chromium when it runs as root)")
    pytest.skip(f"{reason}: {HOW_TO}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        _skip("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("Playwright's Python client is not installed")
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        except Exception as exc:  # a broken install: say so, then fail or skip as above
            _skip(f"Chromium at {executable} does not start ({str(exc).splitlines()[0]})")
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/, with its own config and settings."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Render every cell (no virtual scrolling), so the test sees what a learner scrolls to.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    announcements = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    announcements.mkdir(parents=True)
    (announcements / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
        PYTHONHASHSEED="0",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    import requests

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{base}/api/status", params={"token": token}, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {STARTUP_TIMEOUT} s")
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "log": log_path}
    finally:
        try:
            requests.post(f"{base}/api/shutdown", headers={"Authorization": f"token {token}"}, timeout=10)
            proc.wait(timeout=30)
        except Exception:
            pass
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


@pytest.fixture(scope="module")
def committed():
    before = _digest(NOTEBOOKS)
    yield
    assert _digest(NOTEBOOKS) == before, "the browser test changed a committed notebook"


def _open(page, lab, name: str, timings: dict) -> None:
    start = time.perf_counter()
    page.goto(f"{lab['base']}/lab/tree/notebooks/{name}?token={lab['token']}&reset")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.context"
        f" && window.jupyterapp.shell.currentWidget.context.path.endsWith('{name}')",
        timeout=STARTUP_TIMEOUT * 1000,
    )
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; const s = w.sessionContext;"
        " return s && s.session && s.session.kernel && s.session.kernel.status === 'idle'; }",
        timeout=STARTUP_TIMEOUT * 1000,
    )
    timings[f"{name}: open, kernel idle"] = time.perf_counter() - start


def _run_all(page, name: str, timings: dict) -> dict:
    start = time.perf_counter()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + RUN_TIMEOUT[name]
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(JS_STATE)
        if state and state["errors"]:
            break
        if state and state["kernel"] == "idle" and state["busy"] == 0 and state["ran"] == state["code"]:
            break
        time.sleep(1)
    timings[f"{name}: run all"] = time.perf_counter() - start
    return state


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_a_learner_runs_00_and_moves_the_sliders_of_04(browser, lab, committed):
    execute = load_tool("execute")
    timings: dict[str, float] = {}
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        # 1. 00: open, run all, no error; saving writes the metadata the repository commits.
        _open(page, lab, "00_welcome.ipynb", timings)
        _shot(page, "00_opened")
        state = _run_all(page, "00_welcome.ipynb", timings)
        _shot(page, "00_ran")
        assert state is not None and not state["errors"], f"00_welcome: error output in the browser: {state}"
        assert state["ran"] == state["code"], f"00_welcome did not finish in {RUN_TIMEOUT['00_welcome.ipynb']} s: {state}"
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        saved_path = lab["root"] / "notebooks" / "00_welcome.ipynb"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            saved = json.loads(saved_path.read_text(encoding="utf-8"))
            if saved["metadata"].get("language_info", {}).get("version"):
                break
            time.sleep(0.5)
        assert saved["metadata"]["kernelspec"] == execute.KERNELSPEC, (
            f"JupyterLab saves kernelspec {saved['metadata']['kernelspec']}, tools/execute.py commits "
            f"{execute.KERNELSPEC}: opening and saving would change every notebook"
        )
        assert saved["metadata"]["language_info"]["version"] == ".".join(map(str, sys.version_info[:3]))

        # 2. 04: opened and saved as it is, the file is what the repository commits (the Python
        # version aside: it is the learner's); then run all, find the sliders rendered as
        # widgets, move one, see the output change.
        _open(page, lab, "04_ranking_objectives.ipynb", timings)
        saved_04 = lab["root"] / "notebooks" / "04_ranking_objectives.ipynb"
        committed_04 = json.loads((NOTEBOOKS / "04_ranking_objectives.ipynb").read_text(encoding="utf-8"))
        mtime = saved_04.stat().st_mtime_ns
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.monotonic() + 30
        while saved_04.stat().st_mtime_ns == mtime and time.monotonic() < deadline:
            time.sleep(0.5)
        assert saved_04.stat().st_mtime_ns != mtime, "JupyterLab did not save 04 within 30 s"
        resaved = json.loads(saved_04.read_text(encoding="utf-8"))
        for nb in (resaved, committed_04):
            nb["metadata"].get("language_info", {}).pop("version", None)
        assert resaved == committed_04, "opening and saving 04 in JupyterLab changes the file: " + ", ".join(
            k for k in sorted(set(resaved["metadata"]) | set(committed_04["metadata"]))
            if resaved["metadata"].get(k) != committed_04["metadata"].get(k)
        ) + (" (and cells)" if resaved["cells"] != committed_04["cells"] else "")
        state = _run_all(page, "04_ranking_objectives.ipynb", timings)
        assert state is not None and not state["errors"], f"04: error output in the browser: {state}"
        assert state["ran"] == state["code"], f"04 did not finish in {RUN_TIMEOUT['04_ranking_objectives.ipynb']} s"
        start = time.perf_counter()
        sliders = page.locator(SLIDER)
        sliders.first.wait_for(state="visible", timeout=60_000)
        count = sliders.count()
        assert count >= 2, f"04: expected the re-ranking sliders as widgets, found {count}"
        # The cell whose output holds sliders and the widget output they drive (interactive_output).
        cell = (
            page.locator(".jp-CodeCell")
            .filter(has=page.locator(SLIDER))
            .filter(has=page.locator(".widget-output, .jupyter-widgets-output-area"))
            .first
        )
        cell.scroll_into_view_if_needed()
        slider = cell.locator(SLIDER).first
        output = cell.locator(".jp-OutputArea .widget-output, .jp-OutputArea .jupyter-widgets-output-area").first
        output.wait_for(state="attached", timeout=60_000)
        page.wait_for_function("el => el.innerText.trim().length > 0", arg=output.element_handle(), timeout=60_000)
        before = output.inner_text()
        _shot(page, "04_sliders_before")
        readout = slider.locator(".widget-readout").first
        old = float(readout.inner_text())
        new = 0.0 if old > 0.5 else 1.5
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(f"{new}")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "([el, before]) => el.innerText.trim().length > 0 && el.innerText !== before",
            arg=[output.element_handle(), before], timeout=120_000,
        )
        after = output.inner_text()
        _shot(page, "04_sliders_after")
        timings["04: move a slider, output changes"] = time.perf_counter() - start
        assert after != before
        assert abs(float(readout.inner_text()) - new) < 1e-9
        # Saving after a run keeps the committed widget state (JupyterLab's default: it writes none).
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            saved = json.loads(saved_04.read_text(encoding="utf-8"))
            if saved["metadata"].get("language_info", {}).get("version"):
                break
            time.sleep(0.5)
        assert saved["metadata"].get("widgets") == committed_04["metadata"].get("widgets"), (
            "saving 04 in JupyterLab rewrote its widget state"
        )
        assert saved["metadata"]["kernelspec"] == execute.KERNELSPEC
    finally:
        _shot(page, "last")
        context.close()
        lines = [f"  {k}: {v:.1f} s" for k, v in timings.items()]
        print("browser test timings:\n" + "\n".join(lines))
        (SHOTS.mkdir(parents=True, exist_ok=True), (SHOTS / "timings.json").write_text(json.dumps(timings, indent=1)))
