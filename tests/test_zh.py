"""The Chinese edition (notebooks/zh/, README.zh.md): the same code as the English one, a
translation that cannot silently fall behind it, d2l-zh's terms, checks that answer in Chinese,
and figures whose Chinese comes from the font the project ships."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pytest

import exercises.i18n as i18n
from helpers.language import language, set_language
from tools import zh_edition

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = zh_edition.english_notebooks()
IDS = [str(p.relative_to(ROOT / "notebooks")) for p in ENGLISH]
CJK = re.compile(r"[\u4e00-\u9fff]")

# d2l-zh's terms (notebook 00's glossary) and variants the edition must not use instead
REJECTED = {
    "令牌": "token is 词元", "词符": "token is 词元", "符元": "token is 词元", "记号": "token is 词元",
    "掩码": "mask is 掩蔽", "层归一化": "layer normalization is 层规范化",
    "随机失活": "dropout is 暂退法", "丢弃法": "dropout is 暂退法",
    "注意力分数": "attention score is 注意力评分", "集束搜索": "beam search is 束搜索",
}
GLOSSARY_CELLS = ("21-983f45", "00-gloss-1b", "00-gloss-2", "00-gloss-2b")  # 00's glossary names the variants after 亦作 ("also")


@pytest.fixture
def chinese():
    """The language setting "zh" for one test, and English again after it."""
    set_language("zh")
    yield
    set_language("en")


def zh_texts() -> list[tuple[str, str]]:
    """(where, text) of every piece of the Chinese edition a reader sees."""
    found = []
    for english in ENGLISH:
        zh = zh_edition.zh_path(english)
        for cell in zh_edition.read(zh)["cells"]:
            if cell["id"] in GLOSSARY_CELLS:
                continue
            text = zh_edition.text_of(cell) + json.dumps(cell["metadata"].get("teacher", ""), ensure_ascii=False)
            found.append((f"{zh.relative_to(ROOT)} cell {cell['id']}", text))
    for name in ("README.zh.md", "docs/teachers_guide.zh.md"):
        found.append((name, (ROOT / name).read_text(encoding="utf-8")))
    found.append(("exercises/zh.json", i18n.CATALOG.read_text(encoding="utf-8")))
    from helpers.viz.labels_zh import LABELS_ZH, PLOT_TEXTS_ZH
    found.append(("helpers/viz/labels_zh.py", "\n".join([*LABELS_ZH.values(), *PLOT_TEXTS_ZH.values()])))
    return found


# --- the same course ------------------------------------------------------------------------


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_translation_is_of_the_current_english(english):
    stale = zh_edition.drift(english)
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_slides_are_the_english_slides(english):
    """Every zh cell carries its English cell's metadata (slide types above all), so the two
    decks have the same slides; only the speaker notes and the translation record differ."""
    en_meta = {c["id"]: c["metadata"] for c in zh_edition.read(english)["cells"]}
    own = ("teacher", "translation")
    differ = [c["id"] for c in zh_edition.read(zh_edition.zh_path(english))["cells"]
              if {k: v for k, v in c["metadata"].items() if k not in own}
              != {k: v for k, v in en_meta[c["id"]].items() if k not in own}]
    assert differ == [], "run python tools/zh_edition.py --sync"


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_code_is_the_english_code(english):
    differ = zh_edition.parity(english)
    assert not differ, "\n".join(differ)


def _outputs_text(cell: dict) -> list[str]:
    """A code cell's outputs as text: streams, text/plain and errors; an image as its kind."""
    texts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            texts.append("".join(out["text"]))
        elif out["output_type"] == "error":
            texts.append(f"{out['ename']}: {out['evalue']}")
        elif "image/png" in out.get("data", {}):
            texts.append("<image>")
        elif "text/plain" in out.get("data", {}):
            texts.append("".join(out["data"]["text/plain"]))
    return texts


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_outputs_that_do_not_depend_on_the_language_are_the_english_ones(english):
    """Proves the zh run equal to the English one (which nbval also checks under other CPUs'
    float kernels): every output without Chinese in it is the English output, figures
    included by count, where nbval compares outputs at all."""
    en_nb, zh_nb = zh_edition.read(english), zh_edition.read(zh_edition.zh_path(english))
    differ = []
    for en_cell, zh_cell in zip(en_nb["cells"], zh_nb["cells"], strict=True):
        if en_cell["cell_type"] != "code" or "nbval-ignore-output" in en_cell["metadata"].get("tags", []):
            continue  # (timings and live widgets, which nbval does not compare either)
        en_out, zh_out = _outputs_text(en_cell), _outputs_text(zh_cell)
        if len(en_out) != len(zh_out):
            differ.append(f"{zh_cell['id']}: {len(zh_out)} outputs, English {len(en_out)}")
            continue
        for a, b in zip(en_out, zh_out, strict=True):
            if a != b and not CJK.search(b):
                differ.append(f"{zh_cell['id']}: {b[:80]!r} is not the English {a[:80]!r}")
    assert not differ, "\n".join(differ)


