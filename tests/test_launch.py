"""A real launch: JupyterLab serves the course and runs a cell of 00_welcome through a kernel.

What ``make lab`` does, headless: start ``jupyter lab`` on a free loopback port with a
token, fetch notebooks/00_welcome.ipynb through the contents REST API, start a kernel,
execute the notebook's setup cell and one expression over the kernel's websocket, then
shut everything down. Every wait is bounded, and the server is always stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
import websocket
from conftest import ROOT

STARTUP_TIMEOUT = 90
EXECUTE_TIMEOUT = 90


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A headless JupyterLab on 127.0.0.1, isolated from the user's Jupyter config."""
    tmp = tmp_path_factory.mktemp("jupyter")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
    )
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers often run as root
    log = open(tmp / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{(tmp / 'server.log').read_text()[-3000:]}")
            try:
                if session.get(f"{base}/api/status", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {STARTUP_TIMEOUT} s")
            time.sleep(0.5)
        yield {"base": base, "token": token, "port": port, "session": session}
    finally:
        try:
            session.post(f"{base}/api/shutdown", timeout=10)
            proc.wait(timeout=20)
        except (requests.RequestException, subprocess.TimeoutExpired):
            pass
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def test_lab_page_needs_the_token(server):
    assert requests.get(f"{server['base']}/api/contents", timeout=10).status_code == 403
    page = server["session"].get(f"{server['base']}/lab", timeout=30)
    assert page.status_code == 200 and "JupyterLab" in page.text


@pytest.fixture(scope="module")
def welcome(server):
    r = server["session"].get(f"{server['base']}/api/contents/notebooks/00_welcome.ipynb", timeout=30)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def test_contents_api_serves_the_welcome_notebook(welcome):
    assert welcome["type"] == "notebook" and welcome["name"] == "00_welcome.ipynb"
    nb = welcome["content"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["cells"][0]["source"].startswith("# 00 ·")


def _execute(ws, code: str) -> dict:
    """Send one execute_request on the shell channel; gather its outputs until the kernel is idle."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))  # fmt: skip
    result = {"stdout": "", "data": None, "error": None, "status": None}
    idle = False
    deadline = time.monotonic() + EXECUTE_TIMEOUT
    while not (idle and result["status"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply within {EXECUTE_TIMEOUT} s for {code[:60]!r}")
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            result["stdout"] += content["text"]
        elif kind == "execute_result":
            result["data"] = content["data"]
        elif kind == "error":
            result["error"] = f"{content['ename']}: {content['evalue']}"
        elif kind == "execute_reply":
            result["status"] = content["status"]
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return result


def test_a_kernel_runs_the_setup_cell_through_the_server(server, welcome):
    """Open a session on 00_welcome as JupyterLab does, run its setup cell, then one expression."""
    base, session = server["base"], server["session"]
    r = session.post(
        f"{base}/api/sessions",
        json={"path": "notebooks/00_welcome.ipynb", "name": "00_welcome.ipynb", "type": "notebook",
              "kernel": {"name": "python3"}},
        timeout=60,
    )  # fmt: skip
    assert r.status_code == 201, r.text[:500]
    session_id, kernel_id = r.json()["id"], r.json()["kernel"]["id"]
    ws = None
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server['port']}/api/kernels/{kernel_id}/channels?token={server['token']}",
            timeout=EXECUTE_TIMEOUT,
        )
        setup_cell = next(c for c in welcome["content"]["cells"] if c["cell_type"] == "code")
        assert "course_lib.setup(" in setup_cell["source"]
        out = _execute(ws, setup_cell["source"])
        assert out["error"] is None and out["status"] == "ok", out
        assert "course_lib ready" in out["stdout"], out
        out = _execute(ws, "import os\nfrom course_lib.data import SHOP_PATH\nos.path.basename(os.getcwd()), 6 * 7")
        assert out["status"] == "ok" and out["data"]["text/plain"] == "('notebooks', 42)", out
    finally:
        if ws is not None:
            ws.close()
        assert session.delete(f"{base}/api/sessions/{session_id}", timeout=30).status_code == 204
    assert kernel_id not in [k["id"] for k in session.get(f"{base}/api/kernels", timeout=10).json()]
