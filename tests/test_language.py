"""The edition's language: one setting, English by default, set by the notebooks' set-up."""

import pytest

import helpers.notebook
from helpers.language import LANGUAGES, language, set_language


def test_english_unless_set_and_setup_sets_it():
    assert language() == "en"
    try:
        helpers.notebook.setup(language="zh")
        assert language() == "zh"
        helpers.notebook.setup()
        assert language() == "en"
    finally:
        set_language("en")


def test_an_unknown_language_names_the_editions():
    with pytest.raises(ValueError, match="'en', 'zh'"):
        set_language("fr")
    assert language() == "en" and LANGUAGES == ("en", "zh")
