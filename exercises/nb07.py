"""Checks for notebook 07 (the whole model and its output): `from exercises import nb07 as check`.

Every check builds its own models (random weights, several shapes, GPT-2's sizes on the `meta`
device) and recomputes the expected result, so a hard-coded answer cannot pass.
"""

from __future__ import annotations

import dis
import numbers

import torch
import torch.nn.functional as F

from exercises import LearnersCodeRaised, Wrong, as_int, call, call_refusing, exercise, reference, require
from helpers import GPT, GPTConfig, sequence_logprob
from helpers.objectives import token_logprobs

# (vocab_size, n_positions, n_embd, n_layer): GPT-2's four sizes, the shipped model, odd ones
SHAPES = [
    (50257, 1024, 768, 12), (50257, 1024, 1024, 24), (50257, 1024, 1280, 36),
    (50257, 1024, 1600, 48), (65, 128, 192, 6), (11, 7, 12, 3), (1000, 64, 40, 1), (3, 2, 4, 2),
]


@reference
def _count_on_meta(vocab_size: int, n_positions: int, n_embd: int, n_layer: int) -> int:
    """The parameters of helpers.GPT of this shape, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = GPT(GPTConfig(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd,
                              n_layer=n_layer, n_head=1))
    return model.num_parameters()


# The first model built on the meta device makes PyTorch import a part of itself that replaces
# torch.manual_seed with a wrapped version. Build one now, so that no check changes torch later.
_count_on_meta(3, 2, 4, 1)


@exercise("07", 1)
def exercise_1(gpt_parameters) -> None:
    """gpt_parameters(vocab_size, n_positions, n_embd, n_layer): helpers.GPT's parameter count."""
    for V, P, C, L in SHAPES:
        got = call(gpt_parameters, V, P, C, L)
        if isinstance(got, float) and got.is_integer():  # 124439808.0 from a division is fine
            got = int(got)
        got = as_int(got, "gpt_parameters")  # also a NumPy integer or a one-element tensor
        want = _count_on_meta(V, P, C, L)
        if got == want:
            continue
        shape = f"vocab_size={V}, n_positions={P}, n_embd={C}, n_layer={L}"
        require(got != want + V * C, f"for {shape} you count one matrix of vocab_size x n_embd too "
                "many: the output layer is wte itself, it adds nothing")
        require(got != want - 2 * C, f"for {shape} you are 2 * n_embd short: ln_f, the final "
                "LayerNorm after the blocks, has a gain and a bias")
        require(got != want - P * C, f"for {shape} you are n_positions * n_embd short: wpe")
        require(got != want - V * C, f"for {shape} you are vocab_size * n_embd short: wte")
        raise Wrong(f"for {shape} the model has a different count (you are off by "
                    f"{abs(int(got) - want):,}); notebook 06 counts one block by hand")


def _random_gpt(seed: int, causal: bool = True, **sizes) -> GPT:
    torch.manual_seed(seed)
    cfg = GPTConfig(**{"vocab_size": 13, "n_positions": 16, "n_embd": 24, "n_layer": 2,
                       "n_head": 3, "causal": causal, **sizes})
    model = GPT(cfg).eval()
    with torch.no_grad():  # random LayerNorm gains and biases, so forgetting one shows
        for name, p in model.named_parameters():
            if "ln_" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.2)
    return model


@reference
def _hidden(model: GPT, idx: torch.Tensor, positions: str = "0..T-1", final_norm: bool = True,
            blocks: bool = True):
    """The last hidden states (B, T, C); for the hints also with other positions ("none", "ids",
    "1..T"), without ln_f or without the blocks."""
    T = idx.size(1)
    x = model.wte(idx)
    if positions != "none":
        x = x + model.wpe({"0..T-1": torch.arange(T), "1..T": torch.arange(1, T + 1),
                           "ids": idx}[positions])
    for block in model.h if blocks else []:
        x = block(x)
    return model.ln_f(x) if final_norm else x


# the notebook's own globals: a learner's function that reads them ignores the model it was given
NOTEBOOK_NAMES = {"wte", "wpe", "h", "ln_f", "final_hidden", "gpt_forward", "x_final", "T", "B",
                  "gpt", "parts", "trained", "cfg"}


