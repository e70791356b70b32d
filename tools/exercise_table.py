"""The table of every exercise of the series, for the teacher's guide: notebook, number, title,
difficulty, minutes, and what its check verifies (the first line of the check's docstring).

It is written between two markers in docs/teachers_guide.md, so the guide cannot drift from the
notebooks and the checks; the Chinese guide, docs/teachers_guide.zh.md, gets the same table from
the Chinese notebooks (its titles, without the checks' English docstrings):

    python tools/exercise_table.py            # rewrite the table
    python tools/exercise_table.py --check    # exit 1 if the guide's table is out of date
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "teachers_guide.md"
GUIDE_ZH = ROOT / "docs" / "teachers_guide.zh.md"
BEGIN, END = "<!-- exercise table: begin -->", "<!-- exercise table: end -->"
HEADING = re.compile(r"^\*\*(?:Exercise )?(\d+)[:.] ?(.*?)\*\*:? ?\((★+☆*),? about (\d+) min", re.M)
HEADING_ZH = re.compile(r"^\*\*(?:练习 ?)?(\d+)[:.：] ?(.*?)\*\*[:：]? ?（(★+☆*)[，,] ?约 (\d+) 分钟", re.M)


def exercises(edition: str = "en") -> list[dict]:
    """Every exercise, in notebook order, from the lessons' markdown (of the English or the
    Chinese edition) and the checks."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    rows = []
    folder, heading = ((ROOT / "notebooks", HEADING) if edition == "en"
                       else (ROOT / "notebooks" / "zh", HEADING_ZH))
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        found = {}
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                for m in heading.finditer("".join(cell["source"])):
                    found[int(m.group(1))] = (m.group(2).rstrip(".。"), m.group(3), int(m.group(4)))
        checks = importlib.import_module(f"exercises.nb{path.name[:2]}")
        for number, (title, stars, minutes) in sorted(found.items()):
            doc = (getattr(checks, f"exercise_{number}").__doc__ or "").strip()
            rows.append({"notebook": path.name, "number": number, "title": title,
                         "stars": stars, "minutes": minutes,
                         "checks": " ".join(doc.split("\n\n")[0].split())})
    return rows


def table_zh() -> str:
    """The Chinese guide's table: lesson, exercise, level, minutes."""
    lines = ["| 课 | 练习 | 难度 | 分钟 |", "| --- | --- | --- | ---: |"]
    for r in exercises("zh"):
        link = f"[{r['notebook'][:2]}](../notebooks/zh/{r['notebook']})"
        lines.append(f"| {link} | {r['number']}. {r['title']} | {r['stars']} | {r['minutes']} |")
    return "\n".join(lines)


def table() -> str:
    lines = ["| notebook | exercise | level | min | what the check verifies |",
             "| --- | --- | --- | ---: | --- |"]
    for r in exercises():
        link = f"[{r['notebook'][:2]}](../notebooks/{r['notebook']})"
        checks = r["checks"].replace("|", "\\|")
        lines.append(f"| {link} | {r['number']}. {r['title']} | {r['stars']} | {r['minutes']} | "
                     f"{checks} |")
    return "\n".join(lines)


def written(text: str, rows: str | None = None) -> str:
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{table() if rows is None else rows}\n{END}{after}"


def main(argv: list[str]) -> int:
    stale = 0
    for guide, rows in ((GUIDE, table()), (GUIDE_ZH, table_zh() if GUIDE_ZH.exists() else None)):
        if rows is None:
            continue
        text = guide.read_text(encoding="utf-8")
        new = written(text, rows)
        if "--check" in argv:
            if new != text:
                print(f"{guide.relative_to(ROOT)}: the exercise table is out of date "
                      "(run python tools/exercise_table.py)")
                stale += 1
            continue
        guide.write_text(new, encoding="utf-8")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
