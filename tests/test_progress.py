"""The learner's progress: verdicts recorded locally, none when opted out, and a summary."""

import json

import pytest

from exercises import exercise as check_of
from exercises import progress, require


@check_of("04", 1)
def _check(fn):
    require(fn(2) == 4, "double it")


def test_each_answered_check_records_its_verdict_and_nothing_else(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.SETTING, str(path))
    _check(...)  # not answered: nothing to record
    assert not path.exists()
    _check(lambda x: x + 1)  # wrong (3)
    _check(lambda x: 2 * x)  # right
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["notebook"], e["exercise"], e["solved"]) for e in lines] == [("04", 1, False),
                                                                           ("04", 1, True)]
    assert all("T" in e["time"] for e in lines)  # an ISO time stamp


def test_opting_out_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(progress.SETTING, "off")
    monkeypatch.setenv("HOME", str(tmp_path))  # where the default file would go
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _check(lambda x: 2 * x)
    assert progress.progress_file() is None and not any(tmp_path.rglob("*.jsonl"))


def test_the_default_file_is_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.SETTING, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert progress.progress_file() == tmp_path / "gpt2-step-by-step" / "progress.jsonl"


def test_the_summary_counts_solved_exercises_and_names_the_next(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.SETTING, str(path))
    for notebook, number, solved in [("00", 1, True), ("00", 2, False), ("00", 2, True),
                                     ("00", 3, True), ("01", 2, True), ("01", 1, False)]:
        progress.record(notebook, number, solved)
    with path.open("a") as f:
        f.write('{"notebook": "01", "exer')  # a line cut short by a crash
    text = progress.summary()
    lessons = progress.lessons()
    total = sum(count for _, _, count in lessons)
    assert len(lessons) == 13 and total >= 50
    assert "✓ 00 roadmap and setup" in text and " 01 autoencoding vs autoregressive" in text
    assert "1/3" in text.splitlines()[1]  # notebook 01: exercise 2 only
    assert f"4 of {total} exercises solved; next: notebook 01" in text and "exercise 1" in text


def test_a_file_that_cannot_be_written_does_not_break_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv(progress.SETTING, str(blocker / "progress.jsonl"))  # under a file
    assert _check(lambda x: 2 * x)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["off", "OFF", "0", "no", "false"])
def test_every_way_of_saying_off_is_understood(monkeypatch, value):
    monkeypatch.setenv(progress.SETTING, value)
    assert progress.progress_file() is None
