"""Every lesson notebook in a real JupyterLab, driven by Chromium: Run All gives no unexpected error,
every control of every interactive figure moves from the keyboard and redraws its figure
without moving the notebook, and no request leaves the machine.

Needs Debian's chromium (`apt-get install chromium`, or CHROMIUM=/path/to/chrome). Without it
these tests are skipped, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run) turns that into a
failure. The notebooks are copied to a temporary folder first, so autosave never touches them.

The time from a key press to the new figure on screen is measured for every control and
printed as a table at the end of the run (`pytest tests/test_browser_lab.py`); it is
reported, not asserted, since it depends on the machine. One notebook:
`pytest tests/test_browser_lab.py -k 04_masked`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"


def _has_explorer(path: Path) -> bool:
    """Whether a notebook's code builds an interactive figure (`show_interactive`)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any("show_interactive(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


# The lessons with an explorer, and 00, the one every learner runs first. The worked-solution
# notebooks hold no explorer and no view, and nbval runs them. 11 is run in JupyterLab by
# test_browser_attention_views.py, which checks what this test checks of it (no failing cell, no
# widget error, no request off 127.0.0.1) and more. 07, 09, 10 and 12 show text and pictures
# only (their progress bars are off under make test): nbval runs them, and tests/test_links.py
# checks that nothing they show is fetched from the network; GPT2_BROWSER_ALL=1 opens them here
# too, to time their Run All in JupyterLab (about 2.5 minutes of CI time that checks nothing new).
NOTEBOOKS = [p for p in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
             if not p.name.startswith("11_")
             and (os.environ.get("GPT2_BROWSER_ALL") == "1" or p.name.startswith("00_")
                  or _has_explorer(p))]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "browser-test-token"
STEPS = 3  # key presses each way per control, each timed; then a burst of STEPS presses
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


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


# ---------------------------------------------------------------------------------------------
# show_interactive's contract, checked without a browser
# ---------------------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _explorer(on_length=None):
    """A small mask explorer like 04's: length and query sliders, a fill toggle."""
    import ipywidgets as widgets

    from helpers import causal_mask
    from helpers.notebook import show_interactive
    from helpers.viz import plot_mask_stages

    scores = torch_randn(6)
    calls = []

    def draw(T, query, fill):
        calls.append((T, query, fill))
        return plot_mask_stages(scores[:T, :T], causal_mask(T), list("abcdef")[:T],
                                fill=float(fill), query=min(query, T - 1))

    length = widgets.IntSlider(value=6, min=1, max=6)
    query = widgets.IntSlider(value=5, min=0, max=5)
    if on_length:
        length.observe(lambda change: on_length(query, change["new"]), names="value")
    fill = widgets.ToggleButtons(options=["-inf", "0"])
    box = show_interactive(draw, T=length, query=query, fill=fill)
    return box, calls, (length, query, fill)


def torch_randn(n: int):
    import torch

    return torch.randn(n, n, generator=torch.Generator().manual_seed(0))


