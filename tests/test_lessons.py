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
