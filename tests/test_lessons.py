"""The lessons are sized for a class: every section says its minutes, and no stretch of more
than 45 minutes goes without a stopping point (tools/lesson_minutes.py writes both)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import lesson_minutes  # noqa: E402

LESSONS = lesson_minutes.lessons()


def test_the_minutes_and_stopping_points_are_up_to_date(capsys):
    assert lesson_minutes.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", LESSONS, ids=[p.name[:2] for p in LESSONS])
def test_every_section_says_its_minutes_and_no_stretch_is_too_long(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for section in lesson_minutes.sections(nb["cells"]):
        text = "".join(nb["cells"][section.cell]["source"])
        if not section.heading.startswith(lesson_minutes.UNTIMED):
            assert lesson_minutes.MINUTES.search(text), f"{path.name}: {section.heading}"
    assert max(lesson_minutes.stretches(nb)) <= lesson_minutes.LONGEST_STRETCH


def test_a_long_lesson_gets_a_stopping_point_and_a_short_one_none():
    def section(title, words):
        return [{"cell_type": "markdown", "id": title, "metadata": {},
                 "source": [f"## {title}\n", "\n", "word " * words + "\n"]}]

    long = {"cells": sum((section(f"part {i}", 150 * 20) for i in range(4)), [])}  # 4 x 20 min
    laid_out = lesson_minutes.lay_out(long)
    stops = [c for c in laid_out["cells"]
             if "".join(c["source"]).startswith(lesson_minutes.STOP)]
    assert len(stops) == 1 and max(lesson_minutes.stretches(laid_out)) <= 45
    assert "*About 20 min.*" in "".join(laid_out["cells"][0]["source"])
    short = lesson_minutes.lay_out({"cells": section("only", 150 * 10)})
    assert not any("".join(c["source"]).startswith(lesson_minutes.STOP) for c in short["cells"])
    again = lesson_minutes.lay_out(json.loads(json.dumps(laid_out)))
    assert again == laid_out  # writing it twice changes nothing


def test_the_teachers_guide_lists_every_exercise_as_the_notebooks_do(capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import exercise_table

    assert exercise_table.main(["--check"]) == 0, capsys.readouterr().out
    rows = exercise_table.exercises()
    assert len(rows) >= 50 and all(r["checks"] for r in rows)  # every check says what it checks
    assert {r["notebook"][:2] for r in rows} == {f"{n:02d}" for n in range(13)}


def lesson_parts() -> dict[str, list[int]]:
    """Each lesson's minutes (optional sections and exercises left out), cut at its stopping
    points: {"04": [33, 28], ...}."""
    parts = {}
    for path in LESSONS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells, minutes = nb["cells"], [0]
        starts = {s.cell: s for s in lesson_minutes.sections(cells)}
        for i, cell in enumerate(cells):
            if "".join(cell["source"]).startswith(lesson_minutes.STOP):
                minutes.append(0)
            section = starts.get(i)
            if section and not section.optional and not section.heading.startswith(
                    ("## Exercises",) + lesson_minutes.UNTIMED):
                minutes[-1] += section.minutes
        parts[path.name[:2]] = minutes
    return parts


def session_plan(guide: Path, up_to: str, from_: str) -> list[list[tuple[str, int]]]:
    """The guide's sessions as lists of (lesson, part): "04" is every part of 04, "04 up to its
    ⏸" part 0, "04 from its ⏸" part 1 (`up_to`, `from_`: the words the guide uses)."""
    import re

    parts, plan = lesson_parts(), []
    for row in re.findall(r"(?m)^\| \d+ \| ([^|]+) \|", guide.read_text(encoding="utf-8")):
        session = []
        for item in re.split(r"[;；]", row):
            lesson = re.search(r"\d\d", item).group(0)
            if up_to in item:
                session.append((lesson, 0))
            elif from_ in item:
                session.append((lesson, 1))
            else:
                session += [(lesson, k) for k in range(len(parts[lesson]))]
        plan.append(session)
    return plan


@pytest.mark.parametrize("guide, up_to, from_", [
    ("docs/teachers_guide.md", "up to its ⏸", "from its ⏸"),
    ("docs/teachers_guide.zh.md", "到 ⏸ 为止", "从 ⏸ 开始"),
], ids=["en", "zh"])
def test_the_guides_sessions_take_every_lesson_in_order_and_fit_75_minutes(guide, up_to, from_):
    root = Path(__file__).resolve().parent.parent
    parts = lesson_parts()
    plan = session_plan(root / guide, up_to, from_)
    every_part = [(lesson, k) for lesson in sorted(parts) for k in range(len(parts[lesson]))]
    assert [part for session in plan for part in session] == every_part
    minutes = [sum(parts[lesson][k] for lesson, k in session) for session in plan]
    assert max(minutes) <= 75, f"lesson minutes per session: {minutes}"


def test_a_session_that_outgrows_75_minutes_is_caught(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("| 1 | 00; 01 |\n| 2 | 02; 03; 04; 05; 06; 07; 08; 09; 10; 11; 12 |\n")
    plan = session_plan(guide, "up to its ⏸", "from its ⏸")
    parts = lesson_parts()
    assert sum(parts[lesson][k] for lesson, k in plan[1]) > 75


def notebook_minutes(path: Path) -> tuple[int, int]:
    """(lesson, exercises) minutes of a lesson as its sections state them: the lesson is every
    section but the optional ones and the exercises."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    lesson = exercises = 0
    for section in lesson_minutes.sections(nb["cells"]):
        if section.heading.startswith("## Exercises"):
            exercises += section.minutes
        elif not section.optional:
            lesson += section.minutes
    return lesson, exercises


@pytest.mark.parametrize("readme, unit", [("README.md", "min"), ("README.zh.md", "分钟")],
                         ids=["en", "zh"])
def test_the_readmes_minutes_are_the_notebooks(readme, unit):
    import re

    text = (Path(__file__).resolve().parent.parent / readme).read_text(encoding="utf-8")
    rows = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(
        rf"(?m)^\| (\d\d) \|.*?\| (\d+) {unit} \| (\d+) {unit} \|", text)}
    assert rows == {p.name[:2]: notebook_minutes(p) for p in LESSONS}


@pytest.mark.parametrize("readme, pattern", [
    ("README.md", r"takes (\d+) to (\d+) minutes and its exercises (\d+) to (\d+);"),
    ("README.zh.md", r"一课正课需要 (\d+) 到 (\d+) 分钟，练习需要 (\d+) 到 (\d+) 分钟")], ids=["en", "zh"])
def test_the_readmes_range_of_minutes_is_the_notebooks(readme, pattern):
    """The sentence that sums the table up ("a lesson takes 31 to 66 minutes") follows it."""
    import re

    text = (Path(__file__).resolve().parent.parent / readme).read_text(encoding="utf-8")
    found = re.search(pattern, text)
    assert found, f"{readme} no longer states the range of minutes"
    lessons, exercises = zip(*(notebook_minutes(p) for p in LESSONS), strict=True)
    assert tuple(map(int, found.groups())) == (min(lessons), max(lessons), min(exercises), max(exercises))
