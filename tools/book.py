"""The executed series as a static HTML book that works offline: `make book` -> build/book/.

Every lesson, every worked solution, the README and the teacher's guide become pages, from the
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
    """(source notebook, page path relative to the book) for every lesson and solution."""
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    solutions = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    return ([(p, f"{p.stem}.html") for p in lessons]
            + [(p, f"solutions/{p.stem}.html") for p in solutions])


def title(path: Path) -> str:
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    line = "".join(first["source"]).splitlines()[0]
    return line.lstrip("# ").strip()


def sections(path: Path) -> list[tuple[str, str]]:
    """(heading, text) of each ## section of a notebook, markdown and code, for the search."""
    found: list[tuple[str, str]] = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## "):
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
    page_html = re.sub(r'href="((?:\.\./)?(?:solutions/)?\d\d_[A-Za-z0-9_]+)\.ipynb',
                       r'href="\1.html', page_html)
    page_html = re.sub(r'href="(?:\.\./)+README\.md', f'href="{up}readme.html', page_html)
    page_html = re.sub(r'href="(?:\.\./)*docs/teachers_guide\.md',
                       f'href="{up}teachers_guide.html', page_html)
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
    body = re.sub(r'href="(?:\.\./)?notebooks/((?:solutions/)?\d\d_[A-Za-z0-9_]+)\.ipynb',
                  r'href="\1.html', body)
    body = relink(body, depth)
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
    _write_index(out, listed, found)
    _write_search(out, entries)
    return written


def _write_index(out: Path, listed: list[tuple[Path, str, str]],
                 found: dict[Path, list[tuple[str, str]]]) -> None:
    items = []
    for path, target, name in listed:
        if target.startswith("solutions/"):
            continue
        heads = "".join(f'<li><a href="{target}#{html.escape(anchor(h))}">{html.escape(h)}</a></li>'
                        for h, _ in found[path] if not h.startswith(("Set-up", "Next")))
        items.append(f'<li><a href="{target}"><b>{html.escape(name)}</b></a><ul>{heads}</ul></li>')
    solutions = "".join(f'<li><a href="{t}">{html.escape(n)}</a></li>'
                        for _, t, n in listed if t.startswith("solutions/"))
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>GPT-2, step by step</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:900px;margin:auto;padding:0 16px}"
        "li ul{font-size:14px}</style><h1>GPT-2, step by step</h1>"
        "<p>The executed series, offline. <a href='search.html'>Search</a> · "
        "<a href='readme.html'>README</a> · <a href='teachers_guide.html'>Teacher's guide</a></p>"
        f"<h2>Lessons</h2><ol start='0'>{''.join(items)}</ol>"
        f"<h2>Worked solutions</h2><ul>{solutions}</ul>\n", encoding="utf-8")


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