def test_show_interactive_updates_one_image_in_place_at_retina_resolution():
    import ipywidgets as widgets

    from helpers.notebook.widgets import BOX_CLASS, BROWSER_SCRIPT, RATIO_CLASS

    box, calls, (length, query, fill) = _explorer()
    row, image, errors, script, pixel_ratio = box.children
    assert list(row.children) == [length, query, fill]
    assert isinstance(image, widgets.Image) and image.format == "png"
    assert calls == [(6, 5, "-inf")] and box.redraw.count == 1  # drawn before it is shown
    width, height = _png_size(image.value)
    assert image.width == str(width // 2) and int(image.width) <= 840  # CSS px = pixels / 2
    first = image.value
    fill.value = "0"
    assert box.children[1] is image and image.value != first  # the same widget, a new picture
    assert calls[-1] == (6, 5, "0")
    assert BOX_CLASS in box._dom_classes and script.layout.display == "none"
    assert script.outputs[0]["data"]["application/javascript"] == BROWSER_SCRIPT
    assert RATIO_CLASS in pixel_ratio._dom_classes and pixel_ratio.layout.display == "none"
    assert "data-lm-suppress-shortcuts" in BROWSER_SCRIPT


def test_show_interactive_draws_at_the_pixel_ratio_the_browser_reports():
    box, calls, (length, query, fill) = _explorer()
    image, pixel_ratio, redraw = box.children[1], box.children[4], box.redraw
    css = int(image.width)
    assert _png_size(image.value)[0] == 2 * css  # before the browser says: retina
    pixel_ratio.value = "1"  # a projector: fewer pixels from the next picture on, no redraw
    assert redraw.count == 1
    fill.value = "0"
    assert _png_size(image.value)[0] == css and image.width == str(css)
    pixel_ratio.value = "1.5"  # zoomed in: more pixels than on screen, so redrawn at once
    assert redraw.count == 3 and _png_size(image.value)[0] == 2 * css
    assert calls[-1] == calls[-2]  # the same values, at the new density
    for nonsense in ("", "abc", "0", "-1", "nan"):
        pixel_ratio.value = nonsense
        assert redraw.scale == 2
    pixel_ratio.value = "3"  # a phone: at most 2x
    assert redraw.scale == 2 and redraw.count == 3


def test_show_interactive_draws_a_change_of_two_controls_once():
    # 04's length slider lowers the query slider's maximum, which moves the query slider too
    box, calls, (length, query, fill) = _explorer(
        on_length=lambda query, T: setattr(query, "max", T - 1))
    length.value = 3
    assert query.value == 2
    assert calls == [(6, 5, "-inf"), (3, 2, "-inf")]  # not (3, 5) first: no stale drawing
    query.value = 2  # no change, no drawing
    assert box.redraw.count == 2


def test_show_interactive_shows_an_error_under_the_controls_and_recovers():
    import ipywidgets as widgets

    from helpers.notebook import show_interactive
    from helpers.viz import plot_mask

    def draw(n):
        if n == 0:
            raise ValueError("n must be positive")
        from helpers import causal_mask

        return plot_mask(causal_mask(n))

    slider = widgets.IntSlider(value=2, min=0, max=4)
    box = show_interactive(draw, n=slider)
    image, errors = box.children[1], box.children[2]
    picture = image.value
    slider.value = 0
    assert "n must be positive" in errors.outputs[0]["text"] and image.value == picture
    slider.value = 3
    assert errors.outputs == () and image.value != picture
    with pytest.raises(ValueError, match="positive"):  # a first drawing that fails raises
        show_interactive(draw, n=widgets.IntSlider(value=0))
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        show_interactive(lambda n: None, n=widgets.IntSlider())
    with pytest.raises(TypeError, match="ipywidgets control"):
        show_interactive(draw, n=3)


def test_show_interactive_closes_figures_made_with_pyplot():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from helpers.notebook import show_interactive

    def draw(n):
        fig, ax = plt.subplots()
        ax.plot(range(n))
        return fig

    plt.close("all")
    box = show_interactive(draw, n=widgets.IntSlider(value=3))
    box.children[0].children[0].value = 5
    assert box.redraw.count == 2 and plt.get_fignums() == []  # none left for the next cell


# ---------------------------------------------------------------------------------------------
# The server: JupyterLab on loopback, isolated from the user's Jupyter settings
# ---------------------------------------------------------------------------------------------

SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},  # keep every cell in the DOM
    "extensionmanager-extension/plugin": {"enabled": False},  # no avatars from the web
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _write_settings(folder: Path) -> None:
    for plugin, value in SETTINGS.items():
        package, name = plugin.split("/")
        (folder / f"@jupyterlab/{package}").mkdir(parents=True, exist_ok=True)
        (folder / f"@jupyterlab/{package}/{name}.jupyterlab-settings").write_text(json.dumps(value))


def _get(url: str, timeout: float = 5.0) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


