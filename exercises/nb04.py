"""Checks for notebook 04 (masked self-attention): `from exercises import nb04 as check`.

Every check builds its own inputs (several lengths, random scores, a model with and without
the causal mask) and recomputes the expected result, so a hard-coded answer cannot pass.
"""

from __future__ import annotations

import torch

from exercises import NotAnswered, Wrong, as_bool, call, exercise, is_placeholder, reference, require
from helpers import (
    GPT,
    GPTConfig,
    causal_mask,
    full_mask,
    padding_mask,
    prefix_lm_mask,
    sliding_window_mask,
)

LENGTHS = (1, 2, 3, 5, 8, 13)


def _as_bool_mask(mask, T: int, name: str) -> torch.Tensor:
    """The learner's mask for length T, checked to be a (T, T) bool tensor."""
    require(isinstance(mask, torch.Tensor), f"{name} must return a torch tensor, got "
            f"{type(mask).__name__}")
    require(tuple(mask.shape) == (T, T), f"{name}({T}, ...) should have shape ({T}, {T}), "
            f"got {tuple(mask.shape)}")
    require(mask.dtype == torch.bool, f"{name} should return a bool tensor (True = may attend), "
            f"got dtype {mask.dtype}; compare with <= or <, or use .bool()")
    return mask


def _first_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    """'query i, key j' of the first cell where two masks disagree, and what it should be."""
    i, j = (got != want).nonzero()[0].tolist()
    should = "may attend" if want[i, j] else "must be hidden"
    return f"query {i}, key {j} {should}"


@exercise("04", 1)
def exercise_1(strict_past_mask) -> None:
    """strict_past_mask(T): (T, T) bool, True where key j is strictly before query i."""
    for T in sorted(LENGTHS, key=lambda T: T < 2):  # T = 1 last: one cell tells little apart
        m = _as_bool_mask(call(strict_past_mask, T), T, "strict_past_mask")
        want = torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)
        if torch.equal(m, want):
            continue
        require(not torch.equal(m, causal_mask(T)),
                "that is GPT's causal mask: each token still sees itself (the diagonal)")
        require(not torch.equal(m, want.T),
                "rows are queries and columns are keys: query i may see the keys before it")
        raise Wrong(f"at T = {T}: {_first_difference(m, want)}")


def _one_future_cell(T: int, i: int, j: int) -> torch.Tensor:
    """GPT's causal mask with one cell above the diagonal switched on: query i sees key j > i."""
    m = causal_mask(T).clone()
    m[i, j] = True
    return m


def _causality_cases(chunked_mask) -> list[tuple[str, torch.Tensor, str]]:
    """(name, mask, hint) for is_causal: masks that are causal and masks that are not."""
    g = torch.Generator().manual_seed(42)
    random_past = (torch.rand(9, 9, generator=g) < 0.5) & causal_mask(9)  # causal, any pattern
    causal = [
        ("causal_mask(8)", causal_mask(8), "GPT's own mask"),
        ("sliding_window_mask(8, 3)", sliding_window_mask(8, 3), "it hides part of the past"),
        ("strict_past_mask(6)", torch.ones(6, 6, dtype=torch.bool).tril(-1),
         "the diagonal is hidden too, as in exercise 1"),
        ("padding_mask([5], 8)[0] & causal_mask(8)", padding_mask([5], 8)[0] & causal_mask(8),
         "it also hides the padding"),
        ("a random part of causal_mask(9)", random_past, "random cells of the past hidden"),
        ("full_mask(1)", full_mask(1), "a single token sees only itself"),
    ]
    not_causal = [
        ("full_mask(8)", full_mask(8), "BERT's mask"),
        ("chunked_mask(8, 2)", chunked_mask(8, 2), "your chunked mask"),
        ("prefix_lm_mask(8, 3)", prefix_lm_mask(8, 3), "a bidirectional prefix"),
        ("causal_mask(8) with cell [3, 4] set", _one_future_cell(8, 3, 4),
         "one cell more than GPT's mask"),
        ("causal_mask(7) with cell [1, 6] set", _one_future_cell(7, 1, 6),
         "one cell more than GPT's mask"),
        ("causal_mask(5).T", causal_mask(5).T, "GPT's mask with rows and columns swapped"),
    ]
    return [(n, m, h, True) for n, m, h in causal] + [(n, m, h, False) for n, m, h in not_causal]


