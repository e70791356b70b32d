"""bertviz's head, model and neuron views in a real JupyterLab with no network: every view
draws its SVG, token text that looks like HTML is shown as text and its handlers never run,
two neuron views keep their own data, and no request leaves 127.0.0.1.

Runs notebook 11 and a small notebook of hostile tokens in JupyterLab under headless
Chromium, with the server and browser set-up of test_browser_lab.py. Needs Chromium and the
JavaScript fetched by `python tools/fetch_js_assets.py` (skipped with one line otherwise,
failed instead under REQUIRE_BROWSER_TESTS=1).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_browser_lab import (
    CELL_ERRORS,
    LOCAL,
    RUN_ALL_SECONDS,
    _require_browser,
    _shut_down_kernels,
    chromium,
    run_all,
    running_lab,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_11 = ROOT / "notebooks" / "11_looking_at_attention.ipynb"
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>",
           "\"><img src=y onerror=alert(3)>", "a", " ", "\n"]
HARMLESS_CONSOLE = ("Could not restore the debugger state", "Connection lost", "d3 version",
                    "[: ")

HOSTILE_CELLS = [
    "import torch\n"
    "from helpers import GPT, GPTConfig\n"
    "from helpers.viz.attention_views import head_view, model_view, neuron_view, load_assets\n"
    "assert load_assets() is not None, 'run python tools/fetch_js_assets.py'\n"
    f"tokens = {HOSTILE!r}\n"
    "torch.manual_seed(0)\n"
    "cfg = GPTConfig(vocab_size=6, n_positions=8, n_embd=12, n_layer=2, n_head=3)\n"
    "model = GPT(cfg).eval()\n"
    "idx = torch.arange(6)[None]\n"
    "_, attentions = model(idx, return_attention=True)",
    "head_view(attentions, tokens)",
    "model_view(attentions, tokens)",
    "neuron_view(model, idx, tokens, layer=0, head=0)",
    "neuron_view(model, idx, tokens, layer=1, head=2)",  # a second neuron view, other data
]

# every frame's state: does it have a drawn SVG, its texts, images, and its selected layer/head
FRAME_STATE = """() => ({
  svgText: document.querySelectorAll('svg text').length,
  texts: [...document.querySelectorAll('text')].map((t) => t.textContent),
  images: document.querySelectorAll('img, image').length,
  layer: document.querySelector('#layer')?.value ?? null,
  head: document.querySelector('#att_head')?.value ?? null,
})"""


def _notebook(cells: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}",
                       "metadata": {}, "outputs": [], "source": source}
                      for i, source in enumerate(cells)],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving notebook 11 and a notebook of hostile tokens."""
    _require_browser()
    from helpers.viz.attention_views import asset_dir, load_assets

    if load_assets() is None:
        message = f"jQuery and d3 are not in {asset_dir()}: run python tools/fetch_js_assets.py"
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("views")
    (tmp / "notebooks").mkdir()
    (tmp / "notebooks" / "hostile_tokens.ipynb").write_text(json.dumps(_notebook(HOSTILE_CELLS)))
    if NOTEBOOK_11.exists():
        shutil.copy(NOTEBOOK_11, tmp / "notebooks" / NOTEBOOK_11.name)
    with running_lab(tmp / "notebooks", tmp) as base:
        yield base


@pytest.fixture(scope="module")
def browser(lab):
    with chromium() as b:
        yield b


def run_and_collect_views(browser, lab: str, path: str) -> tuple[list[dict], dict]:
    """Run All on `path` with every non-loopback request blocked and recorded; returns each
    view's frame state and what the page did (requests, dialogs, console, errors)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    seen = {"external": [], "requests": [], "dialogs": [], "console": [], "errors": []}

    def on_request(request):
        seen["requests"].append(request.url)
        if not request.url.startswith(LOCAL):
            seen["external"].append(request.url)

    page.on("request", on_request)
    page.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else seen["external"].append(ws.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL)
               else route.abort())
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("console", lambda m: None if any(h in m.text for h in HARMLESS_CONSOLE)
            else seen["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    try:
        seconds = run_all(page, lab, path)
        if path == NOTEBOOK_11.name:  # the lesson's Run All, in test_browser_lab's summary
            RUN_ALL_SECONDS[NOTEBOOK_11.stem] = seconds
        assert page.evaluate(CELL_ERRORS, path) == [], "a cell raised"
        assert page.get_by_text("Error displaying widget").count() == 0
        frames = page.locator(".gpt2-attention-view iframe")
        page.wait_for_function(
            "() => document.querySelectorAll('.gpt2-attention-view iframe').length > 0",
            timeout=60_000)
        states = []
        for k in range(frames.count()):
            element = frames.nth(k)
            element.scroll_into_view_if_needed()
            frame = element.element_handle().content_frame()
            assert frame is not None, f"view {k} has no frame"
            frame.wait_for_function("() => document.querySelectorAll('svg text').length > 0",
                                    timeout=60_000)
            state = frame.evaluate(FRAME_STATE)
            state["kind"] = element.evaluate("(el) => el.parentElement.dataset.view")
            states.append(state)
        page.wait_for_timeout(500)  # an image's error handler would have fired by now
        return states, seen
    finally:
        page.close()
        _shut_down_kernels(lab)


def test_hostile_tokens_show_as_text_in_every_view_and_no_handler_runs(lab, browser):
    states, seen = run_and_collect_views(browser, lab, "hostile_tokens.ipynb")
    assert [s["kind"] for s in states] == ["head", "model", "neuron", "neuron"]
    for state in states:
        assert state["svgText"] > 0, f"the {state['kind']} view drew no SVG"
        assert state["images"] == 0, f"the {state['kind']} view made an image from a token"
    for state in (states[0], states[2]):  # the views that write the tokens out
        for token in HOSTILE[:3]:
            assert token in state["texts"], f"{token!r} is not shown as text"
    # each neuron view keeps its own data (stock bertviz shares one global)
    assert (states[2]["layer"], states[2]["head"]) == ("0", "0")
    assert (states[3]["layer"], states[3]["head"]) == ("1", "2")
    assert seen["dialogs"] == [] and not [c for c in seen["console"] if "alert" in c]
    assert not [u for u in seen["requests"] if u.rstrip("/").endswith(("/x", "/y"))]
    assert seen["external"] == [], f"requests left the machine: {seen['external'][:5]}"
    assert seen["errors"] == [], seen["errors"][:3]
    assert not [c for c in seen["console"] if c.startswith("error")], seen["console"][:3]


@pytest.mark.skipif(not NOTEBOOK_11.exists(), reason="notebook 11 is not written yet")
def test_notebook_11_draws_every_view_offline(lab, browser):
    states, seen = run_and_collect_views(browser, lab, NOTEBOOK_11.name)
    kinds = [s["kind"] for s in states]
    assert {"head", "model", "neuron"} <= set(kinds), kinds
    for state in states:
        assert state["svgText"] > 0, f"the {state['kind']} view drew no SVG"
        assert state["images"] == 0
    assert seen["external"] == [], f"requests left the machine: {seen['external'][:5]}"
    assert seen["dialogs"] == []
    assert seen["errors"] == [], seen["errors"][:3]
    assert not [c for c in seen["console"] if c.startswith("error")], seen["console"][:3]
