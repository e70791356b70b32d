"""Notebook 10's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import math

import torch

from exercises import nb10 as check

# --- the worked solutions (as in notebooks/solutions/10_solutions.ipynb) ------------------


def gqa_cache_bytes(config, n_kv_head, n_tokens, batch_size, bytes_per_value):
    head_dim = config.n_embd // config.n_head
    return 2 * config.n_layer * n_tokens * n_kv_head * head_dim * bytes_per_value * batch_size


def attend_new_token(q, K, V):
    scores = q @ K.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, 1, t)
    return torch.softmax(scores, dim=-1) @ V  # (B, H, 1, d)


def greedy_with_cache(model, idx, n):
    cache = model.new_kv_cache(idx.size(0))
    logits = model(idx, kv_cache=cache)  # prefill: the whole prompt
    out = idx
    for _ in range(n):
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
        out = torch.cat([out, nxt], dim=1)
        logits = model(nxt, kv_cache=cache)  # decode: the new token only
    return out


def greedy_any_length(model, idx, n):
    n_pos = model.config.n_positions
    cache = model.new_kv_cache(idx.size(0))
    logits = model(idx[:, -n_pos:], kv_cache=cache)
    out = idx
    for step in range(n):
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
        out = torch.cat([out, nxt], dim=1)
        if step == n - 1:
            break
        if cache.length < n_pos:
            logits = model(nxt, kv_cache=cache)
        else:
            logits = model(out[:, -n_pos:])  # the window slides: recompute it
    return out


def unanswered(*args, **kwargs):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(gqa_cache_bytes) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def keys_only(c, h, n, b, nb):
        return gqa_cache_bytes(c, h, n, b, nb) // 2

    assert check.exercise_1(keys_only) is False
    assert "AND the values" in capsys.readouterr().out

    def every_head(c, h, n, b, nb):
        return 2 * c.n_layer * n * c.n_embd * nb * b

    assert check.exercise_1(every_head) is False
    assert "grouped-query" in capsys.readouterr().out

    def one_layer(c, h, n, b, nb):
        return gqa_cache_bytes(c, h, n, b, nb) // c.n_layer

    assert check.exercise_1(one_layer) is False
    assert "one layer" in capsys.readouterr().out
    assert check.exercise_1(lambda c, h, n, b, nb: 75_497_472) is False  # GPT-2 small, stored
    assert check.exercise_1(lambda c, h, n, b, nb: gqa_cache_bytes(c, h, n, 1, nb)) is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(attend_new_token) is True
    assert check.exercise_2(unanswered) is None
    capsys.readouterr()
    unscaled = lambda q, K, V: torch.softmax(q @ K.transpose(-2, -1), dim=-1) @ V
    assert check.exercise_2(unscaled) is False
    assert "sqrt(d)" in capsys.readouterr().out

    def tril_mask(q, K, V):
        scores = q @ K.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, 1, t)
        mask = torch.ones(1, K.size(2), dtype=torch.bool).tril()  # hides all but key 0
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ V

    assert check.exercise_2(tril_mask) is False
    assert "first key" in capsys.readouterr().out
    against_values = lambda q, K, V: torch.softmax(
        q @ V.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ V  # the note's erratum 2
    assert check.exercise_2(against_values) is False
    assert "KEYS" in capsys.readouterr().out
    wrong_axis = lambda q, K, V: torch.softmax(
        q @ K.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-2) @ V
    assert check.exercise_2(wrong_axis) is False
    assert check.exercise_2(lambda q, K, V: V[:, :, -1:]) is False  # only the newest value
    assert check.exercise_2(lambda q, K, V: attend_new_token(q, K, V)[:, :, 0]) is False
    assert "shape" in capsys.readouterr().out


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(greedy_with_cache) is True
    assert check.exercise_3(greedy_any_length) is True  # exercise 4's answer does both
    assert check.exercise_3(unanswered) is None
    capsys.readouterr()

    def no_cache(model, idx, n):
        out = idx
        for _ in range(n):
            out = torch.cat([out, model(out)[:, -1].argmax(-1, keepdim=True)], dim=1)
        return out

    assert check.exercise_3(no_cache) is False
    assert "cache" in capsys.readouterr().out

    def cache_then_forgotten(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt)  # no cache: the new token sits at position 0, alone
        return out

    assert check.exercise_3(cache_then_forgotten) is False

    def whole_sequence_with_cache(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        out = idx
        for _ in range(n):
            nxt = model(out, kv_cache=cache)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out

    assert check.exercise_3(whole_sequence_with_cache) is False

    def first_position(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, 0].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt, kv_cache=cache)
        return out

    assert check.exercise_3(first_position) is False
    assert check.exercise_3(lambda model, idx, n: idx) is False  # nothing generated
    assert "shape" in capsys.readouterr().out


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(greedy_any_length) is True
    assert check.exercise_4(unanswered) is None
    capsys.readouterr()
    assert check.exercise_4(greedy_with_cache) is False  # runs past the context: raises
    assert "longer than the context" in capsys.readouterr().out

    def rolled_cache(model, idx, n):
        n_pos = model.config.n_positions
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            if cache.length == n_pos:  # drop the oldest position and keep going
                for layer in range(len(cache.keys)):
                    cache.keys[layer][:, :, :-1] = cache.keys[layer][:, :, 1:].clone()
                    cache.values[layer][:, :, :-1] = cache.values[layer][:, :, 1:].clone()
                cache.lengths = [n_pos - 1] * len(cache.lengths)
            logits = model(nxt, kv_cache=cache)
        return out

    assert check.exercise_4(rolled_cache) is False
    assert "stale" in capsys.readouterr().out

    def always_recompute(model, idx, n):
        n_pos, out = model.config.n_positions, idx
        for _ in range(n):
            nxt = model(out[:, -n_pos:])[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out

    assert check.exercise_4(always_recompute) is False
    assert "not used" in capsys.readouterr().out
