"""Checks for notebook 00 (roadmap and set-up): `from exercises import nb00 as check`.

Every check runs the learner's function on inputs of its own (modules of other sizes, texts
with other characters, other sequence lengths) and recomputes the expected result, so a
number copied from a stored output cannot pass.
"""

from __future__ import annotations

import random

import torch
from torch import nn

from exercises import LearnersCodeRaised, Wrong, as_int, call, exercise, require
from helpers import GPT, GPTConfig, causal_mask


def _modules() -> list[tuple[str, nn.Module]]:
    """Modules of several kinds and sizes, each with a known parameter count."""
    torch.manual_seed(0)
    return [
        ("nn.Linear(3, 4)", nn.Linear(3, 4)),
        ("nn.Linear(5, 2, bias=False)", nn.Linear(5, 2, bias=False)),
        ("nn.LayerNorm(7)", nn.LayerNorm(7)),
        ("a 2-block GPT", GPT(GPTConfig(vocab_size=11, n_positions=8, n_embd=12, n_layer=2,
                                         n_head=3))),
        ("a 1-block GPT", GPT(GPTConfig(vocab_size=29, n_positions=5, n_embd=8, n_layer=1,
                                         n_head=2))),
        ("nn.ReLU()", nn.ReLU()),  # no parameters at all: an empty sum
        ("nn.BatchNorm1d(4)", nn.BatchNorm1d(4)),  # 8 parameters and 9 numbers of buffers
    ]


@exercise("00", 1)
def exercise_1(count_parameters) -> None:
    """count_parameters(module): the number of numbers in all of the module's parameters."""
    for name, module in _modules():
        want = sum(p.numel() for p in module.parameters())
        try:
            got = call(count_parameters, module)
        except LearnersCodeRaised as e:
            if want:
                raise
            raise Wrong(f"for {name}, which has no parameters at all, your code raised {e}; "
                        "a module with nothing to learn has a count too") from None
        got = as_int(got, "count_parameters")
        if got == want:
            continue
        require(got != len(list(module.parameters())),
                f"for {name} you returned the number of parameter tensors; count the numbers "
                "inside each tensor (its number of elements)")
        require(got != sum(p.numel() for p in module.parameters() if p.dim() >= 2),
                f"for {name} only the matrices were counted: biases and LayerNorm gains are "
                "parameters too")
        require(got != sum(t.numel() for t in module.state_dict().values()),
                f"for {name} its buffers were counted too: state_dict() also holds running "
                "statistics, which are not learned. Count module.parameters() only")
        raise Wrong(f"for {name} you counted {got:,}; that is not the number of elements of "
                    "all its parameter tensors")


def _texts(known: str) -> list[str]:
    """Texts that mix the tokenizer's characters with some it cannot encode."""
    rng = random.Random(0)
    strange = "é自7%<>#ü0\t"
    texts = ["To be, or not to be", "Café au lait, 自然!", "Act 2, scene 1: 100% <true>",
             "Henry 3 and Henry 4",
             "", "ROMEO:\nO\tme!"]
    for _ in range(4):
        texts.append("".join(rng.choice(known + strange) for _ in range(rng.randint(1, 30))))
    return texts


@exercise("00", 2)
def exercise_2(unknown_characters, tokenizer) -> None:
    """unknown_characters(text): the set of characters of text the tokenizer cannot encode."""
    known = "".join(tokenizer.chars)
    for text in _texts(known):
        got = call(unknown_characters, text)
        require(isinstance(got, set | frozenset | list | tuple | str),
                f"unknown_characters should return a set of characters, got {type(got).__name__}")
        got = set(got)
        want = {c for c in text if c not in tokenizer.stoi}
        if got == want:
            continue
        shown = repr(text)
        require(not got > want, f"for {shown} your set has characters the tokenizer does know: "
                f"{sorted(got - want)!r}; try tokenizer.encode on each of them")
        raise Wrong(f"for {shown} some unknown characters are missing from your set; a "
                    "character that is not in tokenizer.chars cannot be encoded, whatever it is")


@exercise("00", 3)
def exercise_3(may_attend) -> None:
    """may_attend(i, T): the positions (keys) that token i may attend to under the causal mask."""
    for T in (9, 5, 2, 1):  # long sequences first, where the slips differ
        for i in reversed(range(T)):  # the last token first, where the slips differ
            got = call(may_attend, i, T)
            require(not isinstance(got, str) and
                    not (isinstance(got, torch.Tensor) and got.dim() != 1),
                    "return the positions as a list of ints, e.g. [0, 1, 2]")
            try:
                items = list(got)
            except TypeError:
                raise Wrong(f"may_attend({i}, {T}) returned {got!r}: return the list of every "
                            "position token i may attend to, e.g. [0, 1, 2], not one number") from None
            require(not items or not all(isinstance(j, bool) or (isinstance(j, torch.Tensor) and
                                         j.dtype == torch.bool) for j in items),
                    "that is a row of the mask, one True/False per key; return the positions "
                    "where it is True, e.g. [0, 1, 2]")
            got = [as_int(j, "each position") for j in items]
            want = causal_mask(T)[i].nonzero().flatten().tolist()
            if got == want:
                continue
            if sorted(got) == want:
                raise Wrong("the right positions, but list them in increasing order")
            require(not (len(got) == T and set(got) <= {0, 1}), "that looks like a row of the "
                    "mask as 0/1, one number per key; return the positions where it is 1, e.g. "
                    "[0, 1, 2]")
            require(got != list(range(T)), "that is BERT's full mask, every position; GPT's "
                    "causal mask hides the tokens after i")
            require(got != list(range(i + 1, T)), "those are the tokens after i, the future, "
                    "which GPT's mask hides; a token sees itself and the tokens before it")
            require(got != list(range(i)), "a token may also attend to itself")
            require(got != list(range(i, T)), "that is the future: under GPT's mask a token "
                    "sees itself and the tokens before it")
            raise Wrong(f"for token {i} of {T} you gave {got}")
