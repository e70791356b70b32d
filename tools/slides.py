"""The lessons as reveal.js slide decks, from the same notebooks, offline.

Slide metadata lives in the notebooks themselves (`metadata.slideshow.slide_type`), so one file
is a lesson in JupyterLab, a live deck with jupyterlab-rise, and an HTML deck: `set_slides`
writes it by one rule, and a test keeps it current. `build` exports every lesson's stored
outputs (nothing is re-executed) with nbconvert into build/slides/, with reveal.js, require.js,
jQuery and MathJax copied beside the decks from npm tarballs fetched once into .cache/js/ (the
same git-ignored folder as bertviz's JavaScript): no page asks a CDN. Each section gets speaker
notes made from the lesson itself: its minutes, the controls to move and what to say while they
move (a cell's `metadata.teacher.say`), the answer to its Predict-first prompt
(`metadata.teacher.answer`: in the lesson file, not shown to a learner), its misconception box.

    python tools/slides.py            # write the slide metadata into the lessons
    python tools/slides.py --check    # exit 1 if a lesson's slide metadata is out of date
    python tools/slides.py --build    # the decks, in build/slides/ (make slides)
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch_js_assets  # noqa: E402
from lesson_minutes import MINUTES, STOP, lessons  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "js"
OUT = ROOT / "build" / "slides"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Bundle:
    """The files a deck needs from one npm package (members under the tarball's package/)."""

    package: str
    version: str
    integrity: str  # the tarball's sha512, as the registry publishes it
    members: tuple[str, ...]  # path prefixes inside package/

    @property
    def folder(self) -> str:
        return f"{self.package}-{self.version}"


BUNDLES = (
    Bundle("reveal.js", "4.0.2",
           "sha512-LWZSUenufF1gpD7npxJ7KfoQQFKgc1D6XrLTFgKlwWNP1BQ74hT48KONFWMAw+8R/QUeaScCLCLrBVHDfFIEiw==",
           ("dist/reveal.js", "dist/reveal.css", "dist/theme/white.css", "dist/theme/fonts/",
            "plugin/notes/", "LICENSE")),
    Bundle("requirejs", "2.3.7",
           "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
           ("require.js", "LICENSE")),
    Bundle("mathjax", "2.7.7",
           "sha512-OOl0B2/0tSJAtAZarXnQuLDBLgTNRqiI9VqHTQzPsxf4okT2iIpDrvaklK9x2QEMD1sDj4yRn11Ygci41DxMAQ==",
           ("MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions/",
            "jax/input/TeX/", "jax/output/CommonHTML/", "jax/element/", "LICENSE")),
)


# --- slide metadata ---------------------------------------------------------------------


PREDICT_FIRST = "**Predict first.**"  # a prompt whose answer is the next cell's output


def slide_type(cell: dict, previous: dict | None, in_setup: bool) -> str:
    """One rule for every lesson: a section (## or a stopping point) starts a slide, a ###
    subsection or prose after code a sub-slide; code stays with the prose or silent code before it, and
    after a Predict-first prompt appears on the next key press (a fragment), so the answer is
    not on the screen with the question; the set-up (imports) is skipped."""
    text = "".join(cell["source"])
    if in_setup:
        return "skip"
    if cell["cell_type"] == "markdown":
        if previous is None or text.startswith(("# ", "## ", STOP)):
            return "slide"
        if text.startswith("### ") or (previous and previous["cell_type"] == "code"):
            return "subslide"
        return "-"
    if previous and previous["cell_type"] == "markdown" and \
            "".join(previous["source"]).strip().split("\n\n")[-1].startswith(PREDICT_FIRST):
        return "fragment"  # the class guesses first: the cell and its output come on the next key
    # after an output, a new sub-slide; after code that shows nothing (an exercise's answer
    # cell), the same one, so that a check stays with the answer it checks
    return "subslide" if previous and previous["cell_type"] == "code" and previous.get("outputs") \
        else "-"


# jupyterlab-rise's settings, keys in the order nbformat writes them: a theme whose font ships
# with reveal.js ("simple", the default, loads Google Fonts), and tall slides scroll
RISE = {"scroll": True, "theme": "white"}


def set_slides(nb: dict) -> dict:
    nb.setdefault("metadata", {})["rise"] = dict(RISE)
    previous, in_setup = None, False
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## "):
            in_setup = text.startswith("## Set-up")
        cell.setdefault("metadata", {})["slideshow"] = {
            "slide_type": slide_type(cell, previous, in_setup)}
        previous = cell
    return nb


def main_metadata(check: bool) -> int:
    stale = []
    for path in lessons():
        before = path.read_text(encoding="utf-8")
        after = json.dumps(set_slides(json.loads(before)), indent=1, ensure_ascii=False) + "\n"
        if after != before:
            stale.append(path.name)
            if not check:
                path.write_text(after, encoding="utf-8")
    if check and stale:
        print("slide metadata out of date (run python tools/slides.py):", ", ".join(stale))
        return 1
    return 0


# --- speaker notes, made from the lesson at build time ---------------------------------------


# the notes' words in each edition; the Chinese lessons' headings and boxes are found by theirs
NOTE_WORDS = {
    "en": {"minutes": MINUTES, "live": "Live: run the explorer and move {controls} while the class "
           "predicts what changes.", "say": "Say while it moves: ", "predict": "Predict first",
           "ask": "Ask for guesses before running the next cell (Predict first).",
           "answer": " The answer: ", "box": "Common misconception",
           "corrected": "Misconception corrected here: ", "sep": ", ", "end": "."},
    "zh": {"minutes": re.compile(r"^\*(选学 · )?(全部练习)?约 \d+ 分钟[^*\n]*\*\n\n?", re.M),
           "live": "现场演示：运行探索器，移动 {controls}，先让大家预测会发生什么变化。",
           "say": "移动时讲：", "predict": "先预测",
           "ask": "运行下一个单元格之前，先请大家猜一猜（先预测）。",
           "answer": "答案：", "box": "常见误解", "corrected": "这里纠正的误解：", "sep": "、",
           "end": "。"},
}


def section_notes(cells: list[dict], edition: str = "en") -> str:
    """Notes for one section: its minutes, the controls of its explorer, its misconceptions."""
    words = NOTE_WORDS[edition]
    text = "\n".join("".join(c["source"]) for c in cells)
    notes = []
    minutes = words["minutes"].search(text)
    if minutes:
        notes.append(minutes.group(0).strip().strip("*"))
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "show_interactive(" in source:
            controls = [keyword.arg for node in ast.walk(ast.parse(source))
                        if isinstance(node, ast.Call) and getattr(node.func, "id", "")
                        == "show_interactive" for keyword in node.keywords]
            notes.append(words["live"].format(controls=words["sep"].join(f"`{c}`" for c in controls)))
        teacher = cell.get("metadata", {}).get("teacher", {})  # kept in the lesson, not shown
        if "say" in teacher:
            notes.append(words["say"] + teacher["say"])
        if cell["cell_type"] == "markdown" and words["predict"] in source:
            notes.append(words["ask"]
                         + (words["answer"] + teacher["answer"] if "answer" in teacher else ""))
    # a box is a block quote: its lines alone, so that prose naming the boxes is not one
    unquoted = "\n".join(re.sub(r"^> ?", "", line) for line in text.splitlines()
                         if line.startswith(">"))
    end = re.escape(words["end"])
    for box in re.finditer(r"\*\*" + words["box"] + r"[^*]*\*\*\s*(.+?" + end + r")(\s|$|(?<=。))",
                           unquoted, re.S):  # every misconception box of the section
        sentence = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", box.group(1))  # links: their text
        notes.append(words["corrected"] + " ".join(sentence.split()))
    return "\n\n".join(notes)


def with_notes(nb: dict, edition: str = "en") -> dict:
    """A copy of the notebook with a speaker-notes cell after each section's first cell."""
    nb = copy.deepcopy(nb)
    starts = [i for i, c in enumerate(nb["cells"])
              if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## ")]
    for start, end in reversed(list(zip(starts, starts[1:] + [len(nb["cells"])], strict=True))):
        notes = section_notes(nb["cells"][start:end], edition)
        if notes:
            nb["cells"].insert(start + 1, {"cell_type": "markdown", "id": f"notes-{start}",
                                           "metadata": {"slideshow": {"slide_type": "notes"}},
                                           "source": notes.splitlines(keepends=True)})
    return nb


# --- the decks ---------------------------------------------------------------------------


def fetch_bundle(bundle: Bundle, dest: Path = CACHE) -> Path:
    """Unpack `bundle`'s members into dest/<package>-<version>/, once, checked against the
    pinned integrity hash; returns that folder."""
    folder = dest / bundle.folder
    if (folder / ".complete").exists():
        return folder
    meta = json.loads(fetch_js_assets._get(
        f"{fetch_js_assets.DEFAULT_REGISTRY}/{bundle.package}/{bundle.version}", 60))
    tarball = fetch_js_assets._get(meta["dist"]["tarball"], 300)
    if fetch_js_assets.sri(tarball) != bundle.integrity:
        raise fetch_js_assets.FetchError(f"{bundle.package}@{bundle.version}: the tarball does "
                                         "not match its pinned integrity hash")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if member.isfile() and name.startswith(bundle.members) and ".." not in name:
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    (folder / ".complete").write_text("")
    return folder


def deck_exporter(up: str = ""):
    """nbconvert's reveal.js exporter, every script and style sheet from the deck's _static
    (`up` = "../" for a deck one folder below it, as the Chinese edition's in zh/)."""
    from nbconvert.exporters import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.SlidesExporter.template_name = "offline_reveal"
    config.SlidesExporter.reveal_url_prefix = f"{up}_static/reveal.js-4.0.2"
    config.SlidesExporter.require_js_url = f"{up}_static/requirejs-2.3.7/require.js"
    config.SlidesExporter.jquery_url = f"{up}_static/{fetch_js_assets.ASSETS[0].filename}"
    config.SlidesExporter.mathjax_url = (
        f"{up}_static/mathjax-2.7.7/MathJax.js?config=TeX-AMS_CHTML-full,Safe")
    config.SlidesExporter.reveal_scroll = True  # a tall output scrolls inside its slide
    config.SlidesExporter.reveal_theme = "white"  # its font ships with reveal.js ("simple"'s
    # comes from Google Fonts)
    return SlidesExporter(config=config)


def deck_html(path: Path, exporter=None) -> str:
    """One lesson's deck from its stored outputs, with speaker notes; links to other lessons
    point to their decks. A Chinese lesson (notebooks/zh/) keeps the slide metadata its
    English lesson gave it (tools/zh_edition.py copies it) and gets Chinese notes."""
    import nbformat

    nb = json.loads(path.read_text(encoding="utf-8"))
    edition = "zh" if path.parent.name == "zh" else "en"
    nb = with_notes(set_slides(nb) if edition == "en" else nb, edition)
    node = nbformat.reads(json.dumps(nb), as_version=4)  # sources as strings
    html, _ = (exporter or deck_exporter()).from_notebook_node(
        node, resources={"metadata": {"name": path.stem}})
    return re.sub(r'href="(\d\d_[a-z0-9_]+)\.ipynb', r'href="\1.slides.html', html)


def build(out: Path = OUT) -> list[Path]:
    """Every lesson as an offline reveal.js deck in `out`, with an index page; returns the
    decks' paths."""
    static = out / "_static"
    for bundle in BUNDLES:
        source = fetch_bundle(bundle)
        shutil.copytree(source, static / bundle.folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".complete"))
    if not fetch_js_assets.is_present(fetch_js_assets.ASSETS[0], CACHE):
        fetch_js_assets.fetch(fetch_js_assets.ASSETS[0], CACHE)
    jquery = fetch_js_assets.ASSETS[0].filename
    shutil.copy2(CACHE / jquery, static / jquery)

    decks, lists = [], {}
    for folder, up in (("", ""), ("zh/", "../")):
        exporter = deck_exporter(up)
        for path in sorted((ROOT / "notebooks" / folder).glob("[0-9][0-9]_*.ipynb")):
            deck = out / folder / f"{path.stem}.slides.html"
            deck.parent.mkdir(parents=True, exist_ok=True)
            deck.write_text(deck_html(path, exporter), encoding="utf-8")
            decks.append(deck)
            name = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"][0]
            lists.setdefault(folder, []).append(
                f'<li><a href="{folder}{deck.name}">{name.lstrip("# ").strip()}</a></li>')
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>GPT-2, step by step: slides</title>"
        "<h1>GPT-2, step by step: slides</h1><p>Arrow keys move between slides, S opens the "
        f"speaker notes, F goes full screen.</p><ul>{''.join(lists.get('', []))}</ul>"
        f"<h2>中文版</h2><p>方向键翻页，S 打开演讲者备注，F 全屏。</p>"
        f"<ul>{''.join(lists.get('zh/', []))}</ul>\n", encoding="utf-8")
    return decks


if __name__ == "__main__":
    if "--build" in sys.argv:
        print(f"{len(build())} decks in {OUT.relative_to(ROOT)}/")
        sys.exit(0)
    sys.exit(main_metadata(check="--check" in sys.argv))
