"""Checks for notebook 07 (the whole model and its output): `from exercises import nb07 as check`.

Every check builds its own models (random weights, several shapes, GPT-2's sizes on the `meta`
device) and recomputes the expected result, so a hard-coded answer cannot pass.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from exercises import Wrong, call, exercise, reference, require
from helpers import GPT, GPTConfig, sequence_logprob

# (vocab_size, n_positions, n_embd, n_layer): GPT-2's four sizes, the shipped model, odd ones
SHAPES = [
    (50257, 1024, 768, 12), (50257, 1024, 1024, 24), (50257, 1024, 1280, 36),
    (50257, 1024, 1600, 48), (65, 128, 192, 6), (11, 7, 12, 3), (1000, 64, 40, 1), (3, 2, 4, 0),
]


@reference
def _count_on_meta(vocab_size: int, n_positions: int, n_embd: int, n_layer: int) -> int:
    """The parameters of helpers.GPT of this shape, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = GPT(GPTConfig(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd,
                              n_layer=max(n_layer, 1), n_head=1))
    if n_layer == 0:  # no blocks: GPTConfig needs at least one, so take it away again
        return model.num_parameters() - sum(p.numel() for p in model.h.parameters())
    return model.num_parameters()


@exercise("07", 1)
def exercise_1(gpt_parameters) -> None:
    """gpt_parameters(vocab_size, n_positions, n_embd, n_layer): helpers.GPT's parameter count."""
    for V, P, C, L in SHAPES:
        got = call(gpt_parameters, V, P, C, L)
        require(isinstance(got, numbers.Integral) or (isinstance(got, float) and got.is_integer()),
                f"return a whole number, got {got!r}")
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
def _hidden(model: GPT, idx: torch.Tensor, positions: bool = True, final_norm: bool = True):
    """The last hidden states (B, T, C), with or without wpe and ln_f (for the hints)."""
    x = model.wte(idx)
    if positions:
        x = x + model.wpe(torch.arange(idx.size(1)))
    for block in model.h:
        x = block(x)
    return model.ln_f(x) if final_norm else x


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
            got = _as_tensor(call(logits_with_head, model, idx, head), "logits_with_head", (B, T, V))
            want = (_hidden(model, idx) @ head.T).double()
            if torch.allclose(got, want, atol=1e-4):
                tied = _as_tensor(logits_with_head(model, idx, model.wte.weight), "logits_with_head",
                                  (B, T, V))
                require(torch.allclose(tied, model(idx).double(), atol=1e-4),
                        "with head = model.wte.weight your logits should be model(idx)'s")
                continue
            require(not torch.allclose(got, model(idx).double(), atol=1e-4),
                    "those are the model's own logits (the tied wte): use `head` instead")
            require(not torch.allclose(got, (_hidden(model, idx, final_norm=False) @ head.T).double(),
                                       atol=1e-4), "the blocks' output goes through ln_f first")
            require(not torch.allclose(got, (_hidden(model, idx, positions=False) @ head.T).double(),
                                       atol=1e-4), "add the position embeddings wpe to wte(idx)")
            require(not torch.allclose(got, F.softmax(want, dim=-1), atol=1e-4),
                    "return the logits, before any softmax")
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
            got = _as_tensor(call(text_logprob, model, idx), "text_logprob", (B,))
            want = sequence_logprob(model, idx, 1).double()
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
        raise Wrong("the share differs: compare logits.argmax(dim=-1) with idx, position by position")
