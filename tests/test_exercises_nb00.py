"""Notebook 00's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers (including hard-coded numbers) are rejected."""

import pytest
import torch

from exercises import nb00 as check
from helpers import load_default_model

# --- the worked solutions (as in notebooks/solutions/00_solutions.ipynb) ------------------


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def may_attend(i, T):
    return list(range(i + 1))


def unanswered(*args):
    ...


@pytest.fixture(scope="module")
def tokenizer():
    return load_default_model()[1]


def unknown_characters_for(tokenizer):
    def unknown_characters(text):
        return {c for c in text if c not in tokenizer.chars}

    return unknown_characters


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(count_parameters) is True
    assert "correct" in capsys.readouterr().out
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_1(lambda m: 2_706_624) is False  # the shipped model's count, copied
    assert check.exercise_1(lambda m: len(list(m.parameters()))) is False  # tensors, not numbers
    assert "number of parameter tensors" in capsys.readouterr().out
    assert check.exercise_1(lambda m: sum(p.numel() for p in m.parameters() if p.dim() > 1)) is False
    assert "biases" in capsys.readouterr().out
    assert check.exercise_1(lambda m: m.num_parameters()) is False  # only GPT has that method
    assert "raised AttributeError" in capsys.readouterr().out
    assert check.exercise_1(lambda m: torch.tensor(count_parameters(m))) is False  # not an int
    assert check.exercise_1(lambda m: sum(p.shape[0] for p in m.parameters())) is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(tokenizer, capsys):
    assert check.exercise_2(unknown_characters_for(tokenizer), tokenizer) is True
    assert check.exercise_2(..., tokenizer) is None
    assert check.exercise_2(unanswered, tokenizer) is None
    assert "not answered yet" in capsys.readouterr().out
    # "anything not ASCII": misses the digits and symbols Shakespeare never used
    assert check.exercise_2(lambda t: {c for c in t if not c.isascii()}, tokenizer) is False
    # "digits are unknown": but the tokenizer does know '3'
    assert check.exercise_2(lambda t: {c for c in t if c.isdigit() or not c.isascii()},
                            tokenizer) is False
    # "anything but letters and spaces": punctuation is known
    assert check.exercise_2(lambda t: {c for c in t if not (c.isalpha() or c == " ")},
                            tokenizer) is False
    assert "does know" in capsys.readouterr().out
    assert check.exercise_2(lambda t: {"é", "自"}, tokenizer) is False  # the example's answer
    assert check.exercise_2(lambda t: set(t) - set("abcdefghijklmnopqrstuvwxyz "), tokenizer) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(may_attend) is True
    assert check.exercise_3(lambda i, T: torch.arange(i + 1)) is True  # a tensor is fine
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_3(lambda i, T: list(range(i))) is False  # forgets itself
    assert "itself" in capsys.readouterr().out
    assert check.exercise_3(lambda i, T: list(range(i, T))) is False  # the future
    assert "future" in capsys.readouterr().out
    assert check.exercise_3(lambda i, T: list(range(T))) is False  # BERT's full mask
    assert check.exercise_3(lambda i, T: list(range(i, -1, -1))) is False  # order
    assert "increasing order" in capsys.readouterr().out
    assert check.exercise_3(lambda i, T: [0, 1, 2]) is False  # the picture's row 2, hard-coded
