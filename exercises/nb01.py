"""Checks for notebook 01 (autoencoding vs autoregressive): `from exercises import nb01 as check`.

Every check recomputes what it compares against: masks of several sizes against
`helpers.prefix_lm_mask`, every one of the 36 sentences of the notebook's grammar, and the
learner's own backward model read on reversed sentences. A hard-coded answer cannot pass.
"""

from __future__ import annotations

import torch

from exercises import NotAnswered, Wrong, call, exercise, is_placeholder, reference, require
from helpers import causal_mask, full_mask, prefix_lm_mask

# the notebook's grammar: determiner animal sound ending ending .
SOUND = {"dog": "barks", "cat": "meows", "cow": "moos", "duck": "quacks"}
ENDINGS = [("at", "night"), ("all", "day"), ("in", "spring")]
DETERMINERS = ["the", "a", "my"]
NAMES = ["animal", "sound", "ending 1", "ending 2", "."]  # positions 1..5 of a sentence
FORWARD_AT_CHANCE = {"animal", "ending 1"}  # decided only by the word on their right


def all_sentences() -> list[list[str]]:
    """The 36 sentences the grammar can make, as lists of six words."""
    return [[d, a, s, e1, e2, "."] for d in DETERMINERS for a, s in SOUND.items()
            for e1, e2 in ENDINGS]


def _first_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    i, j = (got != want).nonzero()[0].tolist()
    return f"query {i}, key {j} {'may attend' if want[i, j] else 'must be hidden'}"


@exercise("01", 1)
def exercise_1(my_prefix_mask) -> None:
    """my_prefix_mask(T, P): the first P tokens see each other fully, the rest causally."""
    for T, P in [(4, 2), (1, 0), (1, 1), (4, 0), (6, 6), (7, 3), (9, 1), (5, 4), (12, 5)]:
        m = call(my_prefix_mask, T, P)
        require(isinstance(m, torch.Tensor), "my_prefix_mask should return a torch tensor, got "
                f"{type(m).__name__}")
        require(tuple(m.shape) == (T, T), f"my_prefix_mask({T}, {P}) should have shape "
                f"({T}, {T}), got {tuple(m.shape)}")
        require(m.dtype == torch.bool, f"return a bool tensor (True = may attend), got {m.dtype}")
        want = prefix_lm_mask(T, P)
        if torch.equal(m, want):
            continue
        require(not (P > 1 and torch.equal(m, causal_mask(T))), f"my_prefix_mask({T}, {P}) is "
                "the plain causal mask: the prompt's words should also see the prompt words "
                "after them")
        require(not torch.equal(m, full_mask(T)), "that is BERT's full mask: the words after "
                "the prompt are generated one by one and see only the past")
        require(not torch.equal(m, want.T), "rows are queries and columns are keys")
        if P < T:
            rows_see_all = want.clone()
            rows_see_all[:P] = True
            require(not torch.equal(m, rows_see_all), "a prompt word must not see the words "
                    "after the prompt: only queries AND keys inside the prompt are opened up")
        raise Wrong(f"my_prefix_mask({T}, {P}): {_first_difference(m, want)}")


class _Favouring(torch.nn.Module):
    """A model with a thumb on the scale: `model`'s logits plus `bonus` for one token at every
    position. A clm_fill that scores with the model it is given picks that token's animal; one
    that answers from the grammar (or from another model) does not."""

    def __init__(self, model: torch.nn.Module, token_id: int, bonus: float = 30.0):
        super().__init__()
        self.model, self.token_id, self.bonus = model, token_id, bonus
        self.config = model.config

    def forward(self, idx: torch.Tensor, **kwargs) -> torch.Tensor:
        logits = self.model(idx, **kwargs).clone()  # (B, T, V)
        logits[..., self.token_id] += self.bonus
        return logits


@exercise("01", 2)
def exercise_2(clm_fill, clm, encode) -> None:
    """clm_fill(text, model): the animal whose complete sentence `model` scores highest."""
    for words in all_sentences():
        animal = words[1]
        text = " ".join([words[0], "[MASK]", *words[2:]])
        got = call(clm_fill, text, clm)
        require(isinstance(got, str), f"clm_fill should return an animal's name (a str), got "
                f"{type(got).__name__}")
        require(got in SOUND, f"clm_fill({text!r}, clm) returned {got!r}, which is not one of "
                f"the four animals {list(SOUND)}")
        require(got == animal, f"clm_fill({text!r}, clm) returned {got!r}. Put each animal in "
                "the blank, score each whole sentence with sequence_logprob(model, ids, "
                "prompt_len=1) and return the animal of the highest score")
    # the same sentences scored by a model that likes one animal everywhere: the answer must
    # follow the model it is given, whatever the grammar says
    for favoured in SOUND:
        model = _Favouring(clm, encode(favoured)[0])
        for words in all_sentences()[::4]:
            text = " ".join([words[0], "[MASK]", *words[2:]])
            got = call(clm_fill, text, model)
            require(got == favoured, f"given a model that strongly prefers {favoured!r} in every "
                    f"position, clm_fill({text!r}, model) returned {got!r}: score the sentences "
                    "with the model passed in (sequence_logprob(model, ...)), not with a fixed "
                    "rule or another model")


@torch.no_grad()
@reference
def _backward_p_correct(model, encode) -> dict[str, float]:
    """Mean probability a model gives the right word when it reads sentences right to left."""
    rev_next = list(reversed("the cat meows all day .".split()))  # the sentence that follows
    sentences = all_sentences()
    p = {}
    for pos, name in zip(range(1, 6), NAMES, strict=True):
        # everything to the right of position pos, reversed: one (36, T) batch per position
        contexts = [rev_next + list(reversed(words))[: 5 - pos] for words in sentences]
        ids = torch.tensor([encode(" ".join(c)) for c in contexts])
        right = torch.tensor([encode(words[pos])[0] for words in sentences])  # (36,)
        probs = model(ids)[:, -1].softmax(-1)  # (36, V)
        p[name] = float(probs.gather(-1, right[:, None]).mean())
    return p


@exercise("01", 3)
def exercise_3(backward, lost, encode) -> None:
    """backward: a causal LM trained right to left; lost: where it is at chance, unlike clm."""
    from helpers import GPT, eval_mode

    require(isinstance(backward, GPT), f"backward should be a trained helpers.GPT, got "
            f"{type(backward).__name__}")
    require(backward.config.causal, "backward should be a causal LM (tiny_model(causal=True)): "
            "the same objective as clm, only reading the other way")
    with eval_mode(backward):
        p = _backward_p_correct(backward, encode)
    require(p["animal"] > 0.9, f"fed a sentence backwards up to the blank, backward gives the "
            f"right animal only {p['animal']:.2f} on average; train it on the reversed text "
            "(train_data.flip(0)) for as many steps as clm")
    if is_placeholder(lost):
        raise NotAnswered  # the model is done, the question is not
    require(isinstance(lost, set | frozenset | list | tuple), "lost should be a set of names, "
            "e.g. {'animal'}")
    lost = set(lost)
    unknown = lost - set(NAMES)
    require(not unknown, f"{sorted(unknown)} are not column names; use names from {NAMES}")
    at_chance = {name for name in NAMES if p[name] < 0.6}
    want = at_chance - FORWARD_AT_CHANCE
    require(not (lost - at_chance), f"backward is sure of {sorted(lost - at_chance)}: compare "
            "its probability of the right word at each position with the forward table")
    require(lost == want, "some positions are missing: where does the word depend only on the "
            "word before it (on its left)?")
