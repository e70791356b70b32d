"""Notebook 07's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import torch
import torch.nn.functional as F

from exercises import nb07 as check

# --- the worked solutions (as in notebooks/solutions/07_solutions.ipynb) ------------------


def gpt_parameters(vocab_size, n_positions, n_embd, n_layer):
    block = 12 * n_embd**2 + 13 * n_embd  # notebook 06
    return n_layer * block + vocab_size * n_embd + n_positions * n_embd + 2 * n_embd


def logits_with_head(model, idx, head):
    x = model.wte(idx) + model.wpe(torch.arange(idx.size(1)))  # (B, T, C)
    for block in model.h:
        x = block(x)
    return model.ln_f(x) @ head.T  # (B, T, C) @ (C, V) -> (B, T, V)


def text_logprob(model, idx):
    logp = F.log_softmax(model(idx), dim=-1)  # (B, T, V)
    return logp[:, :-1].gather(-1, idx[:, 1:, None])[..., 0].sum(dim=-1)  # (B,)


def share_predicting_input(model, idx):
    return (model(idx).argmax(dim=-1) == idx).float().mean().item()


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(gpt_parameters) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    untied = lambda V, P, C, L: gpt_parameters(V, P, C, L) + V * C
    assert check.exercise_1(untied) is False
    assert "output layer is wte" in capsys.readouterr().out
    no_ln_f = lambda V, P, C, L: gpt_parameters(V, P, C, L) - 2 * C
    assert check.exercise_1(no_ln_f) is False
    assert "ln_f" in capsys.readouterr().out
    no_wpe = lambda V, P, C, L: gpt_parameters(V, P, C, L) - P * C
    assert check.exercise_1(no_wpe) is False
    assert "wpe" in capsys.readouterr().out
    assert check.exercise_1(lambda V, P, C, L: 124_439_808) is False  # GPT-2 small hard-coded
    assert check.exercise_1(lambda V, P, C, L: L * 7_087_872 + (V + P + 2) * C) is False
    assert check.exercise_1(lambda V, P, C, L: "124M") is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(logits_with_head) is True
    assert check.exercise_2(...) is None
    assert check.exercise_2(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_2(lambda model, idx, head: model(idx)) is False  # ignores head
    assert "use `head`" in capsys.readouterr().out

    def no_ln_f(model, idx, head):
        x = model.wte(idx) + model.wpe(torch.arange(idx.size(1)))
        for block in model.h:
            x = block(x)
        return x @ head.T

    assert check.exercise_2(no_ln_f) is False
    assert "ln_f" in capsys.readouterr().out

    def no_positions(model, idx, head):
        x = model.wte(idx)
        for block in model.h:
            x = block(x)
        return model.ln_f(x) @ head.T

    assert check.exercise_2(no_positions) is False
    assert "wpe" in capsys.readouterr().out
    assert check.exercise_2(lambda m, i, h: logits_with_head(m, i, h).softmax(-1)) is False
    assert check.exercise_2(lambda m, i, h: logits_with_head(m, i, h)[:, -1]) is False  # shape
    assert check.exercise_2(lambda m, i, h: logits_with_head(m, i, h.T)) is False  # raises


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(text_logprob) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def no_shift(model, idx):
        logp = F.log_softmax(model(idx), dim=-1)
        return logp.gather(-1, idx[..., None])[..., 0].sum(dim=-1)

    assert check.exercise_3(no_shift) is False
    assert "NEXT token" in capsys.readouterr().out
    mean = lambda model, idx: text_logprob(model, idx) / (idx.size(1) - 1)
    assert check.exercise_3(mean) is False
    assert "not their mean" in capsys.readouterr().out
    assert check.exercise_3(lambda model, idx: text_logprob(model, idx).exp()) is False
    assert "not the probability" in capsys.readouterr().out

    def softmax_over_positions(model, idx):
        logp = F.log_softmax(model(idx), dim=1)  # the wrong dimension
        return logp[:, :-1].gather(-1, idx[:, 1:, None])[..., 0].sum(dim=-1)

    assert check.exercise_3(softmax_over_positions) is False
    assert check.exercise_3(lambda model, idx: text_logprob(model, idx)[:1]) is False  # shape


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(share_predicting_input) is True
    assert check.exercise_4(lambda m, i: (m(i).argmax(-1) == i).float().mean()) is True  # tensor
    assert check.exercise_4(...) is None
    assert check.exercise_4(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def next_token(model, idx):
        return (model(idx).argmax(-1)[:, :-1] == idx[:, 1:]).float().mean().item()

    assert check.exercise_4(next_token) is False
    assert "same position" in capsys.readouterr().out
    count = lambda model, idx: (model(idx).argmax(-1) == idx).sum().item()
    assert check.exercise_4(count) is False
    assert "not a count" in capsys.readouterr().out
    assert check.exercise_4(lambda model, idx: 0.9) is False  # hard-coded
    assert check.exercise_4(lambda model, idx: model(idx).argmax(-1) == idx) is False  # no share