@exercise("04", 2)
def exercise_2(chunked_mask, is_causal) -> None:
    """chunked_mask(T, chunk), and is_causal(mask): does no query see a key after it?"""
    for T, chunk in [(8, 2), (7, 3), (5, 1), (6, 6), (9, 4), (1, 2)]:
        m = _as_bool_mask(call(chunked_mask, T, chunk), T, "chunked_mask")
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        want = j // chunk <= i // chunk  # the key's chunk is not after the query's chunk
        if torch.equal(m, want):
            continue
        require(not torch.equal(m, j // chunk == i // chunk),
                "each token sees its own chunk, and all earlier chunks too")
        require(not torch.equal(m, j // chunk < i // chunk),
                "a token also sees every token of its own chunk, itself included")
        raise Wrong(f"chunked_mask({T}, {chunk}): {_first_difference(m, want)}")
    if is_placeholder(is_causal):
        raise NotAnswered  # the mask is done, is_causal not yet
    for name, mask, what, want in _causality_cases(chunked_mask):
        got = call(is_causal, mask.clone())
        got = as_bool(got, "is_causal")  # a one-element bool tensor works in an `if` as well
        if got == want:
            continue
        question = ("A mask is causal when no query i may see a key j after it: which cells of "
                    "a (T, T) mask are those?")
        if want:
            raise Wrong(f"is_causal({name}) gave {got}, but that mask is causal ({what}). {question}")
        raise Wrong(f"is_causal({name}) gave {got}, but that mask is not causal ({what}). {question}")


class _Recorder:
    """Wraps a model and records the length of every input it is called with."""

    def __init__(self, model: GPT) -> None:
        self.model, self.lengths = model, []

    def __getattr__(self, name: str):
        return getattr(self.model, name)  # model.config, model.eval(), ... work as usual

    def __call__(self, idx: torch.Tensor, *args, **kwargs):
        self.lengths.append(idx.size(1))
        return self.model(idx, *args, **kwargs)

    forward = __call__


@reference
def _prefix_logits(model: GPT, ids: torch.Tensor) -> torch.Tensor:
    """The expected answer: each prefix run alone, its last position kept: (B, T, V)."""
    with torch.no_grad():
        return torch.cat([model(ids[:, : t + 1])[:, -1:] for t in range(ids.size(1))], dim=1)


@exercise("04", 3)
def exercise_3(logits_of_prefixes) -> None:
    """logits_of_prefixes(model, ids): (B, T, V), position t from a run on ids[:, :t + 1] alone."""
    g = torch.Generator().manual_seed(4)
    cfg = GPTConfig(vocab_size=11, n_positions=12, n_embd=12, n_layer=2, n_head=3)
    torch.manual_seed(40)  # the learner's code never sees this model's weights beforehand
    decoder = GPT(cfg).eval()
    encoder = GPT(GPTConfig(**{**cfg.to_dict(), "causal": False})).eval()
    encoder.load_state_dict(decoder.state_dict())  # the same weights, no mask
    ids = torch.randint(0, cfg.vocab_size, (2, 6), generator=g)  # (B, T) = (2, 6)
    B, T = ids.shape
    for name, model in (("the same weights without the mask", encoder), ("a GPT", decoder)):
        spy = _Recorder(model)
        with torch.no_grad():
            got = call(logits_of_prefixes, spy, ids)
        require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}")
        require(tuple(got.shape) == (B, T, cfg.vocab_size), f"for ids of shape {(B, T)} the "
                f"result should be (B, T, vocab_size) = {(B, T, cfg.vocab_size)}, got "
                f"{tuple(got.shape)}; keep the batch dimension and stack along dim=1")
        want = _prefix_logits(model, ids)
        if not torch.allclose(got.detach().to(want.dtype), want, atol=1e-5):
            with torch.no_grad():
                one_pass = model(ids)
            require(not torch.allclose(got.detach().to(want.dtype), one_pass, atol=1e-5),
                    "that is one pass over all tokens: right for a causal GPT, but the question "
                    "is what each prefix gives on its own; on a model without the causal mask "
                    "the two differ. Run the model on every prefix ids[:, :t + 1]")
            raise Wrong(f"checked on {name}: position t must hold the logits of the LAST "
                        "position of the run on ids[:, :t + 1]")
        require(sorted(set(spy.lengths)) == list(range(1, T + 1)),
                f"the model should be run once on each prefix, lengths 1..{T}; it was called "
                f"with lengths {spy.lengths}")


@reference
def _batch_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """The rule, cell by cell: (j <= i and key j is a real token) or j == i."""
    B, T = attention_mask.shape
    m = torch.zeros(B, T, T, dtype=torch.bool)
    for b in range(B):
        for i in range(T):
            for j in range(T):
                m[b, i, j] = (j <= i and bool(attention_mask[b, j])) or j == i
    return m


@exercise("04", 4)
def exercise_4(batch_mask) -> None:
    """batch_mask(attention_mask (B, T) of 1 = token, 0 = padding) -> (B, T, T) bool."""
    cases = [
        [[0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 1]],  # left
        [[1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0]],  # padded on the right
        [[0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 0]],  # both kinds in one batch
        [[1]],
    ]
    for case in cases:
        attention_mask = torch.tensor(case)  # (B, T), as a tokenizer returns it
        B, T = attention_mask.shape
        got = call(batch_mask, attention_mask.clone())
        require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}")
        require(tuple(got.shape) == (B, T, T), f"for an attention_mask of shape {(B, T)} the "
                f"result should be (B, T, T) = {(B, T, T)}, got {tuple(got.shape)}")
        require(got.dtype == torch.bool, f"return a bool mask (True = may attend), got dtype "
                f"{got.dtype}")
        want = _batch_mask(attention_mask)
        if torch.equal(got, want):
            continue
        real = attention_mask.bool()
        causal = causal_mask(T)
        require(not (got & ~causal).any(), "a query sees a key after it: the mask must stay causal")
        require(got.any(dim=-1).all(), "some query rows have no visible key at all (the padding "
                "at the start of a left-padded sentence): softmax of a row of −∞ is nan. Let "
                "every query see at least itself")
        pad_seen = got & ~real[:, None, :] & ~torch.eye(T, dtype=torch.bool)
        if pad_seen.any():
            b, i, j = pad_seen.nonzero()[0].tolist()
            raise Wrong(f"in sentence {b} (attention_mask {case[b]}), query {i} sees key {j}, "
                        "which is padding: keys whose attention_mask is 0 must be hidden")
        b, i, j = (got != want).nonzero()[0].tolist()
        should = "may attend" if want[b, i, j] else "must be hidden"
        raise Wrong(f"in sentence {b} (attention_mask {case[b]}): query {i}, key {j} {should}")