@contextlib.contextmanager
def running_lab(root_dir: Path, tmp: Path, attempts: int = 3) -> Iterator[str]:
    """A JupyterLab server serving `root_dir`; yields its base URL.

    The server picks its own free port (port 0) and the test reads it from the server's
    runtime file (jpserver-PID.json in JUPYTER_RUNTIME_DIR): no port is chosen here and then
    bound later by another process. Should the server still fail to start, it is retried.
    """
    _write_settings(tmp / "settings")
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               IPYTHONDIR=str(tmp / "ipython"), MPLCONFIGDIR=str(tmp / "mpl"))
    env.pop("MPLBACKEND", None)  # Agg inherited by the kernel would break inline figures
    jupyter = Path(sys.executable).parent / "jupyter"
    command = [str(jupyter), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port=0", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root_dir}",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True"]
    log_path = tmp / "server.log"
    for _ in range(attempts):
        shutil.rmtree(tmp / "runtime", ignore_errors=True)
        with open(log_path, "w") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                base = _wait_until_serving(server, tmp / "runtime")
                if base is not None:
                    yield base
                    return
            finally:
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
    pytest.fail(f"JupyterLab did not start in {attempts} attempts:\n" + log_path.read_text()[-3000:])


def _wait_until_serving(server: subprocess.Popen, runtime: Path, timeout: float = 120) -> str | None:
    """The base URL once the server answers /api/status; None if it exited first."""
    deadline = time.monotonic() + timeout
    base = None
    while time.monotonic() < deadline and server.poll() is None:
        if base is None:
            for info in runtime.glob("jpserver-*.json"):
                with contextlib.suppress(ValueError, OSError):
                    port = json.loads(info.read_text())["port"]
                    base = f"http://127.0.0.1:{port}"
        if base is not None:
            with contextlib.suppress(OSError):
                _get(f"{base}/api/status", timeout=2)
                return base
        time.sleep(0.3)
    return None


def _shut_down_kernels(base: str) -> None:
    """Stop the kernels a notebook started, so the next notebook has the machine to itself."""
    for session in json.loads(_get(f"{base}/api/sessions")):
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE",
                                         headers={"Authorization": f"token {TOKEN}"})
        urllib.request.urlopen(request).close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOK_DIR, tmp / "notebooks")
    with running_lab(tmp / "notebooks", tmp) as base:
        yield base