def test_a_changed_english_cell_and_changed_code_are_caught(tmp_path, monkeypatch):
    """The drift and parity checks fail when broken: an English cell edited after its
    translation is named, and so is zh code that is not the English code."""
    english = ROOT / "notebooks/04_masked_self_attention.ipynb"
    root = tmp_path / "repo"
    (root / "notebooks/zh").mkdir(parents=True)
    shutil.copy(english, root / "notebooks" / english.name)
    shutil.copy(zh_edition.zh_path(english), root / "notebooks/zh" / english.name)
    monkeypatch.setattr(zh_edition, "ROOT", root)
    monkeypatch.setattr(zh_edition, "NOTEBOOKS", root / "notebooks")
    monkeypatch.setattr(zh_edition, "ZH", root / "notebooks/zh")
    copied = root / "notebooks" / english.name
    assert zh_edition.drift(copied) == [] and zh_edition.parity(copied) == []

    nb = zh_edition.read(copied)
    markdown = next(c for c in nb["cells"][3:] if c["cell_type"] == "markdown")
    markdown["source"].append("\nOne more sentence.")
    zh_edition.write(copied, nb)
    stale = zh_edition.drift(copied)
    assert len(stale) == 1 and markdown["id"] in stale[0] and "translate it again" in stale[0]

    zh = zh_edition.read(root / "notebooks/zh" / english.name)
    code = next(c for c in zh["cells"] if c["cell_type"] == "code" and "torch.zeros" in "".join(c["source"]))
    code["source"] = [line.replace("torch.zeros", "torch.ones") for line in code["source"]]
    zh_edition.write(root / "notebooks/zh" / english.name, zh)
    differ = zh_edition.parity(copied)
    assert len(differ) == 1 and code["id"] in differ[0]

    # --sync takes the English code over and keeps the changed cell flagged until translated
    zh_edition.sync(copied)
    assert zh_edition.parity(copied) == []
    assert [s for s in zh_edition.drift(copied) if markdown["id"] in s]


