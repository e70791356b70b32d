"""Checks for notebook 10 (the KV cache): `from exercises import nb10 as check`.

Every check builds its own inputs (random configurations, random queries, keys and values,
tiny random GPTs and prompts) and recomputes the expected result, so a hard-coded answer
cannot pass. The generation checks also watch how the model is called: a loop that gets the
right tokens without using the cache as helpers.generate does is told so, and so is a call of
helpers.generate itself (or of any other of helpers' loops).
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
from pathlib import Path

import torch

import helpers
from exercises import Wrong, call, exercise, require
from helpers import GPT, GPTConfig, generate, load_default_model, self_attention
from helpers.attention import causal_mask
from helpers.data import load_text


@exercise("10", 1)
def exercise_1(gqa_cache_bytes) -> None:
    """gqa_cache_bytes(config, n_kv_head, n_tokens, batch_size, bytes_per_value) -> int."""
    cases = [
        (GPTConfig(), 12, 1024, 1, 4),  # GPT-2 small, one key/value head per query head
        (GPTConfig(), 4, 1024, 1, 4),
        (GPTConfig(n_layer=48, n_head=25, n_embd=1600), 1, 1024, 8, 2),  # XL shape, MQA, fp16
        (GPTConfig(vocab_size=65, n_positions=128, n_embd=192, n_layer=6, n_head=6), 2, 100, 3, 4),
        (GPTConfig(n_layer=3, n_head=8, n_embd=64), 8, 17, 5, 4),
    ]
    for c, n_kv_head, n_tokens, batch_size, nbytes in cases:
        got = call(gqa_cache_bytes, c, n_kv_head, n_tokens, batch_size, nbytes)
        # a Python or NumPy number (np.prod gives numpy.int64), or a one-element tensor
        require((isinstance(got, numbers.Real) and not isinstance(got, bool))
                or (isinstance(got, torch.Tensor) and got.numel() == 1),
                f"return a number of bytes, got {type(got).__name__}")
        want = 2 * c.n_layer * n_tokens * n_kv_head * c.head_dim * nbytes * batch_size
        where = (f"(n_layer={c.n_layer}, n_head={c.n_head}, n_embd={c.n_embd}, "
                 f"n_kv_head={n_kv_head}, n_tokens={n_tokens}, batch_size={batch_size}, "
                 f"bytes_per_value={nbytes})")
        got = float(got)
        if math.isclose(got, want):
            continue
        require(not math.isclose(got, want / 2), f"half the right size {where}: both the keys "
                "AND the values are kept")
        require(n_kv_head == c.n_head or not math.isclose(got, want * c.n_head / n_kv_head),
                f"that is the size with one key/value head per query head {where}: with "
                "grouped-query attention only n_kv_head heads of head_dim values are stored")
        require(not math.isclose(got, want / c.n_layer), f"that is one layer {where}; every "
                "layer keeps its own keys and values")
        raise Wrong(f"wrong size {where}: count the numbers stored per token and per layer, "
                    "then multiply")


@exercise("10", 2)
def exercise_2(attend_new_token) -> None:
    """attend_new_token(q (B, H, 1, d), K (B, H, t, d), V (B, H, t, d)) -> (B, H, 1, d)."""
    g = torch.Generator().manual_seed(10)
    # the last queries are 1000 times larger: scores far apart, where exp overflows
    for B, H, t, d, scale in [(1, 1, 1, 4, 1.0), (2, 3, 5, 8, 1.0), (1, 4, 9, 16, 1.0),
                              (3, 2, 2, 6, 1.0), (2, 2, 6, 8, 1000.0)]:
        q_all = scale * torch.randn(B, H, t, d, generator=g, dtype=torch.float64)
        K = torch.randn(B, H, t, d, generator=g, dtype=torch.float64)
        V = torch.randn(B, H, t, d, generator=g, dtype=torch.float64)
        q = q_all[:, :, -1:]  # the newest token's query, (B, H, 1, d)
        got = call(attend_new_token, q.clone(), K.clone(), V.clone())
        require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}")
        require(tuple(got.shape) == (B, H, 1, d), f"for q {(B, H, 1, d)} and K, V {(B, H, t, d)} "
                f"the output's shape should be (B, H, 1, d) = {(B, H, 1, d)}, got "
                f"{tuple(got.shape)}")
        full, _ = self_attention(q_all, K, V, causal_mask(t))  # every query, causal mask
        want = full[:, :, -1:]  # the newest token's row
        if torch.allclose(got.double(), want, atol=1e-6):
            continue
        largest = float((q @ K.transpose(-2, -1)).max()) / math.sqrt(d)
        require(scale == 1.0 or not got.isnan().any(), f"the output holds nan for scores as "
                f"large as {largest:.0f}: exp of a score above about 709 is inf (in float64), "
                "and inf / inf is nan. Subtract each row's largest score before exp, as "
                "torch.softmax does")
        unscaled = torch.softmax(q @ K.transpose(-2, -1), dim=-1) @ V
        require(not torch.allclose(got.double(), unscaled, atol=1e-6),
                "the scores need dividing by sqrt(d), as in notebook 03")
        against_values = torch.softmax(q @ V.transpose(-2, -1) / math.sqrt(d), dim=-1) @ V
        require(not torch.allclose(got.double(), against_values, atol=1e-6),
                "the scores come from the query and the KEYS (q·k); the values are only what "
                "the weights then sum")
        first_only = V[:, :, :1]
        require(t == 1 or not torch.allclose(got.double(), first_only, atol=1e-6),
                "the new token sees only the first key: a causal mask of shape (1, t) from "
                "tril hides everything after it. The newest token may see every cached key")
        raise Wrong(f"for t = {t} cached keys the output differs from the last row of full "
                    "causal attention: scores against every key, softmax over the keys, "
                    "weighted sum of the values")


def _tiny_gpt(seed: int, n_positions: int) -> GPT:
    """A tiny GPT with large random weights: its greedy choices depend on every position."""
    torch.manual_seed(seed)
    cfg = GPTConfig(vocab_size=17, n_positions=n_positions, n_embd=16, n_layer=2, n_head=2)
    model = GPT(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


HELPERS = str(Path(helpers.__file__).parent) + os.sep  # its generation loops are ready-made


class _Spy:
    """Wraps a model and records (number of tokens, whether a cache was given) for every call.

    A call that comes from inside `helpers` (helpers.generate, beam_search, ...) is refused:
    the exercise is to write the generation loop, not to call one."""

    def __init__(self, model: GPT) -> None:
        self.model, self.calls = model, []

    def __getattr__(self, name: str):
        return getattr(self.model, name)  # config, new_kv_cache, eval() ... work as usual

    def __call__(self, idx, *args, **kwargs):
        ready_made = None  # the outermost function of helpers between the learner and here
        frame = inspect.currentframe().f_back
        while frame is not None and frame.f_code is not call.__code__:  # up to the check
            if frame.f_code.co_filename.startswith(HELPERS):
                ready_made = frame.f_code.co_name
            frame = frame.f_back
        if ready_made is not None:
            raise Wrong(f"the model was called by helpers' {ready_made}, a ready-made "
                        "generation loop: write the loop yourself, with model.new_kv_cache "
                        "and model(..., kv_cache=cache)")
        logits = self.model(idx, *args, **kwargs)  # first, so the model's own errors show
        self.calls.append((idx.size(1), kwargs.get("kv_cache") is not None))
        return logits

    forward = __call__


def _generated(fn, model: GPT, idx: torch.Tensor, n: int) -> tuple[torch.Tensor, _Spy]:
    spy = _Spy(model)
    with torch.no_grad():
        out = call(fn, spy, idx.clone(), n)
    require(isinstance(out, torch.Tensor), f"return a tensor of token ids, got "
            f"{type(out).__name__}")
    require(not out.is_floating_point(), f"token ids are whole numbers: return them as "
            f"integers (torch.long, as the prompt is), got {out.dtype}")
    B, T = idx.shape
    require(tuple(out.shape) == (B, T + n), f"for a prompt of shape {(B, T)} and {n} new tokens "
            f"the result should be (B, T + n) = {(B, T + n)}, got {tuple(out.shape)}")
    return out, spy


@exercise("10", 3)
def exercise_3(greedy_with_cache) -> None:
    """greedy_with_cache(model, idx, n): n greedy tokens, prefill then one token per call."""
    for seed, (B, T, n) in [(1, (1, 4, 8)), (2, (2, 5, 10)), (3, (1, 1, 6)), (4, (2, 3, 0))]:
        model = _tiny_gpt(seed, n_positions=24)
        idx = torch.randint(0, 17, (B, T), generator=torch.Generator().manual_seed(seed))
        out, spy = _generated(greedy_with_cache, model, idx, n)
        want = generate(model, idx, n, do_sample=False)
        require(torch.equal(out[:, :T], idx), "the result should start with the prompt")
        cached = [length for length, with_cache in spy.calls if with_cache]
        if torch.equal(out, want) and n == 0:  # nothing to generate: no call, or the prefill
            require(spy.calls in ([], [(T, True)]), f"for n = 0 new tokens the model needs no "
                    f"call, or only the prefill (calls: {spy.calls}, as (tokens, with a cache))")
            continue
        if torch.equal(out, want):
            require(spy.calls != [], "the right tokens, but the model itself was never called "
                    "(calls: []): use helpers' cache, cache = model.new_kv_cache(B), and run "
                    "the model with it, model(idx, kv_cache=cache)")
            require(spy.calls[0][1], f"the right tokens, but the model never read the prompt "
                    f"into a cache (calls: {spy.calls}, as (tokens, with a cache)). Start "
                    "with model(idx, kv_cache=cache) on the whole prompt")
            require(cached[0] == T, f"the right tokens, but the first call should read the "
                    f"whole prompt, all T = {T} tokens, into the cache (calls: {spy.calls}, as "
                    "(tokens, with a cache))")
            require(len(cached) == len(spy.calls), "the right tokens, but some calls ran the "
                    f"model without the cache (calls: {spy.calls}, as (tokens, with a cache)): "
                    "every step should read the cache and feed only the newest token")
            require(len(cached) >= n - 1 and set(cached[1:]) <= {1}, "the right tokens, but "
                    f"after the prompt the model was run on {sorted(set(cached[1:]))} tokens "
                    "at a time; with the cache, each step needs only the newest token")
            continue
        require(len(spy.calls) > 1, "the model was called only once: run it once per new token")
        require(any(c for _, c in spy.calls), "no call passed the cache: pass "
                "kv_cache=cache (from model.new_kv_cache(B)) to every call")
        raise Wrong(f"different tokens from greedy decoding (prompt {idx.tolist()}): each step "
                    "takes the argmax of the LAST position's logits and feeds that token, only "
                    "that token, with the same cache")


def _shipped_cases() -> list[tuple[GPT, torch.Tensor, int]]:
    """The shipped model and prompts of 100 characters of Tiny Shakespeare: 45 new tokens run
    17 past its context of 128 (a trained model, so stale positions change what it writes)."""
    model, tok = load_default_model()
    text = load_text()
    one = torch.tensor([tok.encode(text[:100])])  # (1, 100)
    two = torch.tensor([tok.encode(text[5000:5100]), tok.encode(text[20000:20100])])  # (2, 100)
    return [(model, one, 45), (model, two, 45)]


def _generate_calls(T: int, n_pos: int, count: int) -> list[tuple[int, bool | None]]:
    """The first `count` model calls of helpers.generate for a prompt of T tokens, as (tokens,
    with a cache); None where either will do (a full window, after which the cache is unused)."""
    length = min(T, n_pos)  # the prefill reads the prompt's last window
    calls = [(length, True if length < n_pos else None)]
    while len(calls) < count:
        if length < n_pos:  # room left: one token with the cache
            length += 1
            calls.append((1, True))
        else:  # full: the latest window, recomputed
            calls.append((n_pos, None))
    return calls[:count]


@exercise("10", 4)
def exercise_4(greedy_any_length) -> None:
    """greedy_any_length(model, idx, n): as exercise 3, and past the context window too."""
    tiny = _tiny_gpt(6, n_positions=16)
    short = torch.randint(0, 17, (1, 2), generator=torch.Generator().manual_seed(6))
    long = torch.randint(0, 17, (2, 21), generator=torch.Generator().manual_seed(7))  # > 16
    for model, idx, n in [(tiny, short, 4), *_shipped_cases(), (tiny, long, 5)]:
        B, T = idx.shape
        n_pos = model.config.n_positions
        out, spy = _generated(greedy_any_length, model, idx, n)
        want = generate(model, idx, n, do_sample=False)
        require(torch.equal(out[:, :T], idx), "the result should start with the prompt")
        if not torch.equal(out, want):
            first = int((out != want).any(dim=0).nonzero()[0])
            if T > n_pos and first == T:
                raise Wrong(f"a prompt of {T} tokens is longer than the context (n_positions = "
                            f"{n_pos}), and the first new token already differs: read the "
                            f"prompt through its LAST window of {n_pos} tokens")
            if first >= n_pos:
                raise Wrong(f"right up to the context's end ({n_pos} tokens), then different: "
                            "once the window slides every token changes position, so the "
                            "cached keys and values are stale; recompute the window instead")
            raise Wrong(f"different tokens from greedy decoding from token {first} on, while "
                        "the sequence still fits the context; get exercise 3 right first")
        # the calls of generate: n of them, or one more (a decode step after the last token)
        due = _generate_calls(T, n_pos, n + 1)
        calls = spy.calls
        fits = [length == due_length and due_cached in (None, cached)  # up to n + 1 calls
                for (length, cached), (due_length, due_cached) in zip(calls, due, strict=False)]
        if len(calls) in (n, n + 1) and all(fits):
            continue
        require((1, True) not in due[:n] or (1, True) in calls, "the right tokens, but the "
                "cache was not used while the sequence still fit the context: until it is "
                "full, feed one token at a time with the cache")
        step = fits.index(False) if not all(fits) else min(len(calls), n + 1)  # the first wrong
        length, cached = due[min(step, n)]
        expected = f"({length}, True)" if cached else f"({length}, True or False)"
        if step > n:
            wrong = f"call {step + 1}, {calls[step]}, is one call too many"
        elif step >= len(calls):
            wrong = f"call {step + 1} is missing, where {expected} was due"
        else:
            wrong = f"call {step + 1} was {calls[step]} where {expected} was due"
        raise Wrong(f"the right tokens, but {wrong}, as (tokens, with a cache). The calls should "
                    f"be: the prompt (at most its last {n_pos} tokens) with the cache, then one "
                    f"token per call with the cache while it has room, then the latest {n_pos} "
                    "tokens without it; and no other calls (a check against recomputation "
                    "belongs outside the function)")
