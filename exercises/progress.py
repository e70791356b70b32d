"""A learner's progress through the exercises, kept on their own machine.

Every answered check appends one line to a file in the user's data folder (platformdirs'
`user_data_dir`): the notebook, the exercise, the time, and whether it was solved. Nothing
leaves the machine. `GPT2_STEP_BY_STEP_PROGRESS=off` records nothing; set to a file path, it
records there instead (the tests and `make execute` use that).

    python -m exercises.progress      # notebooks done, exercises solved, what is next
    from exercises import progress; progress.show()    # the same, in a notebook cell
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import sys
from pathlib import Path

from exercises.i18n import say

SETTING = "GPT2_STEP_BY_STEP_PROGRESS"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def progress_file() -> Path | None:
    """Where verdicts are recorded, or None when the learner opted out."""
    setting = os.environ.get(SETTING, "").strip()
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    from platformdirs import user_data_dir

    return Path(user_data_dir("gpt2-step-by-step")) / "progress.jsonl"


def record(notebook: str, number: int, solved: bool) -> None:
    """Append one verdict. A file that cannot be written costs the learner nothing: the check's
    verdict is already printed."""
    path = progress_file()
    if path is None:
        return
    line = {"notebook": notebook, "exercise": number, "solved": solved,
            "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    except OSError:
        pass


def lessons() -> list[tuple[str, str, int]]:
    """(number, title, how many exercises) of every lesson, from the notebooks and the checks."""
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        number = path.name[:2]
        checks = importlib.import_module(f"exercises.nb{number}")
        count = sum(1 for name in dir(checks) if name.startswith("exercise_"))
        title = path.stem[3:].replace("_", " ")
        found.append((number, title, count))
    return found


def solved() -> dict[str, set[int]]:
    """{notebook: exercises solved at least once} from the recorded verdicts."""
    path = progress_file()
    done: dict[str, set[int]] = {}
    if path is None or not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short (the machine stopped mid-write): skip it
        if entry.get("solved"):
            done.setdefault(str(entry["notebook"]), set()).add(int(entry["exercise"]))
    return done


def summary() -> str:
    """Per notebook, the exercises solved, and the next one to do."""
    done, rows, total, solved_count, next_up = solved(), [], 0, 0, None
    for number, title, count in lessons():
        mine = done.get(number, set()) & set(range(1, count + 1))
        total, solved_count = total + count, solved_count + len(mine)
        mark = "✓" if len(mine) == count else " "
        rows.append(f"{mark} {number} {title:36} {len(mine)}/{count}")
        missing = sorted(set(range(1, count + 1)) - mine)
        if next_up is None and missing:
            next_up = f"notebook {number} ({title}), exercise {missing[0]}"
    where = progress_file()
    rows.append(say(f"{solved_count} of {total} exercises solved") + "; "
                + (say(f"next: {next_up}") if next_up else say("every exercise solved")))
    rows.append(say(f"(recorded in {where})" if where else f"(not recorded: {SETTING}=off)"))
    return "\n".join(rows)


def show() -> None:
    print(summary())


if __name__ == "__main__":
    show()
    sys.exit(0)
