"""Notebook 03's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers (including the one-line answers that passed before) are
rejected."""

import math

import torch

from exercises import nb03 as check

# --- the worked solutions (as in notebooks/solutions/03_solutions.ipynb) ------------------


def predict_zero_queries(V):
    T = V.size(0)
    weights = torch.full((T, T), 1 / T, dtype=V.dtype)
    outputs = V.mean(dim=0).expand(T, -1)
    return weights, outputs


def softmax_stable(s):
    e = torch.exp(s - s.max())
    return e / e.sum()


def fold_sqrt_d(W_q):
    return W_q / math.sqrt(W_q.size(1))


def weight_on(weights, targets):
    T_q = weights.size(1)
    return weights[:, torch.arange(T_q), targets].mean(dim=-1)


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(predict_zero_queries) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    T = lambda V: V.size(0)  # noqa: E731
    # the old exercise's answer for the notebook's 8 x 8 example, hard-coded
    hard_coded = (torch.full((8, 8), 1 / 8), torch.zeros(8, 8))
    assert check.exercise_1(lambda V: hard_coded) is False
    # weights 1/d (the size of a vector) instead of 1/T: equal in the notebook, where T = d = 8
    assert check.exercise_1(
        lambda V: (torch.full((T(V), T(V)), 1 / V.size(1)), V.mean(0).expand(T(V), -1))) is False
    # weights of 1 (not normalised)
    assert check.exercise_1(lambda V: (torch.ones(T(V), T(V)), V.sum(0).expand(T(V), -1))) is False
    assert "sums to 1" in capsys.readouterr().out
    # every query keeps its own value
    assert check.exercise_1(lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V)) is False
    assert "not the query's own value" in capsys.readouterr().out
    # the sum of the values instead of the average
    assert check.exercise_1(
        lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V.sum(0).expand(T(V), -1))) is False
    # averaged over the wrong dimension
    assert check.exercise_1(
        lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V.mean(1, keepdim=True).expand_as(V))
    ) is False
    assert check.exercise_1(lambda V: torch.full((T(V), T(V)), 1 / T(V))) is False  # not a pair


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(softmax_stable) is True
    assert check.exercise_2(...) is None
    assert check.exercise_2(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_2(lambda s: torch.exp(s) / torch.exp(s).sum()) is False  # step 2's
    assert "nan" in capsys.readouterr().out
    assert check.exercise_2(lambda s: torch.softmax(s, dim=0)) is False  # ready-made
    assert check.exercise_2(lambda s: s.softmax(0)) is False
    assert check.exercise_2(lambda s: torch.nn.functional.softmax(s, dim=0)) is False
    assert check.exercise_2(lambda s: torch.nn.Softmax(dim=0)(s)) is False
    assert "yourself" in capsys.readouterr().out
    # a ready-made softmax in disguise: exp of a log-softmax, or of s minus a logsumexp
    assert check.exercise_2(lambda s: torch.exp(torch.log_softmax(s, 0))) is False
    assert check.exercise_2(lambda s: torch.nn.functional.log_softmax(s, dim=0).exp()) is False
    assert check.exercise_2(lambda s: s.log_softmax(0).exp()) is False
    assert check.exercise_2(lambda s: torch.special.log_softmax(s, 0).exp()) is False
    assert check.exercise_2(lambda s: torch.exp(torch.nn.LogSoftmax(dim=0)(s))) is False
    assert check.exercise_2(lambda s: torch.exp(s - torch.logsumexp(s, 0))) is False
    assert check.exercise_2(lambda s: torch.exp(s - s.logsumexp(0))) is False
    out = capsys.readouterr().out
    assert out.count("write the softmax yourself") == 7 and "raised" not in out
    assert check.exercise_2(lambda s: torch.exp(s - s.min()) / torch.exp(s - s.min()).sum()) is False
    assert check.exercise_2(lambda s: torch.exp(s - s.mean()) / torch.exp(s - s.mean()).sum()) is False
    assert check.exercise_2(lambda s: torch.exp(s - s.max())) is False  # not divided by the sum
    assert "sum to 1" in capsys.readouterr().out
    assert check.exercise_2(lambda s: torch.exp(s - s.max()) / s.numel()) is False
    # after a check, torch's own softmax works again
    assert torch.allclose(torch.softmax(torch.zeros(2), dim=0), torch.full((2,), 0.5))
    assert torch.allclose(torch.zeros(2).softmax(0), torch.full((2,), 0.5))
    assert torch.allclose(torch.log_softmax(torch.zeros(2), 0).exp(), torch.full((2,), 0.5))
    assert torch.allclose(torch.zeros(2).logsumexp(0), torch.tensor(math.log(2)))


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(fold_sqrt_d) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_3(lambda W: W / math.sqrt(W.size(0))) is False  # √C, equal when C = d
    assert "√C" in capsys.readouterr().out
    assert check.exercise_3(lambda W: W / math.sqrt(8)) is False  # the notebook's d, hard-coded
    assert check.exercise_3(lambda W: W * math.sqrt(W.size(1))) is False
    assert check.exercise_3(lambda W: W / W.size(1)) is False
    assert check.exercise_3(lambda W: W) is False
    assert check.exercise_3(lambda W: (W / math.sqrt(W.size(1))).T) is False  # wrong shape


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(weight_on) is True
    assert check.exercise_4(...) is None
    assert check.exercise_4(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    T_q = lambda w: w.size(1)  # noqa: E731
    assert check.exercise_4(  # averaged over the heads, not the queries
        lambda w, t: w[:, torch.arange(T_q(w)), t].mean(dim=0)) is False
    assert check.exercise_4(  # summed, not averaged
        lambda w, t: w[:, torch.arange(T_q(w)), t].sum(dim=-1)) is False
    assert check.exercise_4(  # how often the target wins, not how much weight it gets
        lambda w, t: (w.argmax(dim=-1) == t).double().mean(dim=-1)) is False
    assert "how much weight" in capsys.readouterr().out
    assert check.exercise_4(  # every query against every target, not its own
        lambda w, t: w[:, :, t].mean(dim=(1, 2))) is False
    assert check.exercise_4(  # the weight each query puts on itself, not on its target
        lambda w, t: w[:, torch.arange(T_q(w)), torch.arange(w.size(2) - T_q(w), w.size(2))]
        .mean(dim=-1)) is False
    assert check.exercise_4(lambda w, t: torch.tensor([0.74, 0.16, 0.12, 0.21, 0.12, 0.06])) is False


def test_checks_leave_the_notebooks_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for run, solution in [(check.exercise_1, predict_zero_queries),
                          (check.exercise_2, softmax_stable), (check.exercise_3, fold_sqrt_d),
                          (check.exercise_4, weight_on)]:
        assert run(solution) is True
    assert torch.equal(torch.rand(3), expected)
