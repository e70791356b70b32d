"""Notebook 11's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import math

import torch
import torch.nn.functional as F

from exercises import nb11 as check
from helpers import causal_mask

# --- the worked solutions (as in notebooks/solutions/11_solutions.ipynb) ------------------


def attention_entropy(attention):
    return torch.special.entr(attention).sum(-1).mean(dim=(0, 2))


def induction_share(attention, idx):
    B, T = idx.shape
    before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
    match = (before[:, None, :] == idx[:, :, None]) & causal_mask(T)  # (B, T_q, T_k)
    has = match.any(-1)  # (B, T)
    share = (attention * match[:, None]).sum(-1)  # (B, H, T)
    return (share * has[:, None]).sum(dim=(0, 2)) / has.sum()


def loss_without_head(model, idx, layer, head):
    hd = model.config.head_dim

    def drop_head(module, args):
        x = args[0].clone()
        x[..., head * hd:(head + 1) * hd] = 0.0
        return (x,)

    hook = model.h[layer].attn.c_proj.register_forward_pre_hook(drop_head)
    try:
        with torch.no_grad():
            logits = model(idx)
    finally:
        hook.remove()
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(attention_entropy) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    naive = lambda a: -(a * a.log()).sum(-1).mean(dim=(0, 2))  # 0 * log 0 = nan
    assert check.exercise_1(naive) is False
    assert "0 · ln 0" in capsys.readouterr().out
    assert check.exercise_1(lambda a: -attention_entropy(a)) is False
    assert "flip its sign" in capsys.readouterr().out
    assert check.exercise_1(lambda a: attention_entropy(a) / math.log(2)) is False
    assert "nats" in capsys.readouterr().out
    assert check.exercise_1(lambda a: torch.special.entr(a).mean(-1).mean(dim=(0, 2))) is False
    assert check.exercise_1(lambda a: torch.special.entr(a).sum(-1).mean(-1)) is False  # (B, H)
    assert "one number per head" in capsys.readouterr().out
    fixed = attention_entropy(check.random_attention(2, 3, 6, seed=1))
    assert check.exercise_1(lambda a: fixed) is False  # hard-coded for one input


# --- exercise 2 -----------------------------------------------------------------------------


def duplicate_share(attention, idx):
    T = idx.size(1)
    same = (idx[:, None, :] == idx[:, :, None]) & causal_mask(T).tril(-1)
    has = same.any(-1)
    return ((attention * same[:, None]).sum(-1) * has[:, None]).sum(dim=(0, 2)) / has.sum()


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(induction_share) is True
    assert check.exercise_2(...) is None
    assert check.exercise_2(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_2(duplicate_share) is False  # the copy itself, not the token after it
    assert "duplicate-token head" in capsys.readouterr().out

    def every_query(attention, idx):
        B, T = idx.shape
        before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
        match = (before[:, None, :] == idx[:, :, None]) & causal_mask(T)
        return (attention * match[:, None]).sum(-1).mean(dim=(0, 2))

    assert check.exercise_2(every_query) is False
    assert "average only over the queries" in capsys.readouterr().out

    def future_too(attention, idx):  # forgets the causal limit on keys: same numbers, in fact
        B, T = idx.shape
        before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
        match = before[:, None, :] == idx[:, :, None]
        has = match.any(-1)  # but counts queries whose match is only in the future
        return ((attention * match[:, None]).sum(-1) * has[:, None]).sum(dim=(0, 2)) / has.sum()

    assert check.exercise_2(future_too) is False
    offset_one = lambda a, idx: a.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2))
    assert check.exercise_2(offset_one) is False  # a previous-token score is something else


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(loss_without_head) is True
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def clean_loss(model, idx, layer, head):
        with torch.no_grad():
            logits = model(idx)
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()

    assert check.exercise_3(clean_loss) is False
    assert "every head at work" in capsys.readouterr().out

    def hook_left_behind(model, idx, layer, head):
        hd = model.config.head_dim

        def drop_head(module, args):
            x = args[0].clone()
            x[..., head * hd:(head + 1) * hd] = 0.0
            return (x,)

        model.h[layer].attn.c_proj.register_forward_pre_hook(drop_head)  # never removed
        with torch.no_grad():
            logits = model(idx)
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()

    assert check.exercise_3(hook_left_behind) is False
    assert "remove the hook" in capsys.readouterr().out
    assert check.exercise_3(lambda m, idx, layer, head: loss_without_head(m, idx, head % 3, layer)) is False
    assert "another head" in capsys.readouterr().out

    def zero_queries(model, idx, layer, head):  # even attention, not a removed head
        hd, attn = model.config.head_dim, model.h[layer].attn

        def drop_query(module, args, out):
            out = out.clone()
            out[..., head * hd:(head + 1) * hd] = 0.0
            return out

        hook = attn.c_attn.register_forward_hook(drop_query)
        try:
            with torch.no_grad():
                logits = model(idx)
        finally:
            hook.remove()
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()

    assert check.exercise_3(zero_queries) is False
    assert check.exercise_3(lambda m, idx, layer, head: 2.5) is False