def test_new_minutes_reach_the_chinese_without_a_translation(tmp_path, monkeypatch):
    """tools/lesson_minutes.py rewrites the English minutes: --sync copies a section's minutes and
    a stopping point's minutes so far into the Chinese, and neither counts as a changed text."""
    english = ROOT / "notebooks/09_training_a_tiny_gpt.ipynb"
    root = tmp_path / "repo"
    (root / "notebooks/zh").mkdir(parents=True)
    shutil.copy(english, root / "notebooks" / english.name)
    shutil.copy(zh_edition.zh_path(english), root / "notebooks/zh" / english.name)
    for name, value in (("ROOT", root), ("NOTEBOOKS", root / "notebooks"), ("ZH", root / "notebooks/zh")):
        monkeypatch.setattr(zh_edition, name, value)
    copied = root / "notebooks" / english.name
    nb = zh_edition.read(copied)
    stop = next(c for c in nb["cells"] if c["id"].startswith("stop-"))
    heading = next(c for c in nb["cells"] if c["source"] and c["source"][0].startswith("## AdamW"))
    stop["source"] = [re.sub(r"About \d+ minutes so far", "About 99 minutes so far", "".join(stop["source"]))]
    heading["source"] = [re.sub(r"\*About \d+ min\.\*", "*About 98 min.*", "".join(heading["source"]))]
    # the stopping point moved before another section: its title comes from the Chinese heading
    stop["source"] = [re.sub(r"the next section, \*[^*]+\*", "the next section, *AdamW: what it does*",
                             "".join(stop["source"]))]
    heading_zh = next(c for c in zh_edition.read(root / "notebooks/zh" / english.name)["cells"]
                      if c["id"] == heading["id"])["source"][0][3:].strip()
    zh_edition.write(copied, nb)
    assert zh_edition.drift(copied) == []  # minutes and titles are not prose to translate
    zh_edition.sync(copied)
    zh = {c["id"]: "".join(c["source"]) for c in zh_edition.read(root / "notebooks/zh" / english.name)["cells"]}
    assert "到这里约 99 分钟" in zh[stop["id"]] and "*约 98 分钟*" in zh[heading["id"]]
    assert f"下一节“*{heading_zh}*”开始" in zh[stop["id"]]


def test_a_comment_or_docstring_may_differ_but_not_a_string():
    code = 'def f(x):\n    "Doubles x."\n    return x * 2  # twice\nprint("x")\n'
    zh = 'def f(x):\n    "把 x 翻倍。"\n    return x * 2  # 两倍\nprint("x")\n'
    assert zh_edition.code_signature(code) == zh_edition.code_signature(zh)
    assert zh_edition.code_signature(code) != zh_edition.code_signature(zh.replace('"x"', '"ｘ"'))
    setup = "helpers.notebook.setup()  # figures\n"
    assert zh_edition.code_signature(setup) == zh_edition.code_signature(
        setup.replace("setup()", 'setup(language="zh")'))


# --- what a Chinese reader gets ---------------------------------------------------------------


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_every_prose_cell_is_in_chinese(english):
    zh_nb = zh_edition.read(zh_edition.zh_path(english))
    english_only = [c["id"] for c in zh_nb["cells"] if c["cell_type"] == "markdown"
                    and len(zh_edition.text_of(c).split()) > 3 and not CJK.search(zh_edition.text_of(c))]
    assert english_only == []


def test_the_terms_are_d2l_zh_s():
    found = [f"{where}: {variant!r} ({why})" for where, text in zh_texts()
             for variant, why in REJECTED.items() if variant in text]
    assert found == []


def test_the_term_check_would_catch_a_variant():
    assert any(v in "把每个令牌映射成向量" for v in REJECTED)


def test_the_editions_link_each_other_in_their_first_lines():
    readme, readme_zh = ((ROOT / n).read_text(encoding="utf-8") for n in ("README.md", "README.zh.md"))
    assert "(README.zh.md)" in "".join(readme.splitlines()[:4])
    assert "(README.md)" in "".join(readme_zh.splitlines()[:4])
    first = zh_edition.text_of(zh_edition.read(ROOT / "notebooks/00_roadmap_and_setup.ipynb")["cells"][0])
    first_zh = zh_edition.text_of(zh_edition.read(ROOT / "notebooks/zh/00_roadmap_and_setup.ipynb")["cells"][0])
    assert "(zh/00_roadmap_and_setup.ipynb)" in "".join(first.splitlines()[:3])
    assert "(../00_roadmap_and_setup.ipynb)" in "".join(first_zh.splitlines()[:3])


# --- the checks speak Chinese -----------------------------------------------------------------


def test_every_check_message_has_its_chinese():
    catalog = json.loads(i18n.CATALOG.read_text(encoding="utf-8"))
    assert list(catalog) == i18n.all_templates(), "run python -m exercises.i18n"
    assert [k for k, v in catalog.items() if not v] == []
    fields = [k for k, v in catalog.items()
              if sorted(i18n.FIELD.findall(k)) != sorted(i18n.FIELD.findall(v))]
    assert fields == [], "a Chinese template must use the English template's fields"


