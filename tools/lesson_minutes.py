"""Section minutes and stopping points for the lesson notebooks, written into their markdown.

A lesson is sized for one sitting of a class: every `## ` section states its minutes in the line
under its heading ("*About 12 min.*", "*Optional · about 5 min.*"), and no stretch of more than
about 45 minutes goes without a marked stopping point, a cell that starts with STOP.

The minutes are an estimate, the same rule for every notebook: the prose read at 150 words a
minute, 45 seconds per code cell (read it, run it, look at its output) and each exercise at the
minutes it states. The README states the range over the 13 lessons (a test keeps it current);
the readers of the teaching pass took 60 to 90 minutes for a lesson with some of its exercises.

    python tools/lesson_minutes.py            # rewrite the minutes and stopping points
    python tools/lesson_minutes.py --check    # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import json
import math
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS_PER_MINUTE = 150
MINUTES_PER_CODE_CELL = 0.75
LONGEST_STRETCH = 45  # minutes without a stopping point, at most
STOP_AFTER = 30  # a stopping point goes in once a stretch reaches this much...
STOP_BEFORE_AT_LEAST = 10  # ...and at least this much of the lesson is still to come
STOP = "> **⏸ A stopping point.**"
EXERCISE_MINUTES = re.compile(r"\(★[★☆]*, about (\d+) min\)")
MINUTES = re.compile(r"^\*(Optional · a|A)bout \d+ min(, all exercises[^*\n]*)?\.\*\n\n?", re.M)
UNTIMED = ("## Next",)


@dataclass
class Section:
    heading: str
    cell: int  # the index of the cell that starts with the heading
    words: int = 0
    code_cells: int = 0
    exercise_minutes: int = 0
    optional: bool = False
    children: list[str] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        reading = self.words / WORDS_PER_MINUTE + self.code_cells * MINUTES_PER_CODE_CELL
        return max(1, math.ceil(reading + self.exercise_minutes))


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _set(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def _markdown(cell_id: str, text: str, metadata: dict | None = None) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata or {},
            "source": text.splitlines(keepends=True)}


def split_at_headings(cells: list[dict]) -> list[dict]:
    """Every `## ` heading starts its own markdown cell (a slide, a stopping point, a minutes
    line all attach to a section's first cell)."""
    out = []
    for cell in cells:
        text = _source(cell)
        if cell["cell_type"] != "markdown" or not re.search(r"(?m)^## ", text[1:]):
            out.append(cell)
            continue
        pieces = re.split(r"(?m)^(?=## )", text)
        first = True
        for piece in pieces:
            if not piece.strip():
                continue
            if first:
                _set(cell, piece.rstrip("\n") + "\n")
                out.append(cell)
                first = False
            else:
                out.append(_markdown(uuid.uuid4().hex[:8], piece.rstrip("\n") + "\n"))
    return out


def sections(cells: list[dict]) -> list[Section]:
    """The `## ` sections of a lesson with what they hold (minutes lines and stopping points
    are not counted)."""
    found: list[Section] = []
    for i, cell in enumerate(cells):
        text = MINUTES.sub("", _source(cell))
        if cell["cell_type"] == "markdown" and text.startswith(STOP):
            continue
        if cell["cell_type"] == "markdown" and text.startswith("## "):
            heading = text.splitlines()[0]
            found.append(Section(heading, i, optional=_is_optional(heading)))
            text = text[len(heading):]
        if not found:
            continue
        section = found[-1]
        if cell["cell_type"] == "code":
            section.code_cells += 1
            section.words += len(text.split()) // 3  # code reads slower than prose, runs faster
        else:
            section.words += len(text.split())
            # an exercise's minutes, from its header "(★★☆, about 10 min)"; not prose's "about 20 minutes"
            section.exercise_minutes += sum(int(m) for m in EXERCISE_MINUTES.findall(text))
    return found


def _is_optional(heading: str) -> bool:
    return "optional" in heading.lower() or heading.startswith("## Appendix")


def minutes_line(section: Section) -> str:
    if section.heading.startswith("## Exercises"):  # both parts, so that the sum is checkable
        return (f"*About {section.minutes} min, all exercises: {section.exercise_minutes} min of "
                "work, as each one states, plus "
                f"{section.minutes - section.exercise_minutes} min to read them and run the checks.*")
    return f"*{'Optional · a' if section.optional else 'A'}bout {section.minutes} min.*"


def stop_cell(number: int, minutes_so_far: int, next_heading: str) -> dict:
    title = next_heading.removeprefix("## ").strip()
    return _markdown(f"stop-{number}",
        f"{STOP} About {minutes_so_far} minutes so far. A class can break here, and a learner can "
        f"close the notebook: the next section, *{title}*, starts a new step. To pick up later, "
        "open the notebook, select this cell and use **Run ▸ Run All Above Selected Cell**.\n",
        {"slideshow": {"slide_type": "slide"}})  # a break is a slide of its own


def lay_out(nb: dict) -> dict:
    """The notebook with its minutes lines and stopping points written anew."""
    cells = [c for c in nb["cells"]
             if not (c["cell_type"] == "markdown" and _source(c).startswith(STOP))]
    cells = split_at_headings(cells)
    for cell in cells:
        if cell["cell_type"] == "markdown":
            _set(cell, MINUTES.sub("", _source(cell)))
    found = sections(cells)
    for section in found:
        if section.heading.startswith(UNTIMED):
            continue
        text = _source(cells[section.cell])
        heading, rest = text[:len(section.heading)], text[len(section.heading):].lstrip("\n")
        _set(cells[section.cell], f"{heading}\n\n{minutes_line(section)}\n" + (f"\n{rest}" if rest else ""))
    stops, stretch, elapsed = [], 0, 0
    def counted(section: Section) -> bool:  # the lesson itself: no options, no exercises
        return not section.optional and not section.heading.startswith("## Exercises")

    total = sum(s.minutes for s in found if counted(s))
    for section, following in zip(found, found[1:], strict=False):
        if counted(section):
            stretch += section.minutes
            elapsed += section.minutes
        later = total - elapsed
        due = stretch >= STOP_AFTER and later >= STOP_BEFORE_AT_LEAST
        overdue = counted(following) and stretch + following.minutes > LONGEST_STRETCH
        if ((due or overdue) and stretch > 0
                and not following.heading.startswith(UNTIMED + ("## Exercises",))):
            stops.append((following.cell, elapsed, following.heading))
            stretch = 0
    for number, (cell_index, minutes_so_far, heading) in reversed(list(enumerate(stops, 1))):
        cells.insert(cell_index, stop_cell(number, minutes_so_far, heading))
    nb["cells"] = cells
    return nb


def stretches(nb: dict) -> list[int]:
    """Minutes between stopping points (optional sections and exercises left out)."""
    found, out, stretch = sections(nb["cells"]), [], 0
    stop_cells = {i for i, c in enumerate(nb["cells"])
                  if c["cell_type"] == "markdown" and _source(c).startswith(STOP)}
    bounds = sorted(stop_cells)
    for section in found:
        if bounds and section.cell > bounds[0]:
            out.append(stretch)
            stretch = 0
            bounds.pop(0)
        if not section.optional and not section.heading.startswith("## Exercises"):
            stretch += section.minutes
    return out + [stretch]


def lessons() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def main(argv: list[str]) -> int:
    stale = []
    for path in lessons():
        before = path.read_text(encoding="utf-8")
        nb = lay_out(json.loads(before))
        after = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if after != before:
            stale.append(path.name)
            if "--check" not in argv:
                path.write_text(after, encoding="utf-8")
    if "--check" in argv and stale:
        print("minutes or stopping points out of date (run python tools/lesson_minutes.py):",
              ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
