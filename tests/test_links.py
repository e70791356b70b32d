"""Every link in the notebooks and the README leads somewhere, and nothing that exists is
announced as "coming": a learner can follow the series from 00 to 12 by its links."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("notebooks/**/*.ipynb"))
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")  # markdown [text](target)


def markdown_of(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS + [ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve(path):
    text = markdown_of(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
    broken = [t for t in LINK.findall(text)
              if "://" not in t and not t.startswith("mailto:") and not (path.parent / t).exists()]
    assert not broken, f"{path.name} links to missing files: {broken}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_existing_notebook_is_announced_as_coming(path):
    existing = {p.name[:2] for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")}
    stale = [m.group(0) for m in re.finditer(r"[Nn]otebooks? (\d\d)[^.\n]{0,40}?\bcoming\b",
                                             markdown_of(path)) if m.group(1) in existing]
    stale += [m.group(0) for m in re.finditer(r"(\d\d)\b[^|\n]{0,60}\*\(coming\)\*",
                                              markdown_of(path)) if m.group(1) in existing]
    assert not stale, f"{path.name} calls existing notebooks 'coming': {stale}"


def test_the_map_in_00_links_every_notebook():
    text = markdown_of(ROOT / "notebooks/00_roadmap_and_setup.ipynb")
    missing = [p.name for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")
               if p.name[:2] != "00" and f"]({p.name})" not in text]
    assert not missing, f"00's map does not link {missing}"


# what a browser fetches by itself when it shows a page (images, scripts, frames, stylesheets,
# media), as opposed to links, fetched only when clicked
FETCHED = re.compile(
    r"!\[[^\]]*\]\(\s*(?:https?:)?//"  # a markdown image from another host
    r"|<(?:img|script|iframe|link|video|audio|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
    re.IGNORECASE)


def fetched_from_the_network(notebook: dict) -> list[str]:
    """What showing this notebook would make a browser fetch from another host."""
    found = []
    for cell in notebook["cells"]:
        texts = ["".join(cell["source"])] if cell["cell_type"] == "markdown" else []
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime in ("text/html", "text/markdown", "application/javascript", "image/svg+xml"):
                    texts.append("".join(data) if isinstance(data, list) else str(data))
        found += [m.group(0) for text in texts for m in FETCHED.finditer(text)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_nothing_a_notebook_shows_is_fetched_from_the_network(path):
    """The course works offline: no image, script, frame or stylesheet in a notebook's markdown
    or stored outputs comes from another host. (The browser tests also watch every request of
    the notebooks they open in JupyterLab; this covers every notebook, without a browser.)"""
    found = fetched_from_the_network(json.loads(path.read_text(encoding="utf-8")))
    assert not found, f"{path.name} makes the browser fetch from the network: {found[:3]}"


def test_fetched_from_the_network_finds_images_scripts_and_stylesheets():
    def notebook(markdown="", html=""):
        return {"cells": [{"cell_type": "markdown", "source": [markdown]},
                          {"cell_type": "code", "source": [], "outputs": [
                              {"output_type": "display_data", "data": {"text/html": [html]}}]}]}

    assert fetched_from_the_network(notebook("![a map](https://example.org/map.png)"))
    assert fetched_from_the_network(notebook(html='<script src="//cdn.example.org/x.js"></script>'))
    assert fetched_from_the_network(notebook(html="<link rel=stylesheet href='https://e.org/a.css'>"))
    assert not fetched_from_the_network(notebook("[a paper](https://arxiv.org/abs/1706.03762)"))
    assert not fetched_from_the_network(notebook("![local](../docs/images/x.png)",
                                                 '<img src="data:image/png;base64,AAAA">'))