@contextlib.contextmanager
def chromium() -> Iterator:
    """Headless Debian chromium, driven by playwright's own driver (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser(lab):
    with chromium() as b:
        yield b


# ---------------------------------------------------------------------------------------------
# Driving a notebook
# ---------------------------------------------------------------------------------------------

# the notebook panel of a given path (not `currentWidget`, which restored tabs could change)
PANEL = """const panelFor = (path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) if (w.context?.path === path) return w;
  return null; };"""


def _js(body: str) -> str:
    return "(arg) => { " + PANEL + "\n" + body + " }"


KERNEL_IDLE = _js("return panelFor(arg)?.sessionContext?.session?.kernel?.status === 'idle';")

CELL_ERRORS = _js("""
  const model = panelFor(arg).content.model; const errors = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const tags = cell.getMetadata('tags') || [];
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j).toJSON();
      if (out.output_type === 'error' && !tags.includes('raises-exception'))
        errors.push([i, out.ename, out.evalue]);
    }
  }
  return errors;""")

ALL_RUN = _js("""
  const panel = panelFor(arg); const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type === 'code' && !cell.executionCount) return false;
  }
  return panel.sessionContext.session?.kernel?.status === 'idle';""")

# every widget output has its view rendered (they render after the kernel replied)
WIDGETS_SHOWN = _js("""
  const outputs = panelFor(arg).content.node.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]');
  return [...outputs].every((o) => o.querySelector('.jupyter-widgets'));""")

# Finds every control of every interactive figure: a control, and the nearest widget box
# around it that holds a picture (an ipywidgets Image, or an <img> in an Output widget).
# Each gets a data attribute the test addresses it by; the page then watches each box and
# notes when a new picture has been decoded and painted, and when a key went down.
DISCOVER = _js("""
  const root = panelFor(arg).content.node;
  const kinds = [
    ['slider', '.widget-slider .noUi-handle'],
    ['dropdown', '.widget-dropdown select, .widget-select select'],
    ['toggle-buttons', '.widget-toggle-buttons'],
    ['checkbox', '.widget-checkbox input[type=checkbox]'],
    ['toggle', 'button.widget-toggle-button'],
  ];
  const bt = window.browserTest = window.browserTest || {inputAt: 0, boxes: {}};
  if (!bt.listening) {
    bt.listening = true;
    const mark = (event) => { if (event.type !== 'pointermove' || event.buttons)
      bt.inputAt = performance.now(); };  // the last input: a key, or the mouse on a control
    for (const type of ['keydown', 'pointerdown', 'pointermove', 'pointerup'])
      window.addEventListener(type, mark, true);
  }
  const figureOf = (el) => {
    for (let box = el.closest('.widget-box'); box; box = box.parentElement.closest('.widget-box'))
      if (box.querySelector('img')) return box;
    return null;
  };
  const found = []; let boxCount = Object.keys(bt.boxes).length;
  for (const [kind, selector] of kinds) {
    for (const el of root.querySelectorAll(selector)) {
      if (kind === 'toggle' && el.closest('.widget-toggle-buttons')) continue;
      const box = figureOf(el);
      if (!box) continue;
      if (!box.dataset.btBox) {
        box.dataset.btBox = String(boxCount++);
        const watch = bt.boxes[box.dataset.btBox] = {src: null, shownAt: 0, changes: 0, loading: 0};
        const check = () => {
          const img = box.querySelector('img');
          if (!img || !img.getAttribute('src') || img.getAttribute('src') === watch.src) return;
          watch.src = img.getAttribute('src'); watch.loading += 1;
          img.decode().catch(() => {}).then(() => requestAnimationFrame(() => {
            watch.shownAt = performance.now(); watch.changes += 1; watch.loading -= 1; }));
        };
        new MutationObserver(check).observe(box, {subtree: true, childList: true, attributes: true,
                                                  attributeFilter: ['src']});
        check();
      }
      const widget = el.closest('.widget-slider, .widget-dropdown, .widget-select, .widget-checkbox')
        || el;
      const labels = [...widget.querySelectorAll('.widget-label, .widget-label-basic')]
        .map((l) => l.textContent.replace(/\u200b/g, '').trim()).filter((t) => t);
      el.dataset.btControl = String(found.length);
      found.push({id: found.length, kind, box: box.dataset.btBox,
                  label: labels[0] || el.textContent.trim() || kind});
    }
  }
  return found;""")

# a control's state, the notebook's active cell and the scroll offsets around the control
STATE = _js("""
  const [path, id] = arg;
  const el = document.querySelector(`[data-bt-control="${id}"]`);
  const valueOf = (el) => {
    if (el.classList.contains('noUi-handle'))  // aria-valuenow is rounded to one decimal
      return Number(el.getAttribute('aria-valuetext') ?? el.getAttribute('aria-valuenow'));
    if (el.tagName === 'SELECT') return el.selectedIndex;
    if (el.classList.contains('widget-toggle-buttons'))
      return [...el.querySelectorAll('button')].findIndex((b) => b.classList.contains('mod-active'));
    if (el.tagName === 'INPUT') return el.checked;
    return el.classList.contains('mod-active');
  };
  let min = null, max = null, step = 1;
  if (el.classList.contains('noUi-handle')) {
    const options = el.closest('.noUi-target')?.noUiSlider?.options;
    min = Number(options?.range?.min ?? el.getAttribute('aria-valuemin'));
    max = Number(options?.range?.max ?? el.getAttribute('aria-valuemax'));
    step = options?.step || 1;
  } else if (el.tagName === 'SELECT') {
    min = 0; max = el.options.length - 1;
  }
  const box = el.closest('[data-bt-box]');
  const scroll = [window.scrollY];
  for (let node = el.parentElement; node; node = node.parentElement) scroll.push(node.scrollTop);
  return {value: valueOf(el), min, max, step, scroll, top: Math.round(el.getBoundingClientRect().top),
          box: JSON.stringify([...box.querySelectorAll('[data-bt-control]')].map(valueOf)),
          activeCell: panelFor(path).content.activeCellIndex,
          focused: el.contains(document.activeElement),
          disabled: el.matches(':disabled') || el.getAttribute('disabled') !== null};""")

FOCUS = _js("""
  const el = document.querySelector(`[data-bt-control="${arg}"]`);
  const box = el.closest('[data-bt-box]');
  box.scrollIntoView({block: 'center'});
  const target = el.classList.contains('widget-toggle-buttons')
    ? (el.querySelector('button.mod-active') || el.querySelector('button')) : el;
  target.focus();
  return document.activeElement === target;""")

WATCH = "(box) => { const w = window.browserTest.boxes[box]; return {...w, inputAt: window.browserTest.inputAt, now: performance.now()}; }"

# the picture's bytes (a blob: or data: URL), hashed
# every explorer's picture, once redrawn, has as many pixels as the screen shows (the browser
# reported its device pixel ratio to the kernel): [natural width, width attribute, ratio]
PICTURE_PIXELS = _js("""
  return [...panelFor(arg).content.node.querySelectorAll('.helpers-interactive img')].map(
    (img) => [img.naturalWidth, Number(img.getAttribute('width')), window.devicePixelRatio]);""")

IMAGE_HASH = """async (box) => {
  const img = document.querySelector(`[data-bt-box="${box}"] img`);
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''); }"""


@dataclass
class Timing:
    """Latencies of one control, for the summary table."""

    notebook: str
    control: str
    latencies: list[float] = field(default_factory=list)  # seconds, key down to new picture
    burst: str = ""
    drag: str = ""
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # the machine's, meanwhile


TIMINGS: list[Timing] = []
RUN_ALL_SECONDS: dict[str, float] = {}  # notebook -> Run All, command to the last cell's end


def run_all(page, base: str, path: str, timeout_s: float = 600) -> float:
    """Open `path` in a fresh workspace of its own, Run All, and wait for the last cell;
    returns the seconds from the command to the end of the last cell, as a learner waits."""
    workspace = Path(path).stem
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?reset&token={TOKEN}")
    page.wait_for_function("window.jupyterapp !== undefined", timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, arg=path, timeout=120_000, polling=500)
    start = time.monotonic()
    page.evaluate(_js("window.jupyterapp.shell.activateById(panelFor(arg).id);"
                      " return window.jupyterapp.commands.execute('notebook:run-all-cells');"), path)
    page.wait_for_function(ALL_RUN, arg=path, timeout=timeout_s * 1000, polling=500)
    return time.monotonic() - start


def settle(page, path: str, box: str, quiet: float) -> dict:
    """Wait until the kernel is idle and the box's picture has not changed for `quiet` s."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        watch = page.evaluate(WATCH, box)
        if (watch["loading"] == 0 and watch["now"] - max(watch["shownAt"], watch["inputAt"]) > quiet * 1000
                and page.evaluate(KERNEL_IDLE, path)):
            return watch
        time.sleep(0.1)
    raise AssertionError(f"the figure of box {box} kept changing for 2 minutes")


