"""The executed series as a static HTML book that works offline: `make book` -> build/book/.

Every lesson, every worked solution, the README and the teacher's guide, in English and in the
Chinese edition (zh/ in the book, as notebooks/zh/ in the repository), become pages, from the
stored outputs (nothing is re-executed), with nbconvert's JupyterLab HTML export. Pages link to
each other as pages, maths is typeset by a local MathJax, code cells have a copy button, widgets
show as the static twin beside them, and a search page looks through every section, all with
no network: MathJax and require.js come from the npm tarballs that `make slides` uses
(fetched once into the git-ignored .cache/js). Open build/book/index.html.

    python tools/book.py [--out DIR]
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slides  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "book"
TEMPLATES = Path(__file__).resolve().parent / "templates"
MATHJAX = "mathjax-2.7.7/MathJax.js?config=TeX-AMS_CHTML-full,Safe"


def pages() -> list[tuple[Path, str]]:
    """(source notebook, page path relative to the book) for every lesson and solution, the
    English edition's, then the Chinese edition's under zh/."""
    found = []
    for edition in ("", "zh/"):
        lessons = sorted((ROOT / "notebooks" / edition).glob("[0-9][0-9]_*.ipynb"))
        solutions = sorted((ROOT / "notebooks" / edition / "solutions").glob("*.ipynb"))
        found += ([(p, f"{edition}{p.stem}.html") for p in lessons]
                  + [(p, f"{edition}solutions/{p.stem}.html") for p in solutions])
    return found


def title(path: Path) -> str:
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    line = "".join(first["source"]).splitlines()[0]
    return line.lstrip("# ").strip()


def sections(path: Path) -> list[tuple[str, str]]:
    """(heading, text) of each ## section of a notebook, markdown and code, for the search."""
    found: list[tuple[str, str]] = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## "):  # (and ## in Chinese)
            found.append((text.splitlines()[0][3:].strip(), ""))
        if found:
            heading, body = found[-1]
            found[-1] = (heading, body + "\n" + text)
    return found


def anchor(heading: str) -> str:
    """The id nbconvert gives a heading: its text with spaces as hyphens."""
    return heading.replace(" ", "-")


def relink(page_html: str, depth: int) -> str:
    """Links between notebooks go to their pages; links to the README or the guide to theirs."""
    up = "../" * depth
    page_html = re.sub(r'href="((?:\.\./)?(?:zh/)?(?:solutions/)?\d\d_[A-Za-z0-9_]+)\.ipynb',
                       r'href="\1.html', page_html)
    page_html = re.sub(r'href="(?:\.\./)+README(\.zh)?\.md', f'href="{up}readme\\1.html', page_html)
    page_html = re.sub(r'href="(?:\.\./)*docs/teachers_guide(\.zh)?\.md',
                       f'href="{up}teachers_guide\\1.html', page_html)
    return page_html


def bar(depth: int, prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> str:
    up = "../" * depth
    links = [f'<a href="{up}index.html">Contents</a>', f'<a href="{up}search.html">Search</a>']
    if prev:
        links.append(f'<a href="{up}{prev[0]}">← {html.escape(prev[1])}</a>')
    if nxt:
        links.append(f'<a href="{up}{nxt[0]}">{html.escape(nxt[1])} →</a>')
    return " ".join(links)


def markdown_page(source: Path, depth: int, heading: str) -> str:
    """README.md or the teacher's guide as a page of the book (mistune, nbconvert's renderer)."""
    import mistune

    body = mistune.html(source.read_text(encoding="utf-8"))
    body = re.sub(r'href="(?:\.\./)?notebooks/((?:zh/)?(?:solutions/)?\d\d_[A-Za-z0-9_]+)\.ipynb',
                  r'href="\1.html', body)
    body = re.sub(r'href="(README|teachers_guide)(\.zh)?\.md', lambda m: f'href="{m.group(1).lower()}'
                  f'{m.group(2) or ""}.html', body)
    body = relink(body, depth)
    body = body.replace('src="docs/images/', f'src="{"../" * depth}_static/images/')  # copied there
    # other files of the repository (benchmarks/README.md, ...): read where the book was built
    body = re.sub(r'href="(?!https?:|#|\.\./)([^"]+\.(?:md|py|txt|yml|toml))"',
                  lambda m: f'href="{"../" * (depth + 2)}{m.group(1)}"', body)
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(heading)}</title>"
            f"<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:900px;margin:auto;"
            f"padding:0 16px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
            f"padding:2px 6px}}</style><nav><a href='index.html'>Contents</a> · "
            f"<a href='search.html'>Search</a></nav>{body}\n")