def _globals_read(fn) -> set[str]:
    """The global names a function (and any function defined inside it) reads."""
    found, codes = set(), [getattr(fn, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        found |= {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
        codes += [c for c in code.co_consts if hasattr(c, "co_code")]
    return found


def _no_notebook_globals(fn) -> None:
    """Fail with a hint when the learner's function reads the notebook's model parts."""
    used = sorted(_globals_read(fn) & NOTEBOOK_NAMES)
    require(not used, f"your function reads the notebook's {', '.join(used)}: use the parts of "
            "the `model` it is given (model.wte, model.wpe, model.h, model.ln_f) and idx's own "
            "shape; the check's models have other sizes")


def _as_tensor(got, name: str, shape: tuple) -> torch.Tensor:
    require(isinstance(got, torch.Tensor), f"{name} should return a tensor, got {type(got).__name__}")
    require(tuple(got.shape) == shape, f"{name} should return shape {shape} here, got "
            f"{tuple(got.shape)}")
    return got.detach().double()


@exercise("07", 2)
def exercise_2(logits_with_head) -> None:
    """logits_with_head(model, idx, head): the model's hidden states times a separate (V, C) head."""
    g = torch.Generator().manual_seed(7)
    for seed, causal, B, T in ((1, True, 2, 6), (2, False, 1, 9), (3, True, 3, 1)):
        model = _random_gpt(seed, causal)
        V, C = model.config.vocab_size, model.config.n_embd
        idx = torch.randint(0, V, (B, T), generator=g)
        head = torch.randn(V, C, generator=g)  # a separate output layer, not wte
        with torch.no_grad():
            # everything to compare with is computed first, while the model is as the check made
            # it (call() then also fails an answer that changes the model's weights)
            want = (_hidden(model, idx) @ head.T).double()
            own = model(idx).double()
            slips = [  # (logits of a common slip, its hint)
                (own, "those are the model's own logits (the tied wte): use `head` instead"),
                (_hidden(model, idx, positions="ids") @ head.T, "the positions are 0, 1, …, T-1, "
                 "not the token ids: wpe(torch.arange(T)), not wpe(idx)"),
                (_hidden(model, idx, positions="1..T") @ head.T, "the positions start at 0: the "
                 "first token is at position 0, so wpe(torch.arange(T)), not 1 … T"),
                (_hidden(model, idx, final_norm=False) @ head.T,
                 "the blocks' output goes through ln_f first"),
                (_hidden(model, idx, positions="none") @ head.T,
                 "add the position embeddings wpe to wte(idx)"),
                (_hidden(model, idx, blocks=False) @ head.T, "the embeddings go through the "
                 "blocks (for block in model.h: x = block(x)) before ln_f"),
                (F.softmax(want, dim=-1), "return the logits, before any softmax"),
                (F.log_softmax(want, dim=-1), "return the logits, before any (log-)softmax"),
            ]
            try:
                got = _as_tensor(call(logits_with_head, model, idx, head), "logits_with_head",
                                 (B, T, V))
            except (LearnersCodeRaised, Wrong):  # a crash, or a wrong shape
                _no_notebook_globals(logits_with_head)
                raise
            if torch.allclose(got, want, atol=1e-4):
                tied = _as_tensor(call(logits_with_head, model, idx, model.wte.weight),
                                  "logits_with_head", (B, T, V))
                require(torch.allclose(tied, own, atol=1e-4),
                        "with head = model.wte.weight your logits should be model(idx)'s")
                continue
            for logits, hint in slips:
                require(not torch.allclose(got, logits.double(), atol=1e-4), hint)
            _no_notebook_globals(logits_with_head)
        raise Wrong("the logits differ from ln_f(blocks(wte(idx) + wpe(positions))) @ head.T")


@exercise("07", 3)
def exercise_3(text_logprob) -> None:
    """text_logprob(model, idx): (B,) sum over t of log p(idx[:, t + 1] | idx[:, :t + 1])."""
    g = torch.Generator().manual_seed(3)
    # the last model's logits lie hundreds apart: many probabilities round to 0 in a softmax
    for seed, B, T, sharpness in ((4, 2, 7, 1.0), (5, 3, 12, 1.0), (6, 1, 2, 1.0),
                                  (7, 2, 8, 300.0)):
        model = _random_gpt(seed, vocab_size=11)
        with torch.no_grad():
            model.ln_f.weight.mul_(sharpness)  # the logits grow by the same factor
        idx = torch.randint(0, 11, (B, T), generator=g)
        with torch.no_grad():
            want = sequence_logprob(model, idx, 1).double()  # before the learner's code runs
            got = _as_tensor(call_refusing(text_logprob, model, idx, refuse=(),
                                           callers=(sequence_logprob, token_logprobs),
                                           hint="write the sum of log-probabilities yourself"),
                             "text_logprob", (B,))
            if torch.allclose(got, want, atol=1e-4):
                continue
            require(sharpness == 1.0 or bool(torch.isfinite(got).all()), "some of your sums "
                    "are -inf: the softmax rounds a very small probability to 0, and log 0 = "
                    "-inf. F.log_softmax computes the log-probabilities without that rounding")
            logp = F.log_softmax(model(idx).double(), dim=-1)  # (B, T, V)
            same_position = logp.gather(-1, idx[..., None])[..., 0]  # log p(idx[t]) at t
            require(not torch.allclose(got, same_position.sum(-1), atol=1e-4) and
                    not torch.allclose(got, same_position[:, 1:].sum(-1), atol=1e-4),
                    "position t predicts the NEXT token: compare logits[:, t] with idx[:, t + 1]")
            require(not torch.allclose(got, want / (T - 1), atol=1e-4),
                    "the joint log-probability is the sum over the tokens, not their mean")
            require(not torch.allclose(got, want.exp(), atol=1e-6),
                    "return the log-probability, not the probability")
            require(not torch.allclose(got, -want, atol=1e-4), "those are the sums with the "
                    "wrong sign: the cross-entropy (negative log-likelihood) is minus the "
                    "log-probability")
            require((got <= 1e-6).all(), "a log-probability is never above 0: did you take the "
                    "log of a softmax over the vocabulary (the last dimension)?")
        raise Wrong(f"for a batch of {B} texts of {T} tokens the sums differ from the model's")


@exercise("07", 4)
def exercise_4(share_predicting_input) -> None:
    """share_predicting_input(model, idx): share of positions whose argmax is the input token."""
    g = torch.Generator().manual_seed(11)
    for seed, B, T in ((8, 2, 10), (9, 4, 16)):
        model = _random_gpt(seed, vocab_size=29)
        if seed == 9:  # a second model whose first MLP drowns the input: fewer repeats
            with torch.no_grad():
                model.h[0].mlp.c_proj.weight.normal_(0.0, 0.5)
        idx = torch.randint(0, 29, (B, T), generator=g)
        with torch.no_grad():
            got = call(share_predicting_input, model, idx)
            if isinstance(got, torch.Tensor):
                require(got.numel() == 1, f"return one number, got shape {tuple(got.shape)}")
                got = got.item()
            require(isinstance(got, numbers.Real), f"return a number, got {type(got).__name__}")
            pred = model(idx).argmax(dim=-1)  # (B, T)
            want = (pred == idx).double().mean().item()
            if abs(got - want) < 1e-6:
                continue
            require(abs(got - (pred[:, :-1] == idx[:, 1:]).double().mean().item()) > 1e-6,
                    "that compares with the next token; the question is how often the model "
                    "predicts the token it was just given, at the same position")
            require(abs(got - want * B * T) > 1e-6, "return a share between 0 and 1, not a count")
            require(abs(got - 100 * want) > 1e-4, "return a share between 0 and 1, not a percentage")
            require(abs(got - want * B) > 1e-4 and abs(got - want * T) > 1e-4, "divide the "
                    "count by the number of all positions, B × T (idx.numel())")
        raise Wrong("the share differs: compare logits.argmax(dim=-1) with idx, position by position")