def press_and_time(page, path: str, control: dict, key: str, quiet: float) -> tuple[dict, dict, float]:
    """Press `key` on the focused control; returns (state before, state after, seconds from
    key down to the new picture painted)."""
    box = control["box"]
    before = page.evaluate(STATE, [path, control["id"]])
    assert before["focused"], f"{control['label']}: lost the keyboard focus"
    changes = page.evaluate(WATCH, box)["changes"]
    page.keyboard.press(key)
    # a new picture, or a sign that the key went to JupyterLab instead of the control
    done = _js("""const [path, box, id, changes, cell] = arg;
      const el = document.querySelector(`[data-bt-control="${id}"]`);
      return window.browserTest.boxes[box].changes > changes || !el.contains(document.activeElement)
        || panelFor(path).content.activeCellIndex !== cell;""")
    try:
        page.wait_for_function(done, arg=[path, box, control["id"], changes, before["activeCell"]],
                               timeout=60_000, polling="raf")
    except Exception as error:  # playwright's TimeoutError
        raise AssertionError(f"{control['label']}: no new figure within 60 s of {key}") from error
    now = page.evaluate(STATE, [path, control["id"]])
    assert now["activeCell"] == before["activeCell"], f"{control['label']}: {key} moved the active cell"
    assert now["focused"], f"{control['label']}: {key} took the focus away from the control"
    watch = page.evaluate(WATCH, box)
    settle(page, path, box, quiet)
    after = page.evaluate(STATE, [path, control["id"]])
    return before, after, (watch["shownAt"] - watch["inputAt"]) / 1000


