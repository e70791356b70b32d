"""Notebook 02's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers (including the hard-coded booleans that passed before) are
rejected."""

import torch

from exercises import nb02 as check
from helpers import GPT

# --- the worked solutions (as in notebooks/solutions/02_solutions.ipynb) ------------------


def utf8_length(ch):
    cp = ord(ch)
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    if cp < 0x10000:
        return 3
    return 4


def embedding_params(config):
    return config.vocab_size * config.n_embd, config.n_positions * config.n_embd


def wte_share(config):
    return config.vocab_size * config.n_embd / GPT(config).num_parameters()


def last_position_unchanged(layer, x, order):
    return torch.allclose(layer(x)[:, -1], layer(x[:, order])[:, -1], atol=1e-5)


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(utf8_length) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_1(lambda ch: 1) is False  # one byte per character
    assert check.exercise_1(len) is False  # characters, not bytes
    assert check.exercise_1(lambda ch: len(ch.encode("utf-8"))) is False  # not from the code point
    assert "ord(ch)" in capsys.readouterr().out

    def off_by_one(ch):  # <= instead of < at the boundaries
        cp = ord(ch)
        return 1 if cp <= 0x80 else 2 if cp <= 0x800 else 3 if cp <= 0x10000 else 4

    assert check.exercise_1(off_by_one) is False
    assert check.exercise_1(lambda ch: 1 if ord(ch) < 0x80 else 3) is False  # no 2 or 4
    assert check.exercise_1(lambda ch: float(utf8_length(ch))) is False  # not an int


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(embedding_params, wte_share) is True
    assert check.exercise_2(..., ...) is None
    assert check.exercise_2(unanswered, wte_share) is None
    assert check.exercise_2(embedding_params, unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    # the numbers for GPT-2 small, hard-coded (the old stored output gave them away)
    assert check.exercise_2(lambda c: (38_597_376, 786_432), wte_share) is False
    assert check.exercise_2(lambda c: embedding_params(c)[::-1], wte_share) is False  # swapped
    assert "swapped" in capsys.readouterr().out
    assert check.exercise_2(lambda c: (c.vocab_size * 768, c.n_positions * 768), wte_share) is False
    assert check.exercise_2(lambda c: (c.vocab_size * c.n_embd, 1024 * c.n_embd), wte_share) is False
    assert check.exercise_2(embedding_params, lambda c: 0.31) is False  # GPT-2 small's, hard-coded
    assert check.exercise_2(
        embedding_params, lambda c: embedding_params(c)[0] / 124_439_808) is False
    assert "own total" in capsys.readouterr().out
    assert check.exercise_2(embedding_params, lambda c: 100 * wte_share(c)) is False  # percent
    assert check.exercise_2(embedding_params, lambda c: sum(embedding_params(c))
                            / GPT(c).num_parameters()) is False  # wte + wpe
    # the output layer counted a second time (it is tied to wte)
    assert check.exercise_2(embedding_params, lambda c: embedding_params(c)[0] / (
        GPT(c).num_parameters() + embedding_params(c)[0])) is False
    assert check.exercise_2(embedding_params, lambda c: True) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(last_position_unchanged) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    # the two booleans of the old exercise, hard-coded, in every form
    assert check.exercise_3(lambda layer, x, order: True) is False
    assert check.exercise_3(lambda layer, x, order: False) is False
    # the whole output compared, not the last position
    assert check.exercise_3(
        lambda layer, x, order: torch.allclose(layer(x), layer(x[:, order]), atol=1e-5)) is False
    assert "last position alone" in capsys.readouterr().out
    # the first position compared instead of the last
    assert check.exercise_3(
        lambda layer, x, order: torch.allclose(layer(x)[:, 0], layer(x[:, order])[:, 0],
                                               atol=1e-5)) is False
    # equivariance (shuffled output == output of the shuffled input), a different question
    assert check.exercise_3(
        lambda layer, x, order: torch.allclose(layer(x)[:, order][:, -1],
                                               layer(x[:, order])[:, -1], atol=1e-5)) is False
    # exact equality: float sums in another order differ in their last bits
    assert check.exercise_3(
        lambda layer, x, order: torch.equal(layer(x)[:, -1], layer(x[:, order])[:, -1])) is False
    # returns a tensor of booleans instead of one answer
    assert check.exercise_3(
        lambda layer, x, order: torch.isclose(layer(x)[:, -1], layer(x[:, order])[:, -1])) is False
    # a 0-d bool tensor is accepted as an answer
    assert check.exercise_3(
        lambda layer, x, order: torch.isclose(layer(x)[:, -1], layer(x[:, order])[:, -1],
                                              atol=1e-5).all()) is True


def test_checks_leave_the_notebooks_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.exercise_2(embedding_params, wte_share)
    check.exercise_3(last_position_unchanged)
    assert torch.equal(torch.rand(3), expected)