@functools.cache
def page_exporter(depth: int):
    """nbconvert's JupyterLab HTML exporter for a page `depth` folders below the book's root,
    every script from the book's _static (one exporter per depth, shared by its pages)."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    up = "../" * depth
    config = Config()
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.HTMLExporter.template_name = "offline_book"
    config.HTMLExporter.mathjax_url = f"{up}_static/{MATHJAX}"
    config.HTMLExporter.require_js_url = f"{up}_static/requirejs-2.3.7/require.js"
    return HTMLExporter(config=config)


def build(out: Path = OUT) -> list[Path]:
    """The book in `out`; returns the notebook pages written."""
    import nbformat

    static = out / "_static"
    for bundle in slides.BUNDLES:
        if bundle.package != "reveal.js":
            shutil.copytree(slides.fetch_bundle(bundle), static / bundle.folder,
                            dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
    shutil.copytree(ROOT / "helpers" / "viz" / "fonts", static / "fonts", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))  # the CJK font, OFL.txt
    shutil.copytree(ROOT / "docs" / "images", static / "images", dirs_exist_ok=True)  # README's
    listed = [(p, t, title(p)) for p, t in pages()]
    found = {p: sections(p) for p, _, _ in listed}  # each notebook read once more, not twice
    written, entries = [], []
    for k, (path, target, name) in enumerate(listed):
        depth = target.count("/")
        prev = (listed[k - 1][1], listed[k - 1][2]) if k else None
        nxt = (listed[k + 1][1], listed[k + 1][2]) if k + 1 < len(listed) else None
        node = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        page_html, _ = page_exporter(depth).from_notebook_node(
            node, resources={"metadata": {"name": name}, "book_bar": bar(depth, prev, nxt)})
        page = out / target
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(relink(page_html, depth), encoding="utf-8")
        written.append(page)
        for heading, text in found[path]:
            words = " ".join(re.sub(r"[#*`>|\[\]()]", " ", text).split())
            entries.append({"page": target, "title": name, "heading": heading,
                            "anchor": anchor(heading), "text": words[:4000]})
    (out / "readme.html").write_text(markdown_page(ROOT / "README.md", 0, "README"),
                                     encoding="utf-8")
    (out / "teachers_guide.html").write_text(
        markdown_page(ROOT / "docs" / "teachers_guide.md", 0, "Teacher's guide").replace(
            'href="../notebooks/', 'href="'), encoding="utf-8")
    if (ROOT / "README.zh.md").exists():
        (out / "readme.zh.html").write_text(markdown_page(ROOT / "README.zh.md", 0, "README（中文版）"),
                                            encoding="utf-8")
    if (ROOT / "docs" / "teachers_guide.zh.md").exists():
        (out / "teachers_guide.zh.html").write_text(
            markdown_page(ROOT / "docs" / "teachers_guide.zh.md", 0, "教师指南").replace(
                'href="../notebooks/', 'href="'), encoding="utf-8")
    for path, target, _ in listed:
        if "solutions/" not in target:
            summary = out / target.replace(path.name.removesuffix(".ipynb"), f"summaries/{path.stem}")
            summary.parent.mkdir(parents=True, exist_ok=True)
            summary.write_text(summary_page(path, "../" * summary.relative_to(out).as_posix().count("/")),
                               encoding="utf-8")
    _write_index(out, listed, found)
    _write_search(out, entries)
    return written


# --- one printable page per lesson -----------------------------------------------------------

SUMMARY_WORDS = {
    "en": {"goals": "**In this notebook you will**", "summary": "## Summary",
           "box": "Common misconception", "title": "one-page summary", "lesson": "the lesson"},
    "zh": {"goals": "**本课你将**", "summary": "## 小结", "box": "常见误解", "title": "一页小结",
           "lesson": "完整的一课"},
}
CJK, CJK_FILE = "Noto Sans CJK SC Subset", "NotoSansCJKsc-Subset.otf"  # helpers/viz/fonts
MINUTES_LINE = re.compile(r"^\*[^*\n]*(min|分钟)[^*\n]*\*\s*$", re.M)


def summary_page(path: Path, up: str = "../") -> str:
    """A lesson on one printed A4 page: its goals, its summary, the misconceptions it corrects
    and its schematic diagram, from the notebook itself (Chromium's print makes the PDF).
    Chinese is set in the font the project ships (`up`: the way to the book's _static)."""
    import base64

    import mistune

    edition = "zh" if path.parent.name == "zh" else "en"
    words = SUMMARY_WORDS[edition]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    goals = first.split(words["goals"], 1)[1].split("\n\n", 1)[0] if words["goals"] in first else ""
    summary, boxes, figure = "", [], ""
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith(words["summary"]):
            summary = MINUTES_LINE.sub("", text.split("\n", 1)[1]).strip()
        if cell["cell_type"] == "markdown" and f"**{words['box']}" in text:
            for para in text.split("\n\n"):
                if para.startswith(f"> **{words['box']}"):
                    boxes.append(re.sub(r"(?m)^> ?", "", para))
        if not figure and cell["cell_type"] == "code" and "diagram_" in text:
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                if png:
                    figure = f"<img alt='' src='data:image/png;base64,{''.join(png).strip()}'>"
                    base64.b64decode("".join(png))  # a PNG, or this raises
                    break
    title = first.splitlines()[0].lstrip("# ").strip()
    # Chinese first: a browser asks the fonts in order, and a system font may claim CJK glyphs
    # it cannot draw (boxes); the shipped subset has no Latin of its own beyond its punctuation
    fonts = f"'{CJK}',system-ui,sans-serif" if edition == "zh" else "system-ui,sans-serif"
    def printed(markdown: str) -> str:  # on paper a link is its text
        return mistune.html(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown))

    body = (f"<h1>{html.escape(title)} · {words['title']}</h1>{printed(goals)}{figure}"
            f"{printed(summary)}" + "".join(f"<aside>{printed(b)}</aside>" for b in boxes))
    return ("<!doctype html><meta charset='utf-8'>"
            f"<title>{html.escape(title)} · {words['title']}</title><style>"
            f"@font-face{{font-family:'{CJK}';src:url('{up}_static/fonts/{CJK_FILE}')}}"
            f"@page{{size:A4;margin:11mm}}body{{font:10pt/1.35 {fonts};max-width:190mm;"
            "margin:auto}h1{font-size:15pt;margin:0 0 4pt}ul{margin:2pt 0;padding-left:16pt}"
            "li{margin:1pt 0}p{margin:3pt 0}img{display:block;max-width:100%;max-height:62mm;"
            "margin:4pt auto}aside{border-left:3pt solid #c4660a;padding:0 6pt;margin:5pt 0;"
            "font-size:9pt}code{font-size:9pt}</style>" + body + "\n")


def _write_index(out: Path, listed: list[tuple[Path, str, str]],
                 found: dict[Path, list[tuple[str, str]]]) -> None:
    items, items_zh = [], []
    for path, target, name in listed:
        if "solutions/" in target:
            continue
        heads = "".join(f'<li><a href="{target}#{html.escape(anchor(h))}">{html.escape(h)}</a></li>'
                        for h, _ in found[path] if not h.startswith(("Set-up", "Next", "准备工作", "下一课")))
        page = target.replace(path.stem, f"summaries/{path.stem}")
        one_page = "一页小结" if target.startswith("zh/") else "one-page summary"
        (items_zh if target.startswith("zh/") else items).append(
            f'<li><a href="{target}"><b>{html.escape(name)}</b></a> · <a href="{page}">{one_page}'
            f'</a><ul>{heads}</ul></li>')
    solutions = "".join(f'<li><a href="{t}">{html.escape(n)}</a></li>'
                        for _, t, n in listed if t.startswith("solutions/"))
    solutions_zh = "".join(f'<li><a href="{t}">{html.escape(n)}</a></li>'
                           for _, t, n in listed if t.startswith("zh/solutions/"))
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>GPT-2, step by step</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:900px;margin:auto;padding:0 16px}"
        "li ul{font-size:14px}</style><h1>GPT-2, step by step</h1>"
        "<p>The executed series, offline. <a href='search.html'>Search</a> · "
        "<a href='readme.html'>README</a> · <a href='teachers_guide.html'>Teacher's guide</a></p>"
        f"<h2>Lessons</h2><ol start='0'>{''.join(items)}</ol>"
        f"<h2>Worked solutions</h2><ul>{solutions}</ul>"
        + (f"<h2 id='zh'>中文版</h2><p><a href='readme.zh.html'>README（中文版）</a> · "
           f"<a href='teachers_guide.zh.html'>教师指南</a> · <a href='search.html'>搜索</a></p>"
           f"<h3>课程</h3><ol start='0'>{''.join(items_zh)}</ol>"
           f"<h3>参考解答</h3><ul>{solutions_zh}</ul>" if items_zh else "") + "\n",
        encoding="utf-8")