def exercise_control(page, path: str, control: dict, notebook: str) -> Timing:
    """Move one control by keyboard (↑/↓ only): each press must change the control and its
    picture, and leave the notebook's active cell and scroll position alone. The presses are
    timed; then a quick burst must end on the same picture as slow presses to that value."""
    name = f"{control['label']} ({control['kind']})"
    timing = Timing(notebook, name)
    box = control["box"]
    assert page.evaluate(FOCUS, control["id"]), f"{name}: cannot be focused"
    quiet = 0.6  # seconds with the kernel idle and the picture unchanged before a press
    settle(page, path, box, quiet)
    state = page.evaluate(STATE, [path, control["id"]])
    if state["disabled"]:
        timing.burst = "disabled"
        return timing
    steps, forward, back = STEPS, "ArrowDown", "ArrowUp"
    if state["max"] is not None:  # a slider (↑ increases) or a dropdown (↓ goes down the list)
        up = "ArrowUp" if control["kind"] == "slider" else "ArrowDown"  # towards max
        down = "ArrowDown" if up == "ArrowUp" else "ArrowUp"
        room_up, room_down = ((state["max"] - state["value"]) / state["step"],
                              (state["value"] - state["min"]) / state["step"])  # in key presses
        steps = min(STEPS, int(max(room_up, room_down) + 1e-6))
        if steps == 0:
            timing.burst = "only one value"
            return timing
        forward, back = (up, down) if room_up >= room_down else (down, up)
    # the picture of each state of the box's controls: the same state must give the same picture
    picture = page.evaluate(IMAGE_HASH, box)
    pictures: dict[str, str] = {state["box"]: picture}
    deterministic = True
    for key in [forward] * steps + [back] * steps:
        before, after, seconds = press_and_time(page, path, control, key, quiet)
        quiet = max(quiet, 2 * seconds)
        timing.latencies.append(seconds)
        previous, picture = picture, page.evaluate(IMAGE_HASH, box)
        assert after["value"] != before["value"], f"{name}: {key} did not change the control"
        assert picture != previous, f"{name}: {key} changed the control but not its figure"
        assert after["activeCell"] == before["activeCell"], f"{name}: {key} moved the active cell"
        assert after["scroll"] == before["scroll"], f"{name}: {key} scrolled the notebook"
        assert after["top"] == before["top"], f"{name}: {key} moved the control on the page"
        deterministic &= pictures.setdefault(after["box"], picture) == picture
    # bursts: presses faster than the figure is drawn must end on the last state's picture;
    # forth and back, so the next control starts where this one found the box
    report = []
    for key in (forward, back):
        changes = page.evaluate(WATCH, box)["changes"]
        for _ in range(steps):
            page.keyboard.press(key)
        last_input = page.evaluate(WATCH, box)["inputAt"]
        watch = settle(page, path, box, quiet)
        after = page.evaluate(STATE, [path, control["id"]])
        report.append((watch["changes"] - changes, max(0.0, watch["shownAt"] - last_input) / 1000))
        if deterministic and after["box"] in pictures:
            assert page.evaluate(IMAGE_HASH, box) == pictures[after["box"]], (
                f"{name}: after a quick burst of presses the figure is not the last state's")
    timing.burst = (f"2x{steps} presses: " + "+".join(str(n) for n, _ in report) + " redraws, last "
                    + "/".join(f"{s:.2f}" for _, s in report) + " s after the last key")
    return timing


