"""The offline book (tools/book.py, `make book`): every page, links that resolve, no network.

Building it needs the npm tarballs of MathJax and require.js (fetched once into .cache/js, as
`make slides` does); the test builds into a temporary folder and reads what came out."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import book  # noqa: E402
import slides  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    try:
        for bundle in slides.BUNDLES:
            slides.fetch_bundle(bundle)
    except Exception as e:  # noqa: BLE001  (no registry: say so)
        pytest.fail(f"the book's JavaScript could not be fetched from the npm registry: {e}")
    out = tmp_path_factory.mktemp("book")
    return out, book.build(out)


def test_every_notebook_is_a_page_and_the_contents_list_the_lessons(built):
    out, written = built
    assert len(written) == 52  # 13 lessons and 13 worked solutions, in English and in Chinese
    assert len([p for p in written if p.relative_to(out).parts[0] == "zh"]) == 26
    index = (out / "index.html").read_text()
    assert all(f'href="{p.relative_to(out).as_posix()}"' in index for p in written)
    assert "Three stages: scores → masked → weights" in index  # sections listed too
    assert "掩蔽自注意力" in index and "readme.zh.html" in index and "teachers_guide.zh.html" in index


def _longest_summary(out: Path, folder: str) -> Path:
    return max((out / folder).glob("summaries/*.html"), key=lambda p: len(re.sub(
        r"data:image/png;base64,[^']+", "", p.read_text())))


def test_each_lesson_has_a_one_page_summary_that_prints_on_one_page(built, tmp_path):
    out, _ = built
    for folder, box in (("", "Common misconception"), ("zh", "常见误解")):
        pages = sorted((out / folder).glob("summaries/*.html"))
        assert len(pages) == 13
        four = (out / folder / "summaries" / "04_masked_self_attention.html").read_text()
        assert "−∞" in four and box in four and "<img" in four  # summary, boxes, the diagram
        assert all(p.read_text().count("<li>") >= 6 for p in pages)  # goals and summary
    chromium = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        pytest.skip("no chromium to print with")
    for folder in ("", "zh"):  # the longest page of each edition fits on one sheet of A4
        page, pdf = _longest_summary(out, folder), tmp_path / f"{folder or 'en'}.pdf"
        subprocess.run([str(chromium), "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) == 1, page.name


def test_every_link_and_script_stays_inside_the_book(built):
    out, _ = built
    for page in out.rglob("*.html"):
        text = page.read_text()
        for url in re.findall(r"<(?:script|link|img)[^>]*?(?:src|href)=\"([^\"#?]+)", text):
            assert not url.startswith(("http:", "https:", "//")), (page.name, url)
            if not url.startswith("data:"):
                assert (page.parent / url).resolve().exists(), (page.name, url)
        for url in re.findall(r'<a [^>]*href="([^"#?:]+\.(?:html|ipynb|md))', text):
            assert not url.endswith(".ipynb"), (page.name, url)  # a notebook link became a page
            assert (page.parent / url).resolve().exists() or url.startswith("../../"), (
                page.name, url)  # a page, or a file of the checkout the book was built in


def test_the_search_page_holds_every_section(built):
    out, _ = built
    text = (out / "search.html").read_text()
    assert "Masked scores must be −∞, not 0" in text and "KV cache" in text
    assert text.count('"heading"') > 150  # the ## sections of 26 notebooks
