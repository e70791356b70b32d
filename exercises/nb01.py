"""Checks for notebook 01 (autoencoding vs autoregressive): `from exercises import nb01 as check`.

Every check recomputes what it compares against: masks of several sizes against
`helpers.prefix_lm_mask` (which the learner's code may not call: it is the answer), every one
of the 36 sentences of the notebook's grammar scored by `clm` and by models made to tell the
right scoring rule from its slips, and the learner's own backward model read on reversed
sentences. A hard-coded answer cannot pass.
"""

from __future__ import annotations

import copy

import torch

from exercises import (
    NotAnswered,
    Wrong,
    call,
    call_refusing,
    exercise,
    is_placeholder,
    reference,
    require,
)
from helpers import causal_mask, eval_mode, full_mask, prefix_lm_mask

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
        m = call_refusing(my_prefix_mask, T, P, refuse=(), callers=(prefix_lm_mask,),
                          hint="build the mask yourself, from causal_mask and full_mask")
        require(isinstance(m, torch.Tensor), "my_prefix_mask should return a torch tensor, got "
                f"{type(m).__name__}")
        require(tuple(m.shape) == (T, T), f"my_prefix_mask({T}, {P}) should have shape "
                f"({T}, {T}), got {tuple(m.shape)}")
        require(not (m.is_floating_point() and torch.isinf(m).any()), "return a bool mask "
                "(True = may attend), not an additive mask of 0 and -inf: attention turns the "
                "bool mask into that itself")
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
        require(not torch.equal(m, ~want), "True means may attend: your mask is the "
                "complement, True where a key is hidden")
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


class _Shifted(torch.nn.Module):
    """`model` with `shift` added to every logit after the animal, in the sentences whose animal
    is `token_id`. A softmax does not change when the same number is added to all of a
    position's logits, so the probabilities, and the right answer, are `model`'s; summed raw
    logits favour that animal."""

    def __init__(self, model: torch.nn.Module, token_id: int, shift: float = 100.0):
        super().__init__()
        self.model, self.token_id, self.shift = model, token_id, shift
        self.config = model.config

    def forward(self, idx: torch.Tensor, **kwargs) -> torch.Tensor:
        logits = self.model(idx, **kwargs).clone()  # (B, T, V)
        if idx.size(1) > 1:  # positions 1.. have read the animal (position 1)
            rows = idx[:, 1] == self.token_id
            logits[rows, 1:] += self.shift
        return logits


class _SureButOne(torch.nn.Module):
    """`model` made sure of the animal `token_id` after the determiner and, once it has read that
    animal, of every later word of `text` but the sound, which stays as unlikely as `model`
    finds it. That sentence's five probabilities add up to more than the right sentence's
    (4 sure words), but their product, one impossible word, is far smaller."""

    def __init__(self, model: torch.nn.Module, token_id: int, text_ids: list[int],
                 bonus: float = 5.0, sure: float = 30.0):
        super().__init__()
        self.model, self.token_id, self.text_ids = model, token_id, text_ids
        self.bonus, self.sure = bonus, sure
        self.config = model.config

    def forward(self, idx: torch.Tensor, **kwargs) -> torch.Tensor:
        logits = self.model(idx, **kwargs).clone()  # (B, T, V)
        logits[:, 0, self.token_id] += self.bonus  # after the determiner: that animal, mostly
        rows = idx[:, 1] == self.token_id if idx.size(1) > 1 else torch.zeros(len(idx), dtype=torch.bool)
        for t in range(2, min(idx.size(1), len(self.text_ids) - 1)):  # position t predicts word t + 1
            logits[rows, t, self.text_ids[t + 1]] += self.sure
        return logits


def _swapped(clm: torch.nn.Module, encode, pairs: list[tuple[str, str]]) -> torch.nn.Module:
    """A real helpers.GPT: a copy of `clm` with the token embeddings of each pair of animals
    swapped. The output layer is tied to them, so the copy reads and writes each animal as the
    other: it is sure that "the cat barks"."""
    model = copy.deepcopy(clm)
    with torch.no_grad():
        wte = model.wte.weight
        for a, b in pairs:
            i, j = encode(a)[0], encode(b)[0]
            wte[[i, j]] = wte[[j, i]]
    return model


