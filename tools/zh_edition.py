"""The Chinese edition (中文版), notebooks/zh/: one notebook per English one, cell for cell.

Each zh cell keeps its English cell's id and records, in `metadata.translation`, the hash of the
English text it was translated from (`en_sha`) and of its own text (`zh_sha`), as gettext marks
a msgid changed since its msgstr as fuzzy. The code is the English code: only comments,
docstrings and the one language setting (`helpers.notebook.setup(language="zh")`) differ.

    python tools/zh_edition.py --check   list cells whose English changed since they were
                                         translated, and code that differs (tests/test_zh.py)
    python tools/zh_edition.py --sync    after editing English notebooks: add, move and drop zh
                                         cells to match, take over changed code, and accept the
                                         cells you translated again (their zh text changed)
    python tools/zh_edition.py --import DIR   build the edition from translation drafts
                                         (DIR/<name>.json: {cell id or id:teacher.key: text})

After --sync or --import, run the changed zh notebooks (make execute NB=notebooks/zh/...).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ZH = NOTEBOOKS / "zh"
SETUP_EN = "helpers.notebook.setup()"
SETUP_ZH = 'helpers.notebook.setup(language="zh")'
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def english_notebooks() -> list[Path]:
    """Every English notebook that has a Chinese edition: the lessons and the worked solutions."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))


def zh_path(english: Path) -> Path:
    """notebooks/04_x.ipynb -> notebooks/zh/04_x.ipynb (solutions likewise, in zh/solutions)."""
    return ZH / english.relative_to(NOTEBOOKS)


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def text_of(cell: dict) -> str:
    return "".join(cell["source"])


# a section's minutes are written by tools/lesson_minutes.py, not translated: --sync copies them
EN_MINUTES = re.compile(r"^\*(Optional · a|A)bout (\d+) min(, all exercises: (\d+) min of work, as "
                        r"each one states, plus (\d+) min to read them and run the checks)?\.\*$", re.M)
ZH_MINUTES = re.compile(r"^\*(选学 · )?(全部练习)?约 (\d+) 分钟(：各题标明的 \d+ 分钟，"
                        r"加上阅读和运行约 \d+ 分钟)?\*$", re.M)
EN_SO_FAR = re.compile(r"About (\d+) minutes so far")  # a stopping point's running total
ZH_SO_FAR = re.compile(r"到这里约 (\d+) 分钟")
EN_NEXT = re.compile(r"the next section, \*([^*\n]+)\*, starts")  # ...and the section after it
ZH_NEXT = re.compile(r"下一节\s*“?\*([^*\n]+)\*”?\s*开始")


def zh_minutes(line: re.Match) -> str:
    """'*Optional · about 5 min.*' -> '*选学 · 约 5 分钟*' (and the other two forms)."""
    start, minutes, exercises, stated, reading = line.groups()
    if exercises:
        return f"*全部练习约 {minutes} 分钟：各题标明的 {stated} 分钟，加上阅读和运行约 {reading} 分钟*"
    return f"*{'选学 · ' if start.startswith('Optional') else ''}约 {minutes} 分钟*"


# written by tools/lesson_minutes.py in the English, copied by --sync, left out of the hash:
# (English, Chinese, the Chinese for a match of the English, what it is, its stand-in in the hash)
# The Chinese is made from the match and the notebook's headings, English title -> Chinese title.
MINUTE_FORMS = (
    (EN_MINUTES, ZH_MINUTES, lambda found, _: zh_minutes(found), "minutes", "*minutes*"),
    (EN_SO_FAR, ZH_SO_FAR, lambda found, _: f"到这里约 {found.group(1)} 分钟", "minutes so far",
     "so far"),
    (EN_NEXT, ZH_NEXT, lambda found, titles: f"下一节“*{titles.get(found.group(1), found.group(1))}*”开始",
     "the next section's title", "next section"),
)


def section_titles(en_nb: dict, zh_nb: dict) -> dict[str, str]:
    """English `## ` title -> the Chinese title of the same cell, for a stopping point's
    "the next section, *…*" (a stopping point moves when the minutes before it change)."""
    zh_cells = {c["id"]: text_of(c) for c in zh_nb["cells"]}
    titles = {}
    for cell in en_nb["cells"]:
        en, zh = text_of(cell), zh_cells.get(cell["id"], "")
        if cell["cell_type"] == "markdown" and en.startswith("## ") and zh.startswith("## "):
            titles[en.splitlines()[0][3:].strip()] = zh.splitlines()[0][3:].strip()
    return titles


