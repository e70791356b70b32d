"""Notebook 08's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import itertools

import torch

from exercises import nb08 as check
from helpers import beam_search, generate, sequence_logprob

# --- the worked solutions (as in notebooks/solutions/08_solutions.ipynb) ------------------


def pick(probs, u):
    right_ends = probs.cumsum(dim=-1)  # token i owns [right_ends[i] - probs[i], right_ends[i])
    return int((right_ends <= u).sum().clamp(max=probs.numel() - 1))


def nucleus_size(probs, p):
    sorted_probs = probs.sort(descending=True).values
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the more likely tokens
    return int((mass_before < p).sum())


def min_p_filter(logits, min_p):
    probs = logits.softmax(dim=-1)
    threshold = min_p * probs.max(dim=-1, keepdim=True).values  # (..., 1)
    return logits.masked_fill(probs < threshold, float("-inf"))


def best_continuation(model, idx, n):
    V = model.config.vocab_size
    tails = torch.tensor(list(itertools.product(range(V), repeat=n)))  # (V ** n, n)
    seqs = torch.cat([idx.expand(len(tails), -1), tails], dim=1)
    return tails[sequence_logprob(model, seqs, idx.size(1)).argmax()]


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(pick) is True
    assert check.exercise_1(lambda probs, u: torch.searchsorted(probs.cumsum(0), u, right=True))
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    at_or_after = lambda probs, u: int((probs.cumsum(0) < u).sum())  # u on an edge: left slice
    assert check.exercise_1(at_or_after) is False
    assert "probability is 0" in capsys.readouterr().out
    assert check.exercise_1(lambda probs, u: int(probs.argmax())) is False
    assert "greedy" in capsys.readouterr().out
    assert check.exercise_1(lambda probs, u: int(torch.multinomial(probs, 1))) is False
    unsorted_mistake = lambda probs, u: pick(probs.sort(descending=True).values, u)
    assert check.exercise_1(unsorted_mistake) is False
    assert check.exercise_1(lambda probs, u: float(pick(probs, u))) is False  # not an id
    assert check.exercise_1(lambda probs, u: len(probs)) is False  # outside the vocabulary


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(nucleus_size) is True
    assert check.exercise_2(...) is None
    assert check.exercise_2(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def one_too_few(probs, p):  # stops before the token that crosses p
        return int((probs.sort(descending=True).values.cumsum(-1) < p).sum())

    assert check.exercise_2(one_too_few) is False
    assert "one token too few" in capsys.readouterr().out

    def unsorted(probs, p):
        return int(((probs.cumsum(-1) - probs) < p).sum())

    assert check.exercise_2(unsorted) is False
    assert check.exercise_2(lambda probs, p: int((probs >= p).sum())) is False
    assert check.exercise_2(lambda probs, p: 5) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(min_p_filter) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def probabilities(logits, min_p):
        probs = logits.softmax(-1)
        return probs.masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, 0.0)

    assert check.exercise_3(probabilities) is False
    assert "not probabilities" in capsys.readouterr().out
    zero = lambda logits, m: min_p_filter(logits, m).nan_to_num(neginf=0.0)
    assert check.exercise_3(zero) is False
    assert "-inf" in capsys.readouterr().out
    huge = lambda logits, m: min_p_filter(logits, m).nan_to_num(neginf=-1e9)
    assert check.exercise_3(huge) is False
    assert "float('-inf')" in capsys.readouterr().out
    absolute = lambda logits, m: logits.masked_fill(logits.softmax(-1) < m, float("-inf"))
    assert check.exercise_3(absolute) is False
    assert "relative" in capsys.readouterr().out

    def on_logits(logits, m):
        return logits.masked_fill(logits < m * logits.max(-1, keepdim=True).values, float("-inf"))

    assert check.exercise_3(on_logits) is False
    over_whole_batch = lambda logits, m: logits.masked_fill(
        logits.softmax(-1) < m * logits.softmax(-1).max(), float("-inf"))
    assert check.exercise_3(over_whole_batch) is False  # the largest of each row, not of all


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_cases_are_ones_where_greedy_and_beam_search_miss_the_best_sequence():
    misses = 0
    for seed, V, T, n in check.CASES_4:
        model = check._tiny_gpt(seed, V)
        idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(seed))
        greedy = generate(model, idx, n, do_sample=False)
        best = check._exhaustive(model, idx, n).max()
        misses += bool(best > sequence_logprob(model, greedy, T)[0] + 0.05)
    assert misses == 4
    seed, V, T, n = check.CASES_4[-1]  # the case where every beam of 2 .. V - 1 misses
    model = check._tiny_gpt(seed, V)
    idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(seed))
    best = check._exhaustive(model, idx, n).max()
    for num_beams in range(2, V):
        beam = beam_search(model, idx, n, num_beams=num_beams)
        assert best > sequence_logprob(model, beam, T)[0] + 1e-4, num_beams


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(best_continuation) is True
    assert check.exercise_4(...) is None
    assert check.exercise_4(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    greedy = lambda model, idx, n: generate(model, idx, n, do_sample=False)[0, idx.size(1):]
    assert check.exercise_4(greedy) is False
    assert "greedy" in capsys.readouterr().out
    with_prompt = lambda model, idx, n: torch.cat([idx[0], best_continuation(model, idx, n)])
    assert check.exercise_4(with_prompt) is False
    assert "without the prompt" in capsys.readouterr().out
    narrow_beam = lambda model, idx, n: beam_search(model, idx, n, 1)[0, idx.size(1):]
    assert check.exercise_4(narrow_beam) is False
    wider_beam = lambda model, idx, n: beam_search(model, idx, n, 3)[0, idx.size(1):]
    assert check.exercise_4(wider_beam) is False  # passed before the beam-search case
    assert "beam search" in capsys.readouterr().out
    assert check.exercise_4(lambda model, idx, n: best_continuation(model, idx, n)[:1]) is False
