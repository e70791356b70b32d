"""Notebook 04's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers (including the ones that passed before) are rejected."""

import torch

from exercises import nb04 as check
from helpers import causal_mask

# --- the worked solutions (as in notebooks/solutions/04_solutions.ipynb) ------------------


def strict_past_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)


def chunked_mask(T, chunk):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return j // chunk <= i // chunk


def logits_of_prefixes(model, ids):
    return torch.cat([model(ids[:, : t + 1])[:, -1:] for t in range(ids.size(1))], dim=1)


def batch_mask(attention_mask):
    T = attention_mask.size(1)
    real = attention_mask.bool()[:, None, :]  # (B, 1, T): which keys are tokens, not padding
    return causal_mask(T) & (real | torch.eye(T, dtype=torch.bool))  # (B, T, T)


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(strict_past_mask) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_1(causal_mask) is False  # the diagonal is still there
    assert "diagonal" in capsys.readouterr().out
    assert check.exercise_1(lambda T: strict_past_mask(T).T) is False  # rows and columns swapped
    assert check.exercise_1(lambda T: strict_past_mask(T).int()) is False  # not bool
    assert check.exercise_1(lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)[:8, :8]
                            if T == 8 else strict_past_mask(8)) is False  # one length only
    hard_coded = strict_past_mask(8)
    assert check.exercise_1(lambda T: hard_coded) is False


# --- exercise 2 -----------------------------------------------------------------------------


def is_causal(mask):
    return not mask.triu(diagonal=1).any()


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(chunked_mask, is_causal) is True
    assert check.exercise_2(..., ...) is None
    assert check.exercise_2(unanswered, is_causal) is None
    assert check.exercise_2(chunked_mask, ...) is None  # the mask is done, is_causal not
    assert check.exercise_2(chunked_mask, unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    block_diagonal = lambda T, c: (torch.arange(T)[None] // c) == (torch.arange(T)[:, None] // c)
    assert check.exercise_2(block_diagonal, is_causal) is False
    assert "earlier chunks" in capsys.readouterr().out
    strictly_earlier = lambda T, c: (torch.arange(T)[None] // c) < (torch.arange(T)[:, None] // c)
    assert check.exercise_2(strictly_earlier, is_causal) is False
    assert check.exercise_2(lambda T, c: chunked_mask(T, 2), is_causal) is False  # chunk ignored
    assert check.exercise_2(lambda T, c: causal_mask(T), is_causal) is False
    capsys.readouterr()


def test_exercise_2_rejects_wrong_is_causal(capsys):
    wrong = {
        # the old exercise's hard-coded yes/no, as functions
        "always True": lambda m: True,
        "always False": lambda m: False,
        # only the diagonal: every token sees itself
        "diagonal": lambda m: bool(m.diagonal().all()),
        # exactly GPT's mask: a sliding window or a strict-past mask is causal too
        "equal to tril": lambda m: torch.equal(m, causal_mask(m.size(0))),
        # the whole lower triangle must be visible
        "lower triangle full": lambda m: bool(m[causal_mask(m.size(0))].all()),
        # only the cells just above the diagonal (one step into the future)
        "first superdiagonal": lambda m: not m.diagonal(1).any(),
        # rows and columns swapped: looks below the diagonal
        "below the diagonal": lambda m: not m.tril(diagonal=-1).any(),
        # only the first query's row
        "first row only": lambda m: not m[0, 1:].any(),
        # a tensor of cells, not one answer
        "cell by cell": lambda m: ~m.triu(1),
        "a count": lambda m: int(m.triu(1).sum()),
    }
    for name, fn in wrong.items():
        assert check.exercise_2(chunked_mask, fn) is False, name
    out = capsys.readouterr().out
    assert "True or False" in out and "causal" in out
    # a one-element bool tensor is accepted, as it works in an `if`
    assert check.exercise_2(chunked_mask, lambda m: ~m.triu(1).any()) is True
    # the loop version, cell by cell
    def by_cells(m):
        T = m.size(0)
        return all(not m[i, j] for i in range(T) for j in range(i + 1, T))
    assert check.exercise_2(chunked_mask, by_cells) is True


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(logits_of_prefixes) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    capsys.readouterr()
    # the answer that passed before: one pass over all tokens (`logits_prefix = logits`)
    assert check.exercise_3(lambda model, ids: model(ids)) is False
    assert "one pass" in capsys.readouterr().out
    # the first position of each prefix instead of the last
    first = lambda model, ids: torch.cat(
        [model(ids[:, : t + 1])[:, :1] for t in range(ids.size(1))], dim=1)
    assert check.exercise_3(first) is False
    # the batch dimension dropped
    one_row = lambda model, ids: torch.stack(
        [model(ids[:, : t + 1])[0, -1] for t in range(ids.size(1))])
    assert check.exercise_3(one_row) is False
    assert "shape" in capsys.readouterr().out


def test_exercise_3_rejects_a_stored_result():
    from helpers import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, n_positions=12, n_embd=12, n_layer=2, n_head=3)).eval()
    ids = torch.randint(0, 11, (2, 6))
    with torch.no_grad():
        stored = logits_of_prefixes(model, ids)  # right for another model, not for the check's
    assert check.exercise_3(lambda model, ids: stored) is False


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(batch_mask) is True
    assert check.exercise_4(...) is None
    assert check.exercise_4(unanswered) is None
    capsys.readouterr()
    eye = lambda T: torch.eye(T, dtype=torch.bool)
    # the causal mask alone: left padding is in the past, so it is seen
    causal_only = lambda am: causal_mask(am.size(1)).expand(am.size(0), -1, -1)
    assert check.exercise_4(causal_only) is False
    assert "padding" in capsys.readouterr().out
    # padding hidden but no diagonal: the left pads' rows are empty, softmax gives nan
    no_diagonal = lambda am: causal_mask(am.size(1)) & am.bool()[:, None, :]
    assert check.exercise_4(no_diagonal) is False
    assert "nan" in capsys.readouterr().out
    # the padding read along the query axis instead of the key axis
    queries = lambda am: causal_mask(am.size(1)) & (am.bool()[:, :, None] | eye(am.size(1)))
    assert check.exercise_4(queries) is False
    # not causal: real keys only
    bidirectional = lambda am: am.bool()[:, None, :] | eye(am.size(1))
    assert check.exercise_4(bidirectional) is False
    assert "causal" in capsys.readouterr().out
    # one mask for the whole batch, or a float mask
    assert check.exercise_4(lambda am: batch_mask(am)[0]) is False
    assert check.exercise_4(lambda am: batch_mask(am).float()) is False
    # helpers.padding_mask is for right padding only (and its pad rows do not see themselves)
    from helpers import padding_mask
    right_only = lambda am: padding_mask(am.sum(dim=1), am.size(1)) & causal_mask(am.size(1))
    assert check.exercise_4(right_only) is False


def test_checks_under_float64_default():
    """The notebook runs with torch.set_default_dtype(torch.float64): the checks must too."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert check.exercise_1(strict_past_mask) is True
        assert check.exercise_2(chunked_mask, is_causal) is True
        assert check.exercise_3(logits_of_prefixes) is True
        assert check.exercise_3(lambda model, ids: model(ids)) is False
        assert check.exercise_4(batch_mask) is True
    finally:
        torch.set_default_dtype(old)
