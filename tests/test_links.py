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