def test_a_message_is_translated_with_its_fields(chinese):
    assert i18n.say("Exercise 3: correct.") == "练习 3：正确。"
    hint = "expected a function, got int"
    assert CJK.search(i18n.say(hint)) and "int" in i18n.say(hint)
    with pytest.raises(KeyError, match="no Chinese"):
        i18n.translate("a message no check prints", strict=True)


def test_the_checks_answer_in_chinese(chinese, capsys):
    from exercises import nb04
    assert language() == "zh"
    assert nb04.exercise_1(...) is None
    assert capsys.readouterr().out.startswith("练习 1：尚未作答")
    assert not nb04.exercise_1(lambda T: __import__("helpers").causal_mask(T))
    out = capsys.readouterr().out
    assert out.startswith("练习 1：还不对。") and CJK.search(out.split("。", 1)[1])
    assert nb04.exercise_1(lambda T: __import__("torch").ones(T, T, dtype=__import__("torch").bool).tril(-1))
    assert capsys.readouterr().out == "练习 1：正确。\n"


def test_english_stays_english(capsys):
    from exercises import nb04
    assert nb04.exercise_1(...) is None
    assert capsys.readouterr().out.startswith("Exercise 1: not answered yet")


# --- the font ------------------------------------------------------------------------------


def test_every_chinese_label_is_in_the_shipped_font():
    from fontTools.ttLib import TTFont

    from helpers.viz.fonts import CJK_FONT, CJK_FONT_BOLD
    from helpers.viz.labels_zh import LABELS_ZH, PLOT_TEXTS_ZH
    needed = {ch for text in [*LABELS_ZH.values(), *PLOT_TEXTS_ZH.values()] for ch in text
              if ord(ch) > 0x2E80}
    for path in (CJK_FONT, CJK_FONT_BOLD):
        missing = sorted(needed - set(map(chr, TTFont(path).getBestCmap())))
        assert missing == [], f"{path.name} lacks {missing}: run tools/subset_cjk_font.py"


def test_matplotlib_takes_chinese_from_the_shipped_font_and_would_warn_of_tofu():
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from helpers.viz.fonts import CJK_FONT, register_cjk_font
    family = register_cjk_font()
    found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(found) == CJK_FONT
    fig = Figure()
    fig.text(0.1, 0.5, "自注意力", fontfamily=["DejaVu Sans", family])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FigureCanvasAgg(fig).draw()  # every glyph found
    fig.text(0.1, 0.2, "龘", fontfamily=["DejaVu Sans", family])  # not in the subset
    with pytest.warns(UserWarning, match="missing from font"):
        FigureCanvasAgg(fig).draw()


def test_a_code_change_keeps_the_chinese_comments_of_the_lines_it_did_not_touch():
    """--sync takes over changed English code; lines whose code is the same keep their
    translated comments, so only the changed lines need translating again."""
    zh_old = ("def f(x):\n    # 先把 x 加倍\n    y = 2 * x  # 加倍\n    return y\n\n\n"
              "print(f(1))  # 打印\n")
    en_new = ("def f(x):\n    # double x first\n    y = 2 * x  # double\n    z = y + 1  # one more\n"
              "    return z\n\n\nprint(f(1))  # print\n")
    merged = zh_edition.keep_translated_comments(zh_old, en_new)
    assert merged == ("def f(x):\n    # 先把 x 加倍\n    y = 2 * x  # 加倍\n    z = y + 1  # one more\n"
                      "    return z\n\n\nprint(f(1))  # 打印\n")
    assert zh_edition.code_signature(merged) == zh_edition.code_signature(en_new)
    # the new line's English comment is what is left to translate; a shape reads the same in both
    assert zh_edition.english_comments(merged, en_new) == ["# one more"]
    assert zh_edition.english_comments(merged.replace("# one more", "# 再加一"), en_new) == []
    assert zh_edition.english_comments("x = 1  # (T, C)\n", "x = 1  # (T, C)\n") == []