def _write_search(out: Path, entries: list[dict]) -> None:
    """A page that searches every section, its index inlined (a file:// page cannot fetch)."""
    index = json.dumps(entries, ensure_ascii=False).replace("</", "<\\/")
    (out / "search.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Search · GPT-2, step by step</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:900px;margin:auto;padding:0 16px}"
        "input{font-size:18px;width:100%;padding:6px}li{margin:6px 0}small{color:#555}</style>"
        "<p><a href='index.html'>Contents</a></p><h1>Search</h1>"
        "<input id='q' placeholder='a word or two: causal mask, top-p, KV cache' autofocus>"
        "<ol id='hits'></ol><script>const SECTIONS = " + index + ";\n"
        "const q = document.getElementById('q'), hits = document.getElementById('hits');\n"
        "function show() {\n"
        "  const words = q.value.toLowerCase().split(/\\s+/).filter(Boolean);\n"
        "  hits.replaceChildren();\n"
        "  if (!words.length) return;\n"
        "  const found = SECTIONS.map(s => [s, words.reduce((n, w) => n +"
        " (s.heading.toLowerCase().includes(w) ? 5 : 0) + (s.text.toLowerCase().split(w).length - 1),"
        " 0), words.every(w => (s.heading + ' ' + s.text).toLowerCase().includes(w))])\n"
        "    .filter(x => x[2]).sort((a, b) => b[1] - a[1]).slice(0, 30);\n"
        "  for (const [s] of found) {\n"
        "    const li = document.createElement('li'), a = document.createElement('a');\n"
        "    a.href = s.page + '#' + s.anchor; a.textContent = s.heading;\n"
        "    const small = document.createElement('small'); small.textContent = ' · ' + s.title;\n"
        "    li.append(a, small); hits.append(li);\n"
        "  }\n"
        "}\n"
        "q.addEventListener('input', show); q.value = new URLSearchParams(location.search).get('q')"
        " || ''; show();</script>\n", encoding="utf-8")


if __name__ == "__main__":
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else OUT
    written = build(out)
    print(f"{len(written)} notebook pages, the README, the teacher's guide, contents and search "
          f"in {out}")