@torch.no_grad()
@reference
def _best_animal(model: torch.nn.Module, encode, text: str, rule: str = "logp") -> str:
    """The animal a scoring rule picks for the blank of `text`: the right rule, "logp" (the
    sum of the log-probabilities of words 1..5), or a slip: "raw_logits" summed, "probabilities"
    summed, or "without_blank" (words 2..5 only: prompt_len=2)."""
    candidates = list(SOUND)
    ids = torch.tensor([encode(text.replace("[MASK]", a)) for a in candidates])  # (4, 6)
    with eval_mode(model):
        logits = model(ids)[:, :-1]  # (4, 5, V): position t predicts word t + 1
    targets = ids[:, 1:, None]  # (4, 5, 1)
    if rule == "raw_logits":
        scores = logits.gather(-1, targets)[..., 0].sum(-1)
    else:
        logp = logits.log_softmax(-1).gather(-1, targets)[..., 0]  # (4, 5)
        scores = {"logp": logp.sum(-1), "probabilities": logp.exp().sum(-1),
                  "without_blank": logp[:, 1:].sum(-1)}[rule]
    return candidates[int(scores.argmax())]


def _probe(clm_fill, text: str, model: torch.nn.Module, encode, what: str,
           slips: dict[str, str]) -> None:
    """Run clm_fill on one probe model; a wrong animal gets the hint of the slip that gives the
    same animal (`slips`: rule -> hint), else one that names the probe (`what`)."""
    got = call(clm_fill, text, model)
    want = _best_animal(model, encode, text)
    if got == want:
        return
    for rule, hint in slips.items():
        if got == _best_animal(model, encode, text, rule):
            raise Wrong(f"clm_fill({text!r}, {what}) returned {got!r}, not {want!r}: {hint}")
    raise Wrong(f"clm_fill({text!r}, {what}) returned {got!r}, not {want!r}: score the "
                "sentences with the model passed in, sequence_logprob(model, ids, prompt_len=1), "
                "and return the animal of the highest score")


WITHOUT_THE_BLANK = ("does your score include the probability of the word in the blank itself? "
                     "prompt_len=1 scores words 1 to 5, the animal included")
RAW_LOGITS = ("a logit is not a log-probability: adding the same number to all of a position's "
              "logits changes no probability, but it changes a sum of logits. Turn them into "
              "log-probabilities first (log_softmax), as sequence_logprob does")
SUMMED_PROBABILITIES = ("the probability of a sentence is the product of its words' "
                        "probabilities, a sum of their log-probabilities, not a sum of "
                        "probabilities: one impossible word makes the whole sentence impossible")


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
    # a real GPT that has the animals swapped: the answer must follow the model it is given,
    # whatever the grammar says, and whatever kind of model it is
    swapped = _swapped(clm, encode, [("dog", "cat"), ("cow", "duck")])
    for words in all_sentences()[::5]:
        text = " ".join([words[0], "[MASK]", *words[2:]])
        got = call(clm_fill, text, swapped)
        want = _best_animal(swapped, encode, text)
        require(got == want, f"clm_fill({text!r}, model) returned {got!r}, but this model (a "
                f"helpers.GPT like clm, with two pairs of animals swapped) scores {want!r} "
                "highest: score the sentences with the model passed in "
                "(sequence_logprob(model, ...)), not with a fixed rule or another model")
    # models made so that each slip picks another animal than the right rule
    for n, words in enumerate(all_sentences()[1::4]):
        text = " ".join([words[0], "[MASK]", *words[2:]])
        others = [a for a in SOUND if a != words[1]]
        favoured, shifted, tempting = others[n % 3], others[(n + 1) % 3], others[(n + 2) % 3]
        _probe(clm_fill, text, _Favouring(clm, encode(favoured)[0]), encode,
               f"a model that strongly prefers {favoured!r} in every position",
               {"without_blank": WITHOUT_THE_BLANK})
        _probe(clm_fill, text, _Shifted(clm, encode(shifted)[0]), encode,
               f"clm with 100 added to the logits of the {shifted!r} sentence",
               {"raw_logits": RAW_LOGITS})
        _probe(clm_fill, text, _SureButOne(clm, encode(tempting)[0],
                                           encode(text.replace("[MASK]", tempting))), encode,
               f"a model sure of every word of the {tempting!r} sentence but the sound",
               {"probabilities": SUMMED_PROBABILITIES, "without_blank": WITHOUT_THE_BLANK})


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
    try:
        lost = None if isinstance(lost, str | bytes) else set(lost)
    except TypeError:  # not a collection
        lost = None
    require(lost is not None, "lost should be a set of column names, e.g. {'name 1', 'name 2'}")
    unknown = lost - set(NAMES)
    require(not unknown, f"{sorted(unknown)} are not column names; use names from {NAMES}")
    at_chance = {name for name in NAMES if p[name] < 0.6}
    want = at_chance - FORWARD_AT_CHANCE
    require(not (lost - at_chance), f"backward is sure of {sorted(lost - at_chance)}: compare "
            "its probability of the right word at each position with the forward table")
    require(lost == want, "some positions are missing: where does the word depend only on the "
            "word before it (on its left)?")