def sha(cell: dict) -> str:
    """The hash a translation is keyed by: the cell's text (its minutes aside) and its speaker
    notes."""
    text = text_of(cell)
    for en_form, zh_form, _, _, stand_in in MINUTE_FORMS:
        text = zh_form.sub(stand_in, en_form.sub(stand_in, text))
    teacher = json.dumps(cell["metadata"].get("teacher"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256((text + "\0" + teacher).encode()).hexdigest()[:16]


def code_signature(source: str) -> str:
    """What must be equal between the editions' code: the syntax tree without comments, with
    docstrings blanked and the language setting made English, and any IPython magic lines."""
    source = source.replace(SETUP_ZH, SETUP_EN)
    lines = source.splitlines()
    magics = [ln.strip() for ln in lines if ln.lstrip().startswith(("%", "!"))]
    code = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
    tree = ast.parse(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body[0].value.value = "<docstring>"
    return "\n".join(magics) + "\n" + ast.dump(tree)


def _comment_tokens(source: str) -> list | None:
    """The comment tokens of Python source, or None where it does not tokenize."""
    import io
    import tokenize

    try:
        return [tok for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def _line_keys(source: str) -> list[str]:
    """Each line's code without its comment ("#" for a line that is only a comment): what a
    translated line shares with its English line."""
    lines = source.splitlines()
    tokens = _comment_tokens(source)
    if tokens is None:
        return lines
    comments = {tok.start[0]: tok.start[1] for tok in tokens}  # line -> column of its comment
    keys = []
    for number, line in enumerate(lines, start=1):
        code = line[:comments[number]] if number in comments else line
        keys.append(code.rstrip() or ("#" if number in comments else ""))
    return keys


def keep_translated_comments(zh_old: str, en_new: str) -> str:
    """The new English code, with the Chinese comments of the old zh cell kept on every line
    whose code did not change, so that a code change costs only its own lines' translation."""
    import difflib

    zh_lines, en_lines = zh_old.splitlines(), en_new.splitlines()
    matcher = difflib.SequenceMatcher(a=_line_keys(zh_old), b=_line_keys(en_new), autojunk=False)
    merged = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        merged += zh_lines[a0:a1] if op == "equal" else en_lines[b0:b1]
    return "\n".join(merged) + ("\n" if en_new.endswith("\n") else "")


def english_comments(zh_code: str, en_code: str) -> list[str]:
    """The comments of a zh code cell still in English: English words, no Chinese, and the
    same text as a comment of the English cell ("# (T, C)" is the same in both editions)."""
    def comments(source: str) -> list[str]:
        tokens = _comment_tokens(source)
        if tokens is None:
            return source.splitlines()  # unreadable: every line counts as untranslated
        return [t.string for t in tokens]

    english = set(comments(en_code))
    return [c for c in comments(zh_code)
            if c in english and re.search(r"[A-Za-z]{3}", c) and not CJK.search(c)]


def zh_links(markdown: str, depth: int) -> str:
    """Links of a zh cell, one folder deeper than its English cell: notebooks (whose zh edition
    sits at the same relative place) stay, other files get one more `../`, and the README and
    the teacher's guide point to their Chinese versions."""
    def fix(m: re.Match) -> str:
        target = m.group(2)
        if "://" in target or target.startswith(("#", "mailto:")) or ".ipynb" in target:
            return m.group(0)
        path, _, anchor = target.partition("#")
        for english, chinese in (("README.md", "README.zh.md"),
                                 ("teachers_guide.md", "teachers_guide.zh.md")):
            if path.endswith(english):
                path = path[: -len(english)] + chinese
        return m.group(1) + "../" + path + ("#" + anchor if anchor else "") + m.group(3)

    return LINK.sub(fix, markdown)


def translated(english_cell: dict, zh_text: str | None, teacher: dict | None, depth: int) -> dict:
    """The zh cell for `english_cell`: its text (English when not translated yet), outputs kept
    from the English run until the zh notebook is executed, and the translation record."""
    cell = copy.deepcopy(english_cell)
    if zh_text is None:
        zh_text = text_of(english_cell)
    if cell["cell_type"] == "markdown":
        zh_text = zh_links(zh_text, depth)
    else:
        zh_text = zh_text.replace(SETUP_EN, SETUP_ZH)
    cell["source"] = zh_text.splitlines(keepends=True)
    if teacher is not None:
        cell["metadata"]["teacher"] = teacher
    cell["metadata"]["translation"] = {"en_sha": sha(english_cell), "zh_sha": None}
    cell["metadata"]["translation"]["zh_sha"] = sha(cell)
    return cell


def import_drafts(drafts: Path) -> None:
    """Build every zh notebook from its English one and the draft DIR/<name>.json."""
    for english in english_notebooks():
        name = ("solutions_" if english.parent.name == "solutions" else "") + english.stem
        draft = json.loads((drafts / f"{name}.json").read_text(encoding="utf-8"))
        nb = read(english)
        depth = len(english.relative_to(NOTEBOOKS).parts)
        cells = []
        for cell in nb["cells"]:
            teacher = None
            for key, value in cell["metadata"].get("teacher", {}).items():
                text = draft.get(f"{cell['id']}:teacher.{key}")
                if text is not None:
                    teacher = teacher or dict(cell["metadata"]["teacher"])
                    teacher[key] = text if isinstance(value, str) else json.loads(text)
            cells.append(translated(cell, draft.get(cell["id"]), teacher, depth))
        nb["cells"] = cells
        write(zh_path(english), nb)
        print(f"{zh_path(english).relative_to(ROOT)}: {len(cells)} cells")


def where(nb: dict, index: int) -> str:
    """'cell 12 (id nb04-12) in section "Why GPT needs a mask"'."""
    section = ""
    for cell in nb["cells"][: index + 1]:
        if cell["cell_type"] == "markdown":
            for line in text_of(cell).splitlines():
                if line.startswith("#"):
                    section = line.lstrip("# ").strip()
    cell = nb["cells"][index]
    return (f"cell {index} (id {cell['id']}, {cell['cell_type']})"
            + (f' in section "{section}"' if section else ""))


def drift(english: Path) -> list[str]:
    """The zh cells of `english` to translate again, each with where it is and why."""
    zh = zh_path(english)
    if not zh.exists():
        return [f"{zh.relative_to(ROOT)} is missing: run python tools/zh_edition.py --sync"]
    en_nb, zh_nb = read(english), read(zh)
    ids_en = [c["id"] for c in en_nb["cells"]]
    ids_zh = [c["id"] for c in zh_nb["cells"]]
    if ids_en != ids_zh:
        return [f"{zh.relative_to(ROOT)}: its cells are not those of {english.relative_to(ROOT)} "
                "(added, moved or removed): run python tools/zh_edition.py --sync"]
    stale = []
    for i, (en_cell, zh_cell) in enumerate(zip(en_nb["cells"], zh_nb["cells"], strict=True)):
        record = zh_cell["metadata"].get("translation", {})
        if record.get("en_sha") != sha(en_cell):
            stale.append(f"{zh.relative_to(ROOT)}: {where(zh_nb, i)}: the English changed since "
                         "it was translated (or it never was): translate it again, then run "
                         "python tools/zh_edition.py --sync")
    return stale


def parity(english: Path) -> list[str]:
    """Where the zh code is not the English code (comments, docstrings and the language
    setting aside), and where the language setting is missing."""
    zh = zh_path(english)
    en_nb, zh_nb = read(english), read(zh)
    found = []
    for i, (en_cell, zh_cell) in enumerate(zip(en_nb["cells"], zh_nb["cells"], strict=False)):
        if en_cell["cell_type"] != zh_cell["cell_type"]:
            found.append(f"{zh.relative_to(ROOT)}: {where(zh_nb, i)} is not a {en_cell['cell_type']} cell")
        elif en_cell["cell_type"] == "code" and \
                code_signature(text_of(en_cell)) != code_signature(text_of(zh_cell)):
            found.append(f"{zh.relative_to(ROOT)}: {where(zh_nb, i)}: its code differs from the "
                         "English beyond comments and docstrings (python tools/zh_edition.py --sync "
                         "takes the English code over)")
    code = "\n".join(text_of(c) for c in zh_nb["cells"] if c["cell_type"] == "code")
    if SETUP_ZH not in code or SETUP_EN in code:
        found.append(f"{zh.relative_to(ROOT)}: its set-up must call {SETUP_ZH}")
    return found


def sync(english: Path) -> list[str]:
    """Make the zh notebook's cells follow the English ones; return what changed."""
    zh = zh_path(english)
    en_nb = read(english)
    zh_nb = read(zh) if zh.exists() else {"cells": []}
    depth = len(english.relative_to(NOTEBOOKS).parts)
    old = {c["id"]: c for c in zh_nb["cells"]}
    titles = section_titles(en_nb, zh_nb)
    cells, changes = [], []
    for en_cell in en_nb["cells"]:
        cell = old.get(en_cell["id"])
        if cell is None or cell["cell_type"] != en_cell["cell_type"]:
            cell = translated(en_cell, None, None, depth)
            cell["metadata"]["translation"]["en_sha"] = None  # English text: not translated yet
            changes.append(f"new cell {en_cell['id']} (English until translated)")
            cells.append(cell)
            continue
        record = cell["metadata"].setdefault("translation", {})
        own = {k: v for k, v in cell["metadata"].items() if k not in ("teacher", "translation")}
        own = copy.deepcopy(own)
        for key, value in en_cell["metadata"].items():  # slides and the rest follow the English
            if key not in ("teacher", "translation"):
                cell["metadata"][key] = copy.deepcopy(value)
        for key in [k for k in cell["metadata"] if k not in en_cell["metadata"]]:
            if key not in ("teacher", "translation"):
                del cell["metadata"][key]
        if own != {k: v for k, v in cell["metadata"].items() if k not in ("teacher", "translation")}:
            changes.append(f"{en_cell['id']}: metadata (slides) copied from the English")
        for en_form, zh_form, chinese, what, _ in MINUTE_FORMS:
            found = en_form.search(text_of(en_cell))
            if found and zh_form.search(text_of(cell)):
                chinese_text = chinese(found, titles)
                updated = zh_form.sub(lambda _, text=chinese_text: text, text_of(cell), count=1)
                if updated != text_of(cell):
                    cell["source"] = updated.splitlines(keepends=True)
                    changes.append(f"{en_cell['id']}: {what} copied from the English")
        if cell["cell_type"] == "code" and \
                code_signature(text_of(cell)) != code_signature(text_of(en_cell)):
            code = keep_translated_comments(text_of(cell), text_of(en_cell).replace(SETUP_EN, SETUP_ZH))
            if code_signature(code) != code_signature(text_of(en_cell)):
                code = text_of(en_cell).replace(SETUP_EN, SETUP_ZH)  # a docstring moved: all English
            cell["source"] = code.splitlines(keepends=True)
            changes.append(f"code of {en_cell['id']} taken from the English (unchanged lines keep "
                           "their Chinese comments)")
            if not english_comments(code, text_of(en_cell)):
                record["en_sha"] = sha(en_cell)  # every comment is Chinese, or has no words
            record["zh_sha"] = sha(cell)
        elif record.get("zh_sha") != sha(cell) and record.get("en_sha") != sha(en_cell):
            record["en_sha"], record["zh_sha"] = sha(en_cell), sha(cell)  # translated again
            changes.append(f"{en_cell['id']} accepted as translated again")
        elif record.get("zh_sha") != sha(cell):
            record["zh_sha"] = sha(cell)  # the Chinese alone was edited: recorded as current
            changes.append(f"{en_cell['id']}: edited Chinese recorded")
        cells.append(cell)
    dropped = set(old) - {c["id"] for c in en_nb["cells"]}
    changes += [f"cell {i} dropped (gone from the English)" for i in sorted(dropped)]
    en_nb = copy.deepcopy(en_nb)
    en_nb["cells"] = cells
    if changes or not zh.exists():
        write(zh, en_nb)
    return changes


def main(argv: list[str]) -> int:
    if argv[:1] == ["--import"] and len(argv) == 2:
        import_drafts(Path(argv[1]))
        return 0
    if argv == ["--sync"]:
        for english in english_notebooks():
            for change in sync(english):
                print(f"{zh_path(english).relative_to(ROOT)}: {change}")
        return 0
    if argv == ["--check"]:
        problems = [p for english in english_notebooks() for p in drift(english) + parity(english)]
        print("\n".join(problems) or "the Chinese edition follows the English one")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