def drag_slider(page, path: str, control: dict, quiet: float) -> str:
    """Drag the handle with the mouse for about a second; report the redraws and the delay
    from release to the final picture."""
    handle = page.locator(f"[data-bt-control='{control['id']}']")
    track = handle.locator("xpath=ancestor::div[contains(@class, 'noUi-target')][1]")
    track_box, handle_box = track.bounding_box(), handle.bounding_box()
    if not track_box or not handle_box:
        return "not visible"
    box = control["box"]
    start = page.evaluate(STATE, [path, control["id"]])["value"]
    y = handle_box["y"] + handle_box["height"] / 2
    x0 = handle_box["x"] + handle_box["width"] / 2
    x1 = track_box["x"] + (0.1 if x0 > track_box["x"] + track_box["width"] / 2 else 0.9) * track_box["width"]
    changes = page.evaluate(WATCH, box)["changes"]
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 31):  # 30 moves, ~1 s
        page.mouse.move(x0 + (x1 - x0) * i / 30, y)
        time.sleep(0.03)
    released = page.evaluate("() => performance.now()")
    page.mouse.up()
    watch = settle(page, path, box, quiet)
    end = page.evaluate(STATE, [path, control["id"]])["value"]
    lag = max(0.0, watch["shownAt"] - released) / 1000
    return f"{start:.4g}→{end:.4g}: {watch['changes'] - changes} redraws, final {lag:.2f} s after release"


@pytest.mark.timeout(1800)  # Run All on a busy machine, then a dozen presses per control
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_every_control_responds(lab, browser, notebook):
    path = notebook.relative_to(NOTEBOOK_DIR).as_posix()
    page = browser.new_page(viewport={"width": 1280, "height": 720})  # a laptop, as in issue 6
    external, page_errors = [], []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else external.append(r.url))
    page.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else external.append(ws.url))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        RUN_ALL_SECONDS[notebook.stem] = run_all(page, lab, path)
        assert page.evaluate(CELL_ERRORS, path) == []
        assert page.get_by_text("Error displaying widget").count() == 0
        page.wait_for_function(WIDGETS_SHOWN, arg=path, timeout=60_000, polling=200)
        controls = page.evaluate(DISCOVER, path)
        timings = []
        for control in controls:
            timings.append(exercise_control(page, path, control, notebook.stem))
            TIMINGS.append(timings[-1])
        for control, timing in zip(controls, timings, strict=True):  # then drag each slider
            if control["kind"] == "slider":
                assert page.evaluate(FOCUS, control["id"])
                timing.drag = drag_slider(page, path, control, quiet=0.6)
        for natural, css, ratio in page.evaluate(PICTURE_PIXELS, path):
            assert natural == css * min(2, math.ceil(ratio)), (natural, css, ratio)
        assert external == [], f"requests left the machine: {external[:5]}"
        assert page_errors == [], f"JavaScript errors on the page: {page_errors[:3]}"
    finally:
        page.close()
        _shut_down_kernels(lab)


