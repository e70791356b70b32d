"""Every notebook in a real JupyterLab, driven by Chromium: Run All gives no unexpected error,
widgets render and redraw their figure when a control moves, and no request leaves the machine.

Needs Debian's chromium (`apt-get install chromium`, or CHROMIUM=/path/to/chrome). Without it
these tests are skipped, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run) turns that into a
failure. The notebooks are copied to a temporary folder first, so autosave never touches them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "browser-test-token"


def _require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback, isolated from the user's own Jupyter settings."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", tmp / "notebooks")
    settings = tmp / "settings"
    for plugin, value in {
        "notebook-extension/tracker": {"windowingMode": "none"},  # keep every cell in the DOM
        "extensionmanager-extension/plugin": {"enabled": False},  # no avatars from the web
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        package, name = plugin.split("/")
        folder = settings / f"@jupyterlab/{package}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               MPLCONFIGDIR=str(tmp / "mpl"))
    port = _free_port()
    jupyter = Path(sys.executable).parent / "jupyter"
    log = open(tmp / "server.log", "w")  # closed in the finally below
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp / 'notebooks'}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                request = urllib.request.Request(f"{base}/api/status",
                                                 headers={"Authorization": f"token {TOKEN}"})
                urllib.request.urlopen(request, timeout=2)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start:\n" + (tmp / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


# the notebook panel of a given path (not `currentWidget`, which restored tabs could change)
PANEL = """const panelFor = (path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) if (w.context?.path === path) return w;
  return null; };"""

KERNEL_IDLE = """(path) => { PANEL
  return panelFor(path)?.sessionContext?.session?.kernel?.status === 'idle'; }""".replace("PANEL", PANEL)

CELL_ERRORS = """(path) => { PANEL
  const model = panelFor(path).content.model; const errors = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const tags = cell.getMetadata('tags') || [];
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j).toJSON();
      if (out.output_type === 'error' && !tags.includes('raises-exception')) errors.push([i, out.ename, out.evalue]);
    }
  }
  return errors; }""".replace("PANEL", PANEL)

ALL_RUN = """(path) => { PANEL
  const panel = panelFor(path); const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type === 'code' && !cell.executionCount) return false;
  }
  return panel.sessionContext.session?.kernel?.status === 'idle'; }""".replace("PANEL", PANEL)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_widgets_respond(lab, browser, notebook):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    external = []
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else external.append(r.url))
    page.on("websocket", lambda ws: None if ws.url.startswith(local) else external.append(ws.url))
    try:
        # a workspace of its own, reset, so no tab of an earlier notebook is restored
        page.goto(f"{lab}/lab/workspaces/{notebook.stem}/tree/{notebook.name}?reset&token={TOKEN}")
        page.wait_for_function("window.jupyterapp !== undefined", timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, arg=notebook.name, timeout=120_000, polling=500)
        page.evaluate("(path) => { " + PANEL + " window.jupyterapp.shell.activateById(panelFor(path).id);"
                      " return window.jupyterapp.commands.execute('notebook:run-all-cells'); }",
                      notebook.name)
        page.wait_for_function(ALL_RUN, arg=notebook.name, timeout=240_000, polling=500)
        assert page.evaluate(CELL_ERRORS, notebook.name) == []
        assert page.get_by_text("Error displaying widget").count() == 0
        if page.locator(".widget-output").count():  # the first interactive figure must follow its controls
            figure = page.locator(".widget-output img").first
            figure.wait_for(state="visible", timeout=120_000)  # drawn after the kernel replied
            figure.scroll_into_view_if_needed()
            box = figure.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")
            before = figure.get_attribute("src")
            # the Output widget replaces its <img> on every redraw, so look it up each time
            redrawn = ("(src) => { const img = document.querySelector('.widget-output img');"
                       " return img !== null && img.getAttribute('src') !== src; }")
            arg = before
            dropdown = box.locator(".widget-dropdown select")
            if dropdown.count():
                n = dropdown.first.locator("option").count()
                current = dropdown.first.evaluate("e => e.selectedIndex")
                dropdown.first.select_option(index=(current + 1) % n)
                page.wait_for_function(redrawn, arg=arg, timeout=120_000, polling=500)
            else:
                handle = box.locator(".noUi-handle").first
                at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
                handle.focus()
                handle.press("ArrowLeft" if at_max else "ArrowRight")  # move it one step
                page.wait_for_function(redrawn, arg=arg, timeout=120_000, polling=500)
        assert external == [], f"requests left the machine: {external[:5]}"
    finally:
        page.close()
        _shut_down_kernels(lab)


def _shut_down_kernels(base: str) -> None:
    """Stop the kernels this notebook started, so the next notebook has the machine to itself."""
    auth = {"Authorization": f"token {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=auth)) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", headers=auth,
                                         method="DELETE")
        urllib.request.urlopen(request).close()
