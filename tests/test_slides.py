"""Slides from the same notebooks: slide metadata by one rule, offline decks, speaker notes.

The decks are exported from the stored outputs here without their _static folder (building
that needs the npm tarballs, `make slides`); what is checked is the HTML: every script and
style sheet is local, every section is a slide, and the notes come from the lesson."""

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import slides  # noqa: E402
from lesson_minutes import lessons  # noqa: E402


def test_the_lessons_carry_their_slide_metadata(capsys):
    assert slides.main_metadata(check=True) == 0, capsys.readouterr().out


def test_sections_start_slides_and_the_set_up_is_skipped():
    cells = [{"cell_type": "markdown", "source": ["# 04 · A title\n"]},
             {"cell_type": "markdown", "source": ["## Set-up\n"]},
             {"cell_type": "code", "source": ["import torch\n"]},
             {"cell_type": "markdown", "source": ["## 1. An idea\n"]},
             {"cell_type": "code", "source": ["x\n"], "outputs": [{"output_type": "stream"}]},
             {"cell_type": "code", "source": ["y = 2\n"], "outputs": []},  # after an output
             {"cell_type": "markdown", "source": ["What it shows.\n"]},
             {"cell_type": "markdown", "source": ["### A detail\n"]},
             {"cell_type": "code", "source": ["def answer():\n    ...\n"], "outputs": []},
             {"cell_type": "code", "source": ["check.exercise_1(answer)\n"]},  # with its answer
             {"cell_type": "markdown", "source": ["**Predict first.** Will it?\n"]},
             {"cell_type": "code", "source": ["x\n"]}]  # the answer: on the next key press
    nb = slides.set_slides({"cells": cells})
    types = [c["metadata"]["slideshow"]["slide_type"] for c in nb["cells"]]
    assert types == ["slide", "skip", "skip", "slide", "-", "subslide", "subslide", "subslide", "-",
                     "-", "subslide", "fragment"]


@pytest.fixture(scope="module")
def deck():
    path = next(p for p in lessons() if p.name.startswith("04_"))
    return path, slides.deck_html(path)


def test_a_deck_asks_no_network_for_its_scripts_and_styles(deck):
    _, html = deck
    external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:[^"]*)"', html)
    assert external == []
    imports = re.findall(r"@import url\((https?:[^)]*)\)", html)
    assert imports == []
    assert '_static/reveal.js-4.0.2/dist/reveal.js' in html and "_static/mathjax-2.7.7" in html


def test_every_section_is_a_slide_with_speaker_notes(deck):
    path, html = deck
    nb = json.loads(path.read_text())
    sections = [c for c in nb["cells"] if "".join(c["source"]).startswith("## ")
                and not "".join(c["source"]).startswith("## Set-up")]
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', html, re.S)
    assert len(notes) >= len(sections) - 2  # every timed section (Next has no minutes)
    text = " ".join(notes)
    assert "About 8 min." in text  # the minutes of "Three stages"
    assert "Live: run the explorer and move <code>T</code>, <code>query</code>, <code>fill</code>" \
        in text  # the explorer's own controls
    assert "Misconception corrected here: The source note says the future positions' scores " \
           "are set to 0." in text
    assert 'href="05_gpt2_self_attention.slides.html' in html  # lesson links go to decks
    assert "The answer: Most of it: with a 0 fill" in text  # a Predict-first answer
    assert "Say while it moves: Switch the fill to 0" in text


def test_every_predict_first_prompt_and_explorer_has_its_teacher_notes():
    for path in lessons():
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            teacher = cell["metadata"].get("teacher", {})
            if cell["cell_type"] == "markdown" and text.startswith("**Predict first.**"):
                assert teacher.get("answer"), (path.name, text[:60])
            if cell["cell_type"] == "code" and "show_interactive(" in text:
                assert teacher.get("say"), (path.name, text[:60])


def test_a_section_with_two_misconception_boxes_gets_both_in_its_notes():
    """Notebook 03's step 3 corrects two errors of the source note: both reach the teacher."""
    box = "> **Common misconception.** The source note {0}. They are not.\n"
    cells = [{"cell_type": "markdown", "metadata": {},
              "source": ["## Step 3\n\n*About 6 min.*\n\n", box.format("says A")]},
             {"cell_type": "markdown", "metadata": {}, "source": [box.format("says B")]}]
    notes = slides.section_notes(cells)
    assert "The source note says A." in notes and "The source note says B." in notes