def latency_table(timings: list[Timing]) -> str:
    """The measurements as a table: one row per control."""
    rows = [("notebook", "control", "n", "median", "max", "burst of presses", "mouse drag")]
    for t in timings:
        n = len(t.latencies)
        med = f"{statistics.median(t.latencies):.2f} s" if n else "-"
        top = f"{max(t.latencies):.2f} s" if n else "-"
        rows.append((t.notebook, t.control, str(n), med, top, t.burst, t.drag or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    loads = [t.load for t in timings]
    lines.append(f"(load average of the machine meanwhile: {min(loads):.1f} to {max(loads):.1f} "
                 f"on {os.cpu_count()} cores; other work on it slows every figure)")
    return "\n".join(lines)


class _LatencyReport:
    """Prints the latency table in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter):
        if RUN_ALL_SECONDS:
            terminalreporter.section("Run All in JupyterLab (chromium on the same machine)")
            for name, seconds in RUN_ALL_SECONDS.items():
                terminalreporter.write_line(f"{name:40} {seconds:6.1f} s")
        if TIMINGS:
            terminalreporter.section("widget latency: key down to new figure on screen")
            terminalreporter.write_line(latency_table(TIMINGS))


@pytest.fixture(scope="module", autouse=True)
def _report_latency(request):
    if not request.config.pluginmanager.has_plugin("browser-latency-report"):
        request.config.pluginmanager.register(_LatencyReport(), "browser-latency-report")
    yield


@pytest.mark.timeout(300)
def test_a_lesson_plays_as_live_slides_with_rise(lab, browser):
    """jupyterlab-rise shows a lesson as a reveal.js deck inside JupyterLab, with its kernel,
    from the slide metadata the lessons carry (tools/slides.py), and asks nothing of the
    network."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    external, page_errors = [], []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else external.append(r.url))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        page.goto(f"{lab}/rise/04_masked_self_attention.ipynb?token={TOKEN}")
        page.wait_for_selector(".reveal .slides > section", timeout=120_000)
        slides = page.locator(".reveal .slides > section").count()
        assert slides >= 12  # the title, every ## section and each stopping point
        first = page.evaluate("document.querySelector('.reveal .slides section.present')"
                              ".innerText")
        assert "masked self-attention" in first.lower()  # (the theme sets headings in capitals)
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(1000)
        second = page.evaluate("document.querySelector('.reveal .slides section.present')"
                               ".innerText")
        assert second != first  # the deck moves
        assert external == [], f"requests left the machine: {external[:5]}"
        assert page_errors == [], f"JavaScript errors on the page: {page_errors[:3]}"
    finally:
        page.close()
        _shut_down_kernels(lab)


CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.timeout(900)
def test_a_chinese_lesson_runs_speaks_chinese_and_its_widget_responds(lab, browser):
    """The Chinese edition in JupyterLab: 04 runs top to bottom without an error, its prose,
    its diagram and its checks are in Chinese, no Chinese glyph is missing from the figures
    (matplotlib would warn on stderr), and its first control redraws its figure."""
    path = "zh/04_masked_self_attention.ipynb"
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    external, page_errors = [], []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else external.append(r.url))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        RUN_ALL_SECONDS["zh/" + Path(path).stem] = run_all(page, lab, path)
        assert page.evaluate(CELL_ERRORS, path) == []
        text = page.evaluate(_js("return panelFor(arg).content.node.innerText;"), path)
        assert "掩蔽自注意力" in text  # the title, rendered from the Chinese Markdown
        assert "练习 1：尚未作答" in text  # a check's verdict, in Chinese
        assert "missing from font" not in text  # no tofu: every glyph came from the shipped font
        images = page.evaluate(_js("return panelFor(arg).content.node.querySelectorAll("
                                   "'.jp-OutputArea-output img').length;"), path)
        assert images >= 5
        page.wait_for_function(WIDGETS_SHOWN, arg=path, timeout=60_000, polling=200)
        controls = page.evaluate(DISCOVER, path)
        assert controls, "the lesson's explorer has no control"
        control = controls[0]
        assert page.evaluate(FOCUS, control["id"])
        settle(page, path, control["box"], 1.0)
        picture = page.evaluate(IMAGE_HASH, control["box"])
        state = page.evaluate(STATE, [path, control["id"]])
        key = "ArrowUp" if state["max"] is None or state["value"] < state["max"] else "ArrowDown"
        if control["kind"] == "dropdown":
            key = "ArrowDown" if state["value"] < state["max"] else "ArrowUp"
        before, after, seconds = press_and_time(page, path, control, key, 1.0)
        assert after["value"] != before["value"]
        assert page.evaluate(IMAGE_HASH, control["box"]) != picture
        if os.environ.get("SCREENSHOTS"):  # for a person to look at: SCREENSHOTS=folder
            page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / "zh_04_widget.png"))
        assert external == [], f"requests left the machine: {external[:5]}"
        assert page_errors == [], f"JavaScript errors on the page: {page_errors[:3]}"
    finally:
        page.close()
        _shut_down_kernels(lab)
