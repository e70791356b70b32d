"""The table of exercise checks that tests/test_exercises.py runs: one `Case` per check
`exercises.nbNN.exercise_N`.

A row names the worked solution by the names it has in notebooks/solutions/NN_solutions.ipynb,
the only place a solution is written (the harness runs that notebook and looks them up), and
lists the wrong answers the check must reject, with the hint its printed line must contain.
Placeholders need no rows: the harness makes them from the solution (`...` in each answer's
place, and a function whose body is `...` in a function's place).

Wrong answers are written as a learner would write them: functions of the check's arguments.
One that builds on a worked solution calls it as `nbNN.name`, looked up when the answer runs,
so it never repeats the solution. An answer that needs the notebook before the check runs
(one of its models, a result computed once) is wrapped in `later(...)`, built at test time.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import math
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import exercises
import helpers.attention
import helpers.objectives
from exercises.nb02 import _merge as merge_word  # one merge, every occurrence (section 3)
from helpers import (
    GPT,
    GPTConfig,
    beam_search,
    causal_mask,
    full_mask,
    generate,
    music,
    padding_mask,
    prefix_lm_mask,
    self_attention,
    sequence_logprob,
)


class Solutions:
    """The objects of notebooks/solutions/NN_solutions.ipynb, by name, while the harness has that
    notebook's namespace attached (`nb04.chunked_mask`)."""

    def __init__(self, notebook: str) -> None:
        self._notebook = notebook
        self._namespace: dict[str, Any] | None = None

    def attach(self, namespace: dict[str, Any] | None) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        where = f"notebooks/solutions/{self._notebook}_solutions.ipynb"
        if self._namespace is None:
            raise RuntimeError(f"{where} has not been run: use the harness's `solutions` fixture")
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(f"{where} defines no {name!r} (in the cells the harness runs)") from None


# the notebooks with checks: exercises.nb00, exercises.nb01, ...
NOTEBOOKS = tuple(sorted(m.name[2:] for m in pkgutil.iter_modules(exercises.__path__)
                         if re.fullmatch(r"nb\d\d", m.name)))
SOLUTIONS = {nb: Solutions(nb) for nb in NOTEBOOKS}
nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11, nb12 = (
    SOLUTIONS[f"{n:02d}"] for n in range(13))


@dataclass(frozen=True)
class Later:
    """An answer built when its test runs (it needs the executed notebook, or is a result
    computed once), not when the table is read."""

    build: Callable[[], Any]


def later(build: Callable[[], Any]) -> Later:
    return Later(build)


@dataclass(frozen=True)
class Answer:
    """An answer in place of the solution's answer number `slot` (the others stay the
    solution's). `hint`: text the check's printed line must contain; `absent`: must not."""

    value: Any
    hint: str | None = None
    slot: int = 0
    absent: str | None = None


def W(value: Any, hint: str | None = None, *, slot: int = 0, absent: str | None = None) -> Answer:
    """A wrong answer: the check returns False (and prints `hint`)."""
    return Answer(value, hint, slot, absent)


def R(value: Any, *, slot: int = 0) -> Answer:
    """Another right answer: the check returns True."""
    return Answer(value, slot=slot)


@dataclass(frozen=True)
class Case:
    """Exercise `number` of notebook `notebook`: `check.exercise_N(*solution, *given)`.

    solution: names, in the solutions notebook, of the learner's answers (in the check's order)
    given:    names of the fixed arguments that follow them (a tokenizer, a model, ...)
    wrong:    answers the check rejects; right: other answers it accepts
    under:    a context the placeholders and the wrong and right answers run in (the worked
              solution runs in pytest's default state and in the notebook's own)
    """

    notebook: str
    number: int
    solution: tuple[str, ...] | str
    wrong: tuple[Answer, ...] | list[Answer]
    given: tuple[str, ...] = ()
    right: tuple[Answer, ...] | list[Answer] = ()
    under: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext

    def __post_init__(self) -> None:
        if isinstance(self.solution, str):
            object.__setattr__(self, "solution", (self.solution,))
        object.__setattr__(self, "wrong", tuple(self.wrong))
        object.__setattr__(self, "right", tuple(self.right))

    @property
    def id(self) -> str:
        return f"nb{self.notebook}-ex{self.number}"


def _cases_00() -> Iterator[Case]:
    yield Case("00", 1, "count_parameters", [
        W(lambda m: 2_706_624),  # the shipped model's count, copied
        W(lambda m: len(list(m.parameters())), "number of parameter tensors"),  # tensors, not numbers
        W(lambda m: sum(p.numel() for p in m.parameters() if p.dim() > 1), "biases"),
        W(lambda m: m.num_parameters(), "raised AttributeError"),  # only GPT has that method
        W(lambda m: sum(p.shape[0] for p in m.parameters())),
        # torch.cat of no tensors raises: nn.ReLU() has no parameters
        W(lambda m: torch.nn.utils.parameters_to_vector(m.parameters()).numel(), "no parameters at all"),
        W(lambda m: sum(t.numel() for t in m.state_dict().values()), "buffers"),  # + running stats
    ], right=[
        R(lambda m: torch.tensor(sum(p.numel() for p in m.parameters()))),  # a 0-d int tensor
        R(lambda m: np.int64(sum(p.numel() for p in m.parameters()))),  # a NumPy integer
    ])
    yield Case("00", 2, "unknown_characters", given=("tokenizer",), wrong=[
        # "anything not ASCII": misses the digits and symbols Shakespeare never used
        W(lambda t: {c for c in t if not c.isascii()}),
        # "digits are unknown": but the tokenizer does know '3'
        W(lambda t: {c for c in t if c.isdigit() or not c.isascii()}),
        # "anything but letters and spaces": punctuation is known
        W(lambda t: {c for c in t if not (c.isalpha() or c == " ")}, "does know"),
        W(lambda t: {"é", "自"}),  # the example's answer
        W(lambda t: set(t) - set("abcdefghijklmnopqrstuvwxyz ")),
    ])
    yield Case("00", 3, "may_attend", right=[
        R(lambda i, T: torch.arange(i + 1)),  # a tensor is fine
    ], wrong=[
        W(lambda i, T: list(range(i)), "itself"),  # forgets itself
        W(lambda i, T: list(range(i, T)), "future"),
        W(lambda i, T: list(range(T)), "BERT's full mask"),
        W(lambda i, T: list(range(i + 1, T)), "the future"),  # strictly after i
        W(lambda i, T: causal_mask(T)[i].int().tolist(), "as 0/1"),  # the row, as numbers
        W(lambda i, T: i + 1, "not one number"),  # how many, not which
        W(lambda i, T: causal_mask(T)[i].tolist(), "row of the mask"),  # True/False per key
        W(lambda i, T: [str(j) for j in range(i + 1)], "whole number"),  # strings
        W(lambda i, T: str(list(range(i + 1))), "list of ints"),  # the list's printout
        W(lambda i, T: list(range(i, -1, -1)), "increasing order"),
        W(lambda i, T: [0, 1, 2]),  # the picture's row 2, hard-coded
    ])


def _cases_01() -> Iterator[Case]:
    from exercises import nb01 as check

    def prompt_sees_everything(T, P):
        m = causal_mask(T)
        m[:P] = True  # the prompt rows open to every key, the answer's too
        return m

    def off_by_one(T, P):
        return nb01.my_prefix_mask(T, min(P + 1, T))

    yield Case("01", 1, "my_prefix_mask", [
        W(lambda T, P: causal_mask(T), "plain causal mask"),
        W(lambda T, P: full_mask(T), "full mask"),
        W(prompt_sees_everything, "after the prompt"),
        W(off_by_one),
        W(lambda T, P: nb01.my_prefix_mask(T, P).int()),  # not bool
        W(lambda T, P: nb01.my_prefix_mask(T, P).T),  # rows and columns
        W(lambda T, P: nb01.my_prefix_mask(4, 2)),  # hard-coded
        W(lambda T, P: ~nb01.my_prefix_mask(T, P), "complement"),  # True = hidden
        W(lambda T, P: torch.zeros(T, T).masked_fill(~nb01.my_prefix_mask(T, P), float("-inf")),
          "additive mask"),
        # the series' own function is the answer, not a way to it, however it is reached
        W(lambda T, P: prefix_lm_mask(T, P), "prefix_lm_mask does the work for you"),
        W(lambda T, P: helpers.attention.prefix_lm_mask(T, P), "prefix_lm_mask does the work"),
    ])

    def left_context_only(text, model):
        # what the causal LM predicts after the words before the blank
        with torch.no_grad():
            probs = model(torch.tensor([nb01.encode(text.split("[MASK]")[0])]))[0, -1].softmax(-1)
        return max(check.SOUND, key=lambda a: probs[nb01.stoi[a]])

    def from_the_grammar(text, model):
        # the animal that makes the sound in the sentence: right, but no model involved
        return {sound: animal for animal, sound in check.SOUND.items()}[text.split()[2]]

    def with_the_global_clm(text, model):
        return nb01.clm_fill(text, nb01.clm)  # ignores the model it is given

    def scored(rule):
        # the four candidates scored by a rule of the learner's: rule(logits, targets) -> (4,)
        def clm_fill(text, model):
            ids = torch.tensor([nb01.encode(text.replace("[MASK]", a)) for a in check.SOUND])
            with torch.no_grad():
                logits = model(ids)[:, :-1]  # (4, 5, V): position t predicts word t + 1
            return list(check.SOUND)[int(rule(logits, ids[:, 1:, None]).argmax())]
        return clm_fill

    def without_the_blank(text, model):
        # scores words 2..5 only: the animal's own probability is left out
        ids = torch.tensor([nb01.encode(text.replace("[MASK]", a)) for a in check.SOUND])
        return list(check.SOUND)[int(sequence_logprob(model, ids, prompt_len=2).argmax())]

    def grammar_for_a_gpt(text, model):
        # a game: the grammar's answer for any helpers.GPT, the scores only for other models
        if isinstance(model, GPT):
            return from_the_grammar(text, model)
        return nb01.clm_fill(text, model)

    yield Case("01", 2, "clm_fill", given=("clm", "encode"), wrong=[
        W(lambda text, model: "dog"),  # hard-coded
        W(left_context_only),
        W(lambda text, model: nb01.stoi["dog"]),  # an id
        W(from_the_grammar, "two pairs of animals swapped"),
        W(with_the_global_clm, "the model passed in"),
        W(grammar_for_a_gpt, "the model passed in"),
        W(without_the_blank, "the word in the blank itself"),
        # raw logits summed, not log-probabilities
        W(scored(lambda lg, y: lg.gather(-1, y)[..., 0].sum(-1)), "not a log-probability"),
        # probabilities summed, not multiplied
        W(scored(lambda lg, y: lg.softmax(-1).gather(-1, y)[..., 0].sum(-1)), "product"),
    ], right=[
        # the same rule, written as a mean or as a probability
        R(scored(lambda lg, y: lg.log_softmax(-1).gather(-1, y)[..., 0].mean(-1))),
        R(scored(lambda lg, y: lg.log_softmax(-1).gather(-1, y)[..., 0].sum(-1).exp())),
    ])

    def untrained():
        torch.manual_seed(0)
        return GPT(nb01.clm.config)

    def not_causal():
        return GPT(GPTConfig(**{**nb01.clm.config.to_dict(), "causal": False}))

    yield Case("01", 3, ("backward", "lost"), given=("encode",), right=[
        R(later(lambda: list(nb01.lost)), slot=1),  # any collection of names
        R(later(lambda: dict.fromkeys(nb01.lost).keys()), slot=1),
        R(later(lambda: np.array(sorted(nb01.lost))), slot=1),
    ], wrong=[
        W(later(lambda: nb01.clm), "reversed text"),  # the forward model: reads left to right
        W(later(untrained)),
        W(later(not_causal), "causal"),  # not a causal LM
        W({"animal", "ending 1"}, "is sure of", slot=1),  # the forward model's gaps
        W({"sound"}, "missing", slot=1),  # one missing
        W({"sound", "ending 2", "."}, slot=1),
        W({"determiner"}, slot=1),  # not a column of names
        W("sound", slot=1),  # a string, not a set of names
    ])


def _cases_02() -> Iterator[Case]:
    def off_by_one(ch):  # <= instead of < at the boundaries
        cp = ord(ch)
        return 1 if cp <= 0x80 else 2 if cp <= 0x800 else 3 if cp <= 0x10000 else 4

    yield Case("02", 1, "utf8_length", [
        W(lambda ch: 1),  # one byte per character
        W(len),  # characters, not bytes
        W(lambda ch: len(ch.encode("utf-8")), "ord(ch)"),  # not from the code point
        W(off_by_one),
        W(lambda ch: 1 if ord(ch) < 0x80 else 3),  # no 2 or 4
        W(lambda ch: float(nb02.utf8_length(ch))),  # not an int
    ])
    yield Case("02", 2, ("embedding_params", "wte_share"), [
        # the numbers for GPT-2 small, hard-coded (the old stored output gave them away)
        W(lambda c: (38_597_376, 786_432)),
        W(lambda c: nb02.embedding_params(c)[::-1], "swapped"),
        W(lambda c: (c.vocab_size * 768, c.n_positions * 768)),
        W(lambda c: (c.vocab_size * c.n_embd, 1024 * c.n_embd)),
        W(lambda c: 0.31, slot=1),  # GPT-2 small's, hard-coded
        W(lambda c: nb02.embedding_params(c)[0] / 124_439_808, "own total", slot=1),
        W(lambda c: 100 * nb02.wte_share(c), slot=1),  # percent
        W(lambda c: sum(nb02.embedding_params(c)) / GPT(c).num_parameters(), slot=1),  # wte + wpe
        # the output layer counted a second time (it is tied to wte)
        W(lambda c: nb02.embedding_params(c)[0] / (GPT(c).num_parameters()
                                                   + nb02.embedding_params(c)[0]), slot=1),
        W(lambda c: True, slot=1),
    ])
    yield Case("02", 3, "last_position_unchanged", right=[
        # a 0-d bool tensor is accepted as an answer
        R(lambda layer, x, order: torch.isclose(layer(x)[:, -1], layer(x[:, order])[:, -1],
                                                atol=1e-5).all()),
    ], wrong=[
        # the two booleans of the old exercise, hard-coded, in every form
        W(lambda layer, x, order: True),
        W(lambda layer, x, order: False),
        # the whole output compared, not the last position
        W(lambda layer, x, order: torch.allclose(layer(x), layer(x[:, order]), atol=1e-5),
          "last position alone"),
        # the first position compared instead of the last
        W(lambda layer, x, order: torch.allclose(layer(x)[:, 0], layer(x[:, order])[:, 0],
                                                 atol=1e-5)),
        # equivariance (shuffled output == output of the shuffled input), a different question
        W(lambda layer, x, order: torch.allclose(layer(x)[:, order][:, -1],
                                                 layer(x[:, order])[:, -1], atol=1e-5)),
        # exact equality: float sums in another order differ in their last bits
        W(lambda layer, x, order: torch.equal(layer(x)[:, -1], layer(x[:, order])[:, -1])),
        # returns a tensor of booleans instead of one answer
        W(lambda layer, x, order: torch.isclose(layer(x)[:, -1], layer(x[:, order])[:, -1])),
    ])
    yield Case("02", 4, "bpe_word", right=[
        R(_bpe_rounds(lowest)),  # looks up only the pairs in the word
        # one occurrence a round: the next round merges the next one, the same tokens
        R(_bpe_rounds(lowest, occurrence=_first_occurrence_only)),
        R(lambda word, ranks: list(nb02.bpe_word(word, ranks))),  # a list, not a tuple
    ], wrong=[
        W(lambda word, ranks: word, "unmerged"),
        W(_bpe_rounds(lambda known, ranks: max(known, key=ranks.get)), "lowest rank"),
        W(_bpe_rounds(lambda known, ranks: known[0]), "lowest rank"),  # first pair in the word
        W(_bpe_rounds(lowest, rounds=1), "keep merging"),  # one round only
        W(_bpe_rounds(lowest, new_id=lambda k: k), "256 + k"),  # the rank as the new id
        W(_bpe_rounds(lowest, occurrence=_every_position)),  # aaaa: overlaps merged twice
        # applies every merge in order, as segment does: loops over the table
        W(lambda word, ranks: functools.reduce(
            lambda w, item: merge_word(w, item[0], 256 + item[1]), ranks.items(), tuple(word)),
          "every merge"),
        W(lambda word, ranks: " ".join(map(str, nb02.bpe_word(word, ranks))), "tuple of ints"),
    ])


def _bpe_rounds(pick, new_id=lambda k: 256 + k, rounds=None, occurrence=merge_word):
    """A bpe_word built from a learner's choices: `pick` chooses among the word's pairs that
    are in ranks (with their ranks), merged by `occurrence` with id `new_id(rank)`, for
    `rounds` rounds (None: until no pair is left)."""
    def bpe_word(word, ranks):
        word, n = tuple(word), 0
        while rounds is None or n < rounds:
            known = [p for p in zip(word[:-1], word[1:], strict=True) if p in ranks]
            if not known:
                break
            best = pick(known, ranks)
            word, n = occurrence(word, best, new_id(ranks[best])), n + 1
        return word
    return bpe_word


def _first_occurrence_only(word, pair, new_id):
    i = next(i for i in range(len(word) - 1) if tuple(word[i:i + 2]) == pair)
    return word[:i] + (new_id,) + word[i + 2:]


def _every_position(word, pair, new_id):  # no skip after a merge: overlaps merged twice
    out, i = [], 0
    while i < len(word):
        if tuple(word[i:i + 2]) == pair:
            out.append(new_id)
        elif not (i and tuple(word[i - 1:i + 1]) == pair):
            out.append(word[i])
        i += 1
    return tuple(out)


lowest = lambda known, ranks: min(known, key=ranks.get)  # noqa: E731


def _want_from_the_stack(*args):
    """A gaming answer: the `want` of the check that called it, found in its frame."""
    frame = inspect.currentframe()
    while frame is not None:
        if isinstance(frame.f_locals.get("want"), torch.Tensor):
            return frame.f_locals["want"]
        frame = frame.f_back
    return torch.zeros(args[0].size(0))


def _cases_03() -> Iterator[Case]:
    T = lambda V: V.size(0)
    yield Case("03", 1, "predict_zero_queries", [
        # the old exercise's answer for the notebook's 8 x 8 example, hard-coded
        W(lambda V: (torch.full((8, 8), 1 / 8), torch.zeros(8, 8))),
        # weights 1/d (the size of a vector) instead of 1/T: equal in the notebook, where T = d = 8
        W(lambda V: (torch.full((T(V), T(V)), 1 / V.size(1)), V.mean(0).expand(T(V), -1))),
        # weights of 1 (not normalised)
        W(lambda V: (torch.ones(T(V), T(V)), V.sum(0).expand(T(V), -1)), "sums to 1"),
        # every query keeps its own value
        W(lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V), "not the query's own value"),
        # the sum of the values instead of the average
        W(lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V.sum(0).expand(T(V), -1))),
        # averaged over the wrong dimension
        W(lambda V: (torch.full((T(V), T(V)), 1 / T(V)), V.mean(1, keepdim=True).expand_as(V))),
        W(lambda V: torch.full((T(V), T(V)), 1 / T(V))),  # not a pair
        # the order self_attention returns, (outputs, weights)
        W(lambda V: (V.mean(0).expand(T(V), -1), torch.full((T(V), T(V)), 1 / T(V))),
          "the order self_attention returns"),
        # self_attention run on zero queries: the exercise asks for a prediction
        W(lambda V: self_attention(torch.zeros_like(V), V, V)[::-1], "predict"),
        W(lambda V: (torch.full((T(V), T(V)), 1 / T(V)), torch.nn.functional
                     .scaled_dot_product_attention(torch.zeros_like(V), V, V)), "predict"),
        W(lambda V: (torch.softmax(torch.zeros(T(V), T(V), dtype=V.dtype), -1),
                     V.mean(0).expand(T(V), -1)), "predict"),
        # a softmax written out by hand on the zero scores: computed, not predicted
        W(lambda V: (torch.exp(torch.zeros(T(V), T(V), dtype=V.dtype))
                     / torch.exp(torch.zeros(T(V), T(V), dtype=V.dtype)).sum(-1, keepdim=True),
                     V.mean(0).expand(T(V), -1)), "predict"),
    ], right=[
        R(lambda V: [torch.full((T(V), T(V)), 1 / T(V)), V.mean(0).expand(T(V), -1)]),  # a list
    ])
    yield Case("03", 2, "softmax_stable", [
        W(lambda s: torch.exp(s) / torch.exp(s).sum(), "nan"),  # step 2's formula
        W(lambda s: torch.softmax(s, dim=0), "yourself"),  # ready-made
        W(lambda s: s.softmax(0), "yourself"),
        W(lambda s: torch.nn.functional.softmax(s, dim=0), "yourself"),
        W(lambda s: torch.nn.Softmax(dim=0)(s), "yourself"),
        # a ready-made softmax in disguise: refused while the check runs, and named as such
        *(W(answer, "write the softmax yourself", absent="raised") for answer in (
            lambda s: torch.exp(torch.log_softmax(s, 0)),
            lambda s: torch.nn.functional.log_softmax(s, dim=0).exp(),
            lambda s: s.log_softmax(0).exp(),
            lambda s: torch.special.log_softmax(s, 0).exp(),
            lambda s: torch.exp(torch.nn.LogSoftmax(dim=0)(s)),
            lambda s: torch.exp(s - torch.logsumexp(s, 0)),
            lambda s: torch.exp(s - s.logsumexp(0)),
        )),
        W(lambda s: torch.exp(s - s.min()) / torch.exp(s - s.min()).sum()),
        W(lambda s: torch.exp(s - s.mean()) / torch.exp(s - s.mean()).sum()),
        W(lambda s: torch.exp(s - s.max()), "sum to 1"),  # not divided by the sum
        W(lambda s: torch.exp(s - s.max()) / s.numel()),
        # another score than the largest: exponents above 709 where the scores are far apart
        W(lambda s: torch.exp(s - s[0]) / torch.exp(s - s[0]).sum(), "nan"),
        W(lambda s: torch.exp(s - s[:-1].max()) / torch.exp(s - s[:-1].max()).sum()
          if len(s) > 1 else torch.ones(1, dtype=s.dtype), "nan"),  # all but the last score
        W(lambda s: torch.exp(s - s.sort().values[-2]) / torch.exp(s - s.sort().values[-2]).sum()
          if len(s) > 1 else torch.ones(1, dtype=s.dtype), "nan"),  # the second largest
        # ready-made softmaxes in disguise: a loss, and attention itself
        W(lambda s: torch.exp(-torch.nn.functional.cross_entropy(
            s.expand(len(s), -1).nan_to_num(neginf=-1e300), torch.arange(len(s)),
            reduction="none")), "yourself"),
        W(lambda s: torch.nn.functional.scaled_dot_product_attention(
            torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1)), "yourself"),
        # a masked score replaced by 0 before the softmax (the source note's erratum)
        W(lambda s: nb03.softmax_stable(torch.nan_to_num(s, neginf=0.0)), "exactly 0"),
    ])
    yield Case("03", 3, "fold_sqrt_d", [
        W(lambda W_q: W_q / math.sqrt(W_q.size(0)), "√C"),  # √C, equal when C = d
        W(lambda W_q: W_q / math.sqrt(8)),  # the notebook's d, hard-coded
        W(lambda W_q: W_q * math.sqrt(W_q.size(1))),
        W(lambda W_q: W_q / W_q.size(1)),
        W(lambda W_q: W_q),
        W(lambda W_q: (W_q / math.sqrt(W_q.size(1))).T),  # wrong shape
    ])
    T_q = lambda w: w.size(1)
    yield Case("03", 4, "weight_on", [
        W(lambda w, t: w[:, torch.arange(T_q(w)), t].mean(dim=0)),  # averaged over the heads
        W(lambda w, t: w[:, torch.arange(T_q(w)), t].sum(dim=-1)),  # summed, not averaged
        # how often the target wins, not how much weight it gets
        W(lambda w, t: (w.argmax(dim=-1) == t).double().mean(dim=-1), "how much weight"),
        W(lambda w, t: w[:, :, t].mean(dim=(1, 2))),  # every query against every target
        # the targets as query positions too: an index out of range, with its hint
        W(lambda w, t: w[:, t, t].mean(dim=-1), "the second index is the query"),
        # the weight each query puts on itself, not on its target
        W(lambda w, t: w[:, torch.arange(T_q(w)), torch.arange(w.size(2) - T_q(w), w.size(2))]
          .mean(dim=-1)),
        W(lambda w, t: torch.tensor([0.74, 0.16, 0.12, 0.21, 0.12, 0.06])),
        W(_want_from_the_stack),  # the check's own expected answer, read off the call stack
    ])


def _cases_04() -> Iterator[Case]:
    yield Case("04", 1, "strict_past_mask", [
        W(causal_mask, "diagonal"),  # the diagonal is still there
        W(lambda T: nb04.strict_past_mask(T).T),  # rows and columns swapped
        W(lambda T: nb04.strict_past_mask(T).int()),  # not bool
        W(lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)[:8, :8]
          if T == 8 else nb04.strict_past_mask(8)),  # one length only
        W(lambda T: nb04.strict_past_mask(8)),  # hard-coded
        # the diagonal above instead of below: not "GPT's causal mask", which it equals at T = 1
        W(lambda T: torch.ones(T, T, dtype=torch.bool).tril(1), "must be hidden",
          absent="causal mask"),
    ])

    def by_cells(m):  # the loop version, cell by cell
        T = m.size(0)
        return all(not m[i, j] for i in range(T) for j in range(i + 1, T))

    yield Case("04", 2, ("chunked_mask", "is_causal"), right=[
        R(lambda m: ~m.triu(1).any(), slot=1),  # a one-element bool tensor works in an `if`
        R(by_cells, slot=1),
    ], wrong=[
        W(lambda T, c: (torch.arange(T)[None] // c) == (torch.arange(T)[:, None] // c),
          "earlier chunks"),  # block-diagonal
        W(lambda T, c: (torch.arange(T)[None] // c) < (torch.arange(T)[:, None] // c)),  # earlier only
        W(lambda T, c: nb04.chunked_mask(T, 2)),  # chunk ignored
        W(lambda T, c: causal_mask(T)),
        # wrong is_causal: the old exercise's hard-coded yes/no, as functions
        W(lambda m: True, "causal", slot=1),
        W(lambda m: False, "causal", slot=1),
        # only the diagonal: every token sees itself
        W(lambda m: bool(m.diagonal().all()), "causal", slot=1),
        # exactly GPT's mask: a sliding window or a strict-past mask is causal too
        W(lambda m: torch.equal(m, causal_mask(m.size(0))), "causal", slot=1),
        # the whole lower triangle must be visible
        W(lambda m: bool(m[causal_mask(m.size(0))].all()), "causal", slot=1),
        # only the cells just above the diagonal (one step into the future)
        W(lambda m: not m.diagonal(1).any(), "causal", slot=1),
        # rows and columns swapped: looks below the diagonal
        W(lambda m: not m.tril(diagonal=-1).any(), "causal", slot=1),
        # only the first query's row
        W(lambda m: not m[0, 1:].any(), "causal", slot=1),
        # a tensor of cells, not one answer; a count
        W(lambda m: ~m.triu(1), "True or False", slot=1),
        W(lambda m: int(m.triu(1).sum()), "True or False", slot=1),
    ])

    def stored_result():  # right for another model, not for the check's
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=11, n_positions=12, n_embd=12, n_layer=2, n_head=3)).eval()
        ids = torch.randint(0, 11, (2, 6))
        with torch.no_grad():
            stored = nb04.logits_of_prefixes(model, ids)
        return lambda model, ids: stored

    yield Case("04", 3, "logits_of_prefixes", [
        # the answer that passed before: one pass over all tokens (`logits_prefix = logits`)
        W(lambda model, ids: model(ids), "one pass"),
        # the first position of each prefix instead of the last
        W(lambda model, ids: torch.cat([model(ids[:, : t + 1])[:, :1] for t in range(ids.size(1))],
                                       dim=1)),
        # the batch dimension dropped
        W(lambda model, ids: torch.stack([model(ids[:, : t + 1])[0, -1] for t in range(ids.size(1))]),
          "shape"),
        W(later(stored_result)),
    ])
    eye = lambda T: torch.eye(T, dtype=torch.bool)
    yield Case("04", 4, "batch_mask", [
        # the causal mask alone: left padding is in the past, so it is seen
        W(lambda am: causal_mask(am.size(1)).expand(am.size(0), -1, -1), "padding"),
        # padding hidden but no diagonal: the left pads' rows are empty, softmax gives nan
        W(lambda am: causal_mask(am.size(1)) & am.bool()[:, None, :], "nan"),
        # the padding read along the query axis instead of the key axis
        W(lambda am: causal_mask(am.size(1)) & (am.bool()[:, :, None] | eye(am.size(1)))),
        # not causal: real keys only
        W(lambda am: am.bool()[:, None, :] | eye(am.size(1)), "causal"),
        # one mask for the whole batch, or a float mask
        W(lambda am: nb04.batch_mask(am)[0]),
        W(lambda am: nb04.batch_mask(am).float()),
        # helpers.padding_mask is for right padding only (and its pad rows do not see themselves)
        W(lambda am: padding_mask(am.sum(dim=1), am.size(1)) & causal_mask(am.size(1))),
    ])


def _attention_with_a_slip(x, c_attn, c_proj, n_head, *, transpose=True, scale_by_c=False,
                           mask=True, reshape=False, fill=float("-inf"), exp_by_hand=False,
                           hide="future", softmax_dim=-1, mask_after=False, merge_transpose=True,
                           project=True, scale=None, dtype=None):
    """Notebook 05's multi-head attention with one of the classic slips switched on. hide: which
    keys the mask hides, "future" (j > i, right), "future_and_self" (j >= i: the diagonal too),
    "past_and_self" (j <= i: the mask inverted) or "past" (j < i: triu the wrong way)."""
    B, T, C = x.shape
    hd = C // n_head
    if dtype is not None:  # the whole computation in another dtype (float64 is right too)
        x = x.to(dtype)
        c_attn = lambda t, layer=c_attn: F.linear(t, layer.weight.to(dtype), layer.bias.to(dtype))
        c_proj = lambda t, layer=c_proj: F.linear(t, layer.weight.to(dtype), layer.bias.to(dtype))
    q, k, v = c_attn(x).split(C, dim=2)
    if reshape:  # straight to (B, H, T, hd): runs, and cuts across tokens
        q, k, v = (t.reshape(B, n_head, T, hd) for t in (q, k, v))
    elif transpose:
        q, k, v = (t.view(B, T, n_head, hd).transpose(1, 2) for t in (q, k, v))
    else:  # a view straight to (B, H, T, hd): q is a slice of c_attn's output, so it raises
        q, k, v = (t.view(B, n_head, T, hd) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(scale or (C if scale_by_c else hd))
    ones = torch.ones(T, T, dtype=torch.bool)
    hidden = {"future": ones.triu(1), "future_and_self": ones.triu(0),
              "past_and_self": ones.tril(0), "past": ones.tril(-1)}[hide]
    if mask_after:  # the softmax first, then the hidden weights zeroed: rows no longer sum to 1
        weights = torch.softmax(scores, dim=softmax_dim) * ~hidden
    else:
        if mask:
            scores = scores.masked_fill(hidden, fill)
        if exp_by_hand:  # a softmax without subtracting the largest score: exp overflows
            weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)
        else:
            weights = torch.softmax(scores, dim=softmax_dim)
    y = weights @ v
    y = y.transpose(1, 2).reshape(B, T, C) if merge_transpose else y.reshape(B, T, C)
    return c_proj(y) if project else y


def _cases_05() -> Iterator[Case]:
    def no_bias(conv):
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight.T)
        return linear

    def reshaped(conv):  # right shape, wrong layout
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight.reshape(conv.nf, conv.nx))
        linear.bias.copy_(conv.bias)
        return linear

    def sizes_swapped(conv):
        linear = nn.Linear(conv.nf, conv.nx)
        linear.weight.copy_(conv.weight)
        return linear

    def not_transposed(conv):  # copy_ of (in, out) into (out, in): raises, unless square
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight)
        linear.bias.copy_(conv.bias)
        return linear

    def float64(conv):  # the right numbers in a layer the Conv1D's inputs cannot go through
        linear = nn.Linear(conv.nx, conv.nf, dtype=torch.float64)
        linear.weight.copy_(conv.weight.T)
        linear.bias.copy_(conv.bias)
        return linear

    def forward_swapped(conv):  # random weights that compute the Conv1D's numbers
        linear = nn.Linear(conv.nx, conv.nf)
        linear.bias.copy_(conv.bias)
        linear.forward = conv.forward
        return linear

    def conv_transposed_in_place(conv):  # the right Linear, but the Conv1D is changed
        conv.weight.data = conv.weight.data.T.contiguous()
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight)
        linear.bias.copy_(conv.bias)
        return linear

    yield Case("05", 1, "conv1d_to_linear", [
        W(no_bias, "bias"), W(reshaped, "a reshape is not a transpose"), W(sizes_swapped),
        W(not_transposed, "goes in transposed"), W(float64, "float32"),
        W(forward_swapped, "weight, transposed"), W(conv_transposed_in_place, "in place"),
    ])

    def interleaved(h, part, n_embd=768, n_head=12):  # [q k v] per head: another model's layout
        hd = n_embd // n_head
        start = h * 3 * hd + "qkv".index(part) * hd
        return slice(start, start + hd)

    def forgot_part(h, part, n_embd=768, n_head=12):
        hd = n_embd // n_head
        return slice(h * hd, (h + 1) * hd)

    def hard_coded(h, part, n_embd=768, n_head=12):  # GPT-2 small's sizes only
        start = "qkv".index(part) * 768 + h * 64
        return slice(start, start + 64)

    def as_tuple(h, part, n_embd=768, n_head=12):
        cols = nb05.head_columns(h, part, n_embd, n_head)
        return cols.start, cols.stop

    def reversed_slice(h, part, n_embd=768, n_head=12):
        cols = nb05.head_columns(h, part, n_embd, n_head)
        return slice(cols.stop - 1, cols.start - 1 if cols.start else None, -1)

    yield Case("05", 2, "head_columns", [
        W(interleaved), W(forgot_part), W(hard_coded), W(as_tuple, "return slice(start, stop)"),
        W(reversed_slice, "runs backwards"),
    ])
    yield Case("05", 3, "attention_parameters", [
        W(lambda e, h: 4 * e * e, "bias"),
        W(lambda e, h: 2_362_368),  # GPT-2 small's count hard-coded
        W(lambda e, h: 4 * e * e + 4 * e * h),  # depends on n_head
        W(lambda e, h: float(4 * e * e + 4 * e)),  # not an int
    ])
    slip = lambda **slips: lambda *a: _attention_with_a_slip(*a, **slips)

    def ready_made(x, c_attn, c_proj, n_head):  # PyTorch's fused attention
        B, T, C = x.shape
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2)
                   for t in c_attn(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return c_proj(y.transpose(1, 2).reshape(B, T, C))

    def helpers_module(x, c_attn, c_proj, n_head):  # helpers' module with the layers put in
        from helpers import MultiHeadSelfAttention

        attn = MultiHeadSelfAttention(x.size(-1), n_head).eval()
        attn.c_attn, attn.c_proj = c_attn, c_proj
        return attn(x)

    def helpers_three_steps(x, c_attn, c_proj, n_head):  # helpers.self_attention on the heads
        B, T, C = x.shape
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2)
                   for t in c_attn(x).split(C, dim=2))
        y, _ = self_attention(q, k, v, causal_mask(T))
        return c_proj(y.transpose(1, 2).reshape(B, T, C))

    def notebook_sizes(x, c_attn, c_proj, n_head):  # the notebook's B, T, head_dim (GPT-2 small)
        q, k, v = c_attn(x).split(x.size(-1), dim=2)
        return q.view(2, 8, 12, 64).transpose(1, 2)

    def layers_changed(x, c_attn, c_proj, n_head):  # the right output, c_proj's bias zeroed
        y = nb05.multi_head_attention(x, c_attn, c_proj, n_head)
        c_proj.bias.zero_()
        return y

    def torch_module(x, c_attn, c_proj, n_head):  # torch's own attention layer, weights put in
        B, T, C = x.shape
        attn = torch.nn.MultiheadAttention(C, n_head, batch_first=True).eval()
        attn.in_proj_weight.copy_(c_attn.weight)
        attn.in_proj_bias.copy_(c_attn.bias)
        attn.out_proj.weight.copy_(c_proj.weight)
        attn.out_proj.bias.copy_(c_proj.bias)
        return attn(x, x, x, attn_mask=~causal_mask(T), need_weights=True)[0]

    def check_own(x, c_attn, c_proj, n_head):  # the check's own reference, reached as check._attention
        from helpers import MultiHeadSelfAttention

        ref = MultiHeadSelfAttention(x.size(-1), n_head)
        ref.c_attn, ref.c_proj = c_attn, c_proj
        return exercises.nb05._attention(x, ref, n_head)

    yield Case("05", 4, "multi_head_attention", under=torch.no_grad, wrong=[
        W(slip(transpose=False), "only the last dimension can be split"),
        W(slip(scale_by_c=True), "sqrt(C)"),
        W(slip(scale=64), "sqrt(64)"),
        W(slip(mask=False), "causal mask is missing"),
        W(slip(fill=0.0), "-inf"),
        W(slip(reshape=True), "split with reshape", absent="mask"),
        W(slip(reshape=True, merge_transpose=False), "split with reshape", absent="mask"),
        W(slip(exp_by_hand=True), "inf / inf is nan"),
        W(slip(softmax_dim=-2), "dim -2"),
        W(slip(softmax_dim=1), "dim 1, the heads"),
        W(slip(mask_after=True), "after the softmax"),
        W(slip(hide="past_and_self"), "last token's output is nan"),
        W(slip(hide="future_and_self"), "keep the diagonal"),
        W(slip(hide="past"), "wrong way round"),
        W(slip(merge_transpose=False), "merged without transpose", absent="split"),
        W(slip(project=False), "c_proj is missing"),
        W(ready_made, "scaled_dot_product_attention does the work"),
        W(helpers_module, "MultiHeadSelfAttention does the work"),
        W(helpers_three_steps, "self_attention does the work"),
        W(notebook_sizes, "not the notebook's"),
        W(torch_module, "multi_head_attention_forward does the work"),
        W(check_own, "the check's own reference"),
        W(layers_changed, "in place"),
        W(lambda x, c_attn, c_proj, n_head: x),
    ], right=[R(slip(dtype=torch.float64)), R(slip(fill=-1e9))])
    yield Case("05", 5, "previous_token_weight", [
        W(lambda w: w.diagonal(dim1=-2, dim2=-1).mean(dim=(0, 2)), "own position"),
        W(lambda w: w.diagonal(offset=1, dim1=-2, dim2=-1).mean(dim=(0, 2))),  # the future
        W(lambda w: w.diagonal(offset=-1, dim1=-2, dim2=-1).sum(-1).mean(0) / w.size(-1)),  # row 0
        W(lambda w: w.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)[0]),
    ])


def _cases_06() -> Iterator[Case]:
    def layer_norm_like(x, weight, eps=1e-5):
        c = x - x.mean(-1, keepdim=True)
        return c / torch.sqrt(c.pow(2).mean(-1, keepdim=True) + eps) * weight

    def no_eps(x, weight, eps=1e-5):
        return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True)) * weight

    def eps_outside(x, weight, eps=1e-5):
        return x / (x.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps) * weight

    def std_not_rms(x, weight, eps=1e-5):
        return x / torch.sqrt(x.var(dim=-1, keepdim=True) + eps) * weight

    yield Case("06", 1, "rms_norm", [
        W(layer_norm_like, "does not subtract the mean"), W(no_eps), W(eps_outside), W(std_not_rms),
    ])
    yield Case("06", 2, "block_parameters", [
        W(lambda C, inner: 12 * C * C + 13 * C, "whatever n_inner is"),  # section 9's formula
        W(lambda C, inner: 4 * C * C + 2 * C * inner, "biases"),
        W(lambda C, inner: 4 * C * C + 2 * C * inner + inner + 5 * C),  # LayerNorms forgotten
        W(lambda C, inner: 4 * C * C + 2 * C * inner + 2 * inner + 8 * C),  # c_proj's bias wide
        W(lambda C, inner: 7_087_872),  # GPT-2 small's count hard-coded
        W(lambda C, inner: 4 * C * C + 2 * C * inner + inner + 9 * C + 0.0),  # a float
    ])

    def hard_coded(blk, x, t):  # passed the old check, which used one causal block
        return torch.arange(x.size(1)) >= t

    def only_later(blk, x, t):  # forgets that token t reaches its own output
        return torch.arange(x.size(1)) > t

    def wrong_axis(blk, x, t):
        x2 = x.clone()
        x2[:, t] = torch.randn_like(x2[:, t])
        return (blk(x) - blk(x2)).abs().amax(dim=(0, 1)) > 1e-5  # (C,), not (T,)

    yield Case("06", 3, "changed_outputs", under=torch.no_grad, wrong=[
        W(hard_coded), W(only_later), W(wrong_axis),
    ])

    def no_rescale(x, p, training):
        return x * (torch.rand_like(x) >= p) if training else x

    def keeps_with_p(x, p, training):  # zeroes 1 - p of the numbers
        return x * (torch.rand_like(x) < p) / (1 - p) if training else x

    def always_on(x, p, training):
        return x * (torch.rand_like(x) >= p) / (1 - p)

    def scaled_at_eval(x, p, training):  # the pre-2014 convention: scale at test time instead
        return x * (torch.rand_like(x) >= p) if training else x * (1 - p)

    yield Case("06", 4, "dropout", [
        W(no_rescale, "rescaling"), W(keeps_with_p), W(always_on), W(scaled_at_eval),
    ])

    def gradients(blocks, arrange, x, target, zero=True, order=1, param="c_fc"):
        with torch.enable_grad():
            if zero:
                blocks.zero_grad()
            h = x
            for blk in blocks:
                h = arrange(blk, h)
            (h * target).sum().backward()
            return [getattr(blk.mlp, param).weight.grad.norm().item() for blk in blocks][::order]

    yield Case("06", 5, "gradient_by_block", [
        W(lambda *a: gradients(*a, zero=False), "zero_grad"),  # gradients add up
        W(lambda *a: gradients(*a, order=-1), "reverse order"),
        W(lambda *a: gradients(*a, param="c_proj")),  # another weight
        W(lambda b, arrange, x, target: gradients(b, arrange, x, torch.ones_like(target))),
        W(lambda b, arrange, x, target: gradients(b, lambda blk, h: blk(h), x, target)),  # pre-LN always
    ], right=[
        R(lambda *a: torch.tensor(gradients(*a))),  # a tensor of norms
    ])


def _cases_07() -> Iterator[Case]:
    gpt_parameters = lambda *a: nb07.gpt_parameters(*a)
    yield Case("07", 1, "gpt_parameters", [
        W(lambda V, P, C, L: gpt_parameters(V, P, C, L) + V * C, "output layer is wte"),  # untied
        W(lambda V, P, C, L: gpt_parameters(V, P, C, L) - 2 * C, "ln_f"),
        W(lambda V, P, C, L: gpt_parameters(V, P, C, L) - P * C, "wpe"),
        W(lambda V, P, C, L: 124_439_808),  # GPT-2 small hard-coded
        W(lambda V, P, C, L: L * 7_087_872 + (V + P + 2) * C),
        W(lambda V, P, C, L: "124M"),
    ], right=[
        R(lambda V, P, C, L: torch.tensor(gpt_parameters(V, P, C, L))),  # a one-element tensor
    ])

    def no_ln_f(model, idx, head):
        x = model.wte(idx) + model.wpe(torch.arange(idx.size(1)))
        for block in model.h:
            x = block(x)
        return x @ head.T

    def no_positions(model, idx, head):
        x = model.wte(idx)
        for block in model.h:
            x = block(x)
        return model.ln_f(x) @ head.T

    def ids_as_positions(model, idx, head):
        x = model.wte(idx) + model.wpe(idx)  # the token ids used as positions
        for block in model.h:
            x = block(x)
        return model.ln_f(x) @ head.T

    def positions_from_1(model, idx, head):
        x = model.wte(idx) + model.wpe(torch.arange(1, idx.size(1) + 1))
        for block in model.h:
            x = block(x)
        return model.ln_f(x) @ head.T

    def no_blocks(model, idx, head):
        return model.ln_f(model.wte(idx) + model.wpe(torch.arange(idx.size(1)))) @ head.T

    def head_as_wte(model, idx, head):  # "swap the output layer" by assigning (cell nb07-14)
        model.wte.weight = nn.Parameter(head)
        return model(idx)

    def head_into_wte_data(model, idx, head):
        model.wte.weight.data = head.clone()
        return model(idx)

    def notebook_globals(model, idx, head):
        return final_hidden(idx) @ head.T  # noqa: F821  (the notebook's function, not model's)

    with_head = lambda m, i, h: nb07.logits_with_head(m, i, h)
    yield Case("07", 2, "logits_with_head", [
        W(lambda model, idx, head: model(idx), "use `head`"),  # ignores head
        W(no_ln_f, "ln_f"),
        W(no_positions, "wpe"),
        W(lambda m, i, h: with_head(m, i, h).softmax(-1)),
        W(lambda m, i, h: with_head(m, i, h).log_softmax(-1), "(log-)softmax"),
        W(lambda m, i, h: with_head(m, i, h)[:, -1]),  # shape
        W(lambda m, i, h: with_head(m, i, h.T)),  # raises
        W(head_as_wte, "changed the model's weights in place: wte.weight"),
        W(head_into_wte_data, "changed the model's weights in place: wte.weight"),
        W(ids_as_positions, "not the token ids"),
        W(positions_from_1, "positions start at 0"),
        W(no_blocks, "go through the blocks"),
        W(notebook_globals, "reads the notebook's final_hidden"),
    ])

    def no_shift(model, idx):
        logp = F.log_softmax(model(idx), dim=-1)
        return logp.gather(-1, idx[..., None])[..., 0].sum(dim=-1)

    def softmax_over_positions(model, idx):
        logp = F.log_softmax(model(idx), dim=1)  # the wrong dimension
        return logp[:, :-1].gather(-1, idx[:, 1:, None])[..., 0].sum(dim=-1)

    def log_of_softmax(model, idx):  # a probability that rounds to 0 gives log 0 = -inf
        probs = model(idx).softmax(dim=-1)
        return probs[:, :-1].gather(-1, idx[:, 1:, None])[..., 0].log().sum(dim=-1)

    yield Case("07", 3, "text_logprob", [
        W(no_shift, "NEXT token"),
        W(lambda model, idx: nb07.text_logprob(model, idx) / (idx.size(1) - 1), "not their mean"),
        W(lambda model, idx: nb07.text_logprob(model, idx).exp(), "not the probability"),
        W(softmax_over_positions),
        W(lambda model, idx: nb07.text_logprob(model, idx)[:1]),  # shape
        W(log_of_softmax, "-inf"),
        W(lambda model, idx: -nb07.text_logprob(model, idx), "wrong sign"),  # the cross-entropy
        W(lambda model, idx: sequence_logprob(model, idx, 1), "sequence_logprob does the work"),
        W(lambda model, idx: helpers.objectives.token_logprobs(model(idx)[:, :-1], idx[:, 1:]).sum(-1),
          "token_logprobs does the work"),
    ], right=[
        # decorated like sequence_logprob, whose torch.no_grad wrapper is every such function's
        R(torch.no_grad()(lambda model, idx: nb07.text_logprob(model, idx))),
    ])

    def next_token(model, idx):
        return (model(idx).argmax(-1)[:, :-1] == idx[:, 1:]).float().mean().item()

    yield Case("07", 4, "share_predicting_input", right=[
        R(lambda m, i: (m(i).argmax(-1) == i).float().mean()),  # a tensor
    ], wrong=[
        W(next_token, "same position"),
        W(lambda model, idx: (model(idx).argmax(-1) == idx).sum().item(), "not a count"),
        W(lambda model, idx: 0.9),  # hard-coded
        W(lambda model, idx: model(idx).argmax(-1) == idx),  # no share
        W(lambda m, i: 100 * nb07.share_predicting_input(m, i), "not a percentage"),
        W(lambda m, i: (m(i).argmax(-1) == i).sum().item() / i.size(1), "B × T"),  # by T only
    ])


def _cases_08() -> Iterator[Case]:
    def running_sum(probs, u):  # each start as total - p: rounds, and u may fall between slices
        total = 0.0
        for i, p in enumerate(probs.tolist()):
            total += p
            if total - p <= u < total:
                return i
        return max(i for i, p in enumerate(probs.tolist()) if p > 0)

    def prefix_sums(probs, u):  # each slice's end summed anew: other roundings than cumsum's
        for i in range(len(probs)):
            if probs[i] > 0 and float(probs[:i].sum()) <= u < float(probs[: i + 1].sum()):
                return i
        return int((probs > 0).nonzero().max())

    yield Case("08", 1, "pick", right=[
        R(lambda probs, u: torch.searchsorted(probs.cumsum(0), u, right=True)),
        R(prefix_sums),
    ], wrong=[
        W(running_sum, "running total before adding"),  # total - p: a gap at a slice's end
        W(lambda probs, u: int((probs.cumsum(0) < u).sum()), "probability is 0"),  # u on an edge
        W(lambda probs, u: int(probs.argmax()), "greedy"),
        W(lambda probs, u: int(torch.multinomial(probs, 1))),
        W(lambda probs, u: nb08.pick(probs.sort(descending=True).values, u), "vocabulary order"),
        W(lambda probs, u: int(probs.sort(descending=True).indices[  # sorted, then mapped back
            nb08.pick(probs.sort(descending=True).values, u)]), "vocabulary order"),
        W(lambda probs, u: float(nb08.pick(probs, u))),  # not an id
        W(lambda probs, u: len(probs)),  # outside the vocabulary
    ])

    def one_too_few(probs, p):  # stops before the token that crosses p
        return int((probs.sort(descending=True).values.cumsum(-1) < p).sum())

    def unsorted(probs, p):
        return int(((probs.cumsum(-1) - probs) < p).sum())

    yield Case("08", 2, "nucleus_size", [
        W(one_too_few, "one token too few"),
        W(unsorted, "most likely down"),
        W(lambda probs, p: int((probs >= p).sum()), "does not compare each probability"),
        W(lambda probs, p: 5, "most likely down"),
        # sorted the wrong way: the least likely first
        W(lambda probs, p: int((probs.sort().values.cumsum(0) < p).sum()) + 1, "most likely down"),
        # stops only once the mass passes p: one too many where it equals p exactly
        W(lambda probs, p: int((probs.sort(descending=True).values.cumsum(0) - probs.sort(
            descending=True).values <= p).sum().clamp(max=probs.numel())), "exactly"),
    ])

    def probabilities(logits, min_p):
        probs = logits.softmax(-1)
        return probs.masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, 0.0)

    def on_logits(logits, m):
        return logits.masked_fill(logits < m * logits.max(-1, keepdim=True).values, float("-inf"))

    def exp_ratio(logits, min_p):  # the softmax's sum cancels in the ratio: exp alone overflows
        e = logits.exp()
        return logits.masked_fill(e < min_p * e.max(-1, keepdim=True).values, float("-inf"))

    def softmax_by_hand(logits, min_p):
        e = logits.exp()
        probs = e / e.sum(-1, keepdim=True)
        return logits.masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, float("-inf"))

    def at_most(logits, min_p):  # drops a token exactly at the threshold too
        probs = logits.softmax(-1)
        return logits.masked_fill(probs <= min_p * probs.max(-1, keepdim=True).values, float("-inf"))

    yield Case("08", 3, "min_p_filter", [
        W(probabilities, "not probabilities"),
        W(lambda logits, m: nb08.min_p_filter(logits, m).nan_to_num(neginf=0.0), "-inf"),
        W(lambda logits, m: nb08.min_p_filter(logits, m).nan_to_num(neginf=-1e9), "float('-inf')"),
        W(lambda logits, m: logits.masked_fill(logits.softmax(-1) < m, float("-inf")), "relative"),
        W(on_logits),
        # the largest of all rows, not of each row
        W(lambda logits, m: logits.masked_fill(logits.softmax(-1) < m * logits.softmax(-1).max(),
                                               float("-inf")), "of its own row"),
        # the right tokens dropped from the log-probabilities, not from the logits
        W(lambda logits, m: nb08.min_p_filter(logits.log_softmax(-1), m), "keep their logits"),
        W(exp_ratio, "88.7"),
        W(softmax_by_hand, "88.7"),
        W(at_most, "exactly min_p times the largest"),
    ])

    def digits_reversed(model, idx, n):  # the best's index decoded lowest digit first
        V = model.config.vocab_size
        tails = torch.tensor(list(itertools.product(range(V), repeat=n)))
        seqs = torch.cat([idx.expand(len(tails), -1), tails], dim=1)
        best = int(sequence_logprob(model, seqs, idx.size(1)).argmax())
        return torch.tensor([best // V**k % V for k in range(n)])

    yield Case("08", 4, "best_continuation", [
        W(lambda model, idx, n: generate(model, idx, n, do_sample=False)[0, idx.size(1):], "greedy"),
        W(lambda model, idx, n: torch.cat([idx[0], nb08.best_continuation(model, idx, n)]),
          "without the prompt"),
        W(lambda model, idx, n: beam_search(model, idx, n, 1)[0, idx.size(1):]),  # a narrow beam
        # a wider beam: passed before the beam-search case
        W(lambda model, idx, n: beam_search(model, idx, n, 3)[0, idx.size(1):], "beam search"),
        W(lambda model, idx, n: nb08.best_continuation(model, idx, n)[:1]),
        W(digits_reversed, "reverse order"),
    ])


def _log_softmax(logits, dim=-1):
    """A hand-written log-softmax (the check refuses torch's) for notebook 09's wrong answers."""
    shifted = logits - logits.max(dim=dim, keepdim=True).values
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def _cases_09() -> Iterator[Case]:
    make_xy = lambda *a: nb09.make_xy(*a)
    yield Case("09", 1, "make_xy", [
        W(lambda data, starts, T: (make_xy(data, starts, T)[0],) * 2, "copy"),  # no shift
        W(lambda data, starts, T: (  # backwards
            make_xy(data, starts, T)[0],
            torch.stack([data[max(s - 1, 0) : max(s - 1, 0) + T] for s in starts.tolist()])),
          "wrong way"),
        W(lambda data, starts, T: make_xy(data, starts, T + 1), "(B, T)"),  # one too long
        W(lambda data, starts, T: (  # shifted by two
            make_xy(data, starts, T)[0],
            torch.stack([data[s + 2 : s + 2 + T] for s in starts.tolist()]))),
        W(lambda data, starts, T: make_xy(torch.arange(50), torch.tensor([0, 3, 7]), 4)),  # stored
    ])
    cross_entropy = lambda lg, t: nb09.cross_entropy(lg, t)
    yield Case("09", 2, "cross_entropy", [
        # torch's own functions are refused while the check runs (and restored after it)
        W(lambda lg, t: F.cross_entropy(lg.flatten(0, 1), t.flatten()), "does the work for you"),
        W(lambda lg, t: -lg.log_softmax(-1).gather(-1, t[..., None]).mean(), "does the work for you"),
        W(lambda lg, t: (torch.logsumexp(lg, -1) - lg.gather(-1, t[..., None])[..., 0]).mean(),
          "does the work for you"),
        # -log(0) = inf for large logits
        W(lambda lg, t: -torch.softmax(lg, -1).log().gather(-1, t[..., None]).mean(), "stay in logs"),
        # overflows on large logits
        W(lambda lg, t: -(lg.exp() / lg.exp().sum(-1, keepdim=True)).log().gather(
            -1, t[..., None]).mean(), "overflow"),
        W(lambda lg, t: -cross_entropy(lg, t), "sign"),
        W(lambda lg, t: cross_entropy(lg, t) * t.numel(), "sum"),
        W(lambda lg, t: -_log_softmax(lg).gather(-1, t[..., None])[..., 0], "one number"),  # per position
        W(lambda lg, t: -_log_softmax(lg, 1).gather(-1, t[..., None]).mean()),  # the wrong dim
        W(lambda lg, t: torch.tensor(math.log(lg.size(-1)))),
    ])
    linear_schedule = lambda it, c: nb09.linear_schedule(it, c)

    def warmup_from_zero(it, c):
        return c.learning_rate * it / c.warmup_iters if it < c.warmup_iters else linear_schedule(it, c)

    def to_zero(it, c):
        if it < c.warmup_iters:
            return linear_schedule(it, c)
        return c.learning_rate * max(0.0, 1 - (it - c.warmup_iters) / (c.max_iters - c.warmup_iters))

    def unclamped(it, c):
        if it < c.warmup_iters:
            return linear_schedule(it, c)
        progress = (it - c.warmup_iters) / max(1, c.max_iters - c.warmup_iters)
        return c.learning_rate + progress * (c.min_lr - c.learning_rate)

    yield Case("09", 3, "linear_schedule", [
        W(lambda it, c: c.lr_at(it), "cosine"),  # the cosine schedule
        W(warmup_from_zero, "warm-up"),
        W(to_zero),
        W(unclamped, "after the last step"),
        W(lambda it, c: 1e-3),
    ], right=[  # a right answer in float32, as a tensor or a NumPy number
        R(lambda it, c: torch.tensor(linear_schedule(it, c), dtype=torch.float32)),
        R(lambda it, c: np.float32(linear_schedule(it, c))),
    ])
    adamw_step = lambda *a: nb09.adamw_step(*a)

    def no_correction(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return p - lr * m / (v.sqrt() + eps), m, v

    def adam_l2(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        return adamw_step(p, grad + weight_decay * p, m, v, t, lr, beta1, beta2, eps, 0.0)

    def decay_after(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p, m, v = adamw_step(p, grad, m, v, t, lr, beta1, beta2, eps, 0.0)
        return p * (1 - lr * weight_decay), m, v

    def eps_inside(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return p - lr * m_hat / (v_hat + eps).sqrt(), m, v

    def efficient_order(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        step = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)  # Kingma & Ba, end of section 2
        return p - step * m / (v.sqrt() + eps), m, v

    yield Case("09", 4, "adamw_step", [
        W(efficient_order, "faster order"),
        W(no_correction, "bias correction"),
        W(adam_l2, "L2"),
        W(decay_after, "after the update"),
        W(eps_inside, "outside the square root"),
        W(lambda p, grad, m, v, t, lr, *rest: (p - lr * grad, m, v)),  # plain SGD
        W(lambda p, grad, m, v, t, *rest: (p, m), "three"),  # two values
    ])


def _cases_10() -> Iterator[Case]:
    gqa = lambda *a: nb10.gqa_cache_bytes(*a)
    yield Case("10", 1, "gqa_cache_bytes", [
        W(lambda c, h, n, b, nb: gqa(c, h, n, b, nb) // 2, "AND the values"),  # keys only
        W(lambda c, h, n, b, nb: 2 * c.n_layer * n * c.n_embd * nb * b, "grouped-query"),  # every head
        W(lambda c, h, n, b, nb: gqa(c, h, n, b, nb) // c.n_layer, "one layer"),
        W(lambda c, h, n, b, nb: 75_497_472),  # GPT-2 small, stored
        W(lambda c, h, n, b, nb: gqa(c, h, n, 1, nb)),  # the batch forgotten
    ], right=[
        R(lambda c, h, n, b, nb: np.prod([2, c.n_layer, n, h, c.head_dim, b, nb])),  # numpy.int64
    ])

    def tril_mask(q, K, V):
        scores = q @ K.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, 1, t)
        mask = torch.ones(1, K.size(2), dtype=torch.bool).tril()  # hides all but key 0
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ V

    def softmax_by_hand(q, K, V):  # exp overflows on large scores
        e = (q @ K.transpose(-2, -1) / math.sqrt(q.size(-1))).exp()
        return e / e.sum(dim=-1, keepdim=True) @ V

    yield Case("10", 2, "attend_new_token", [
        W(lambda q, K, V: torch.softmax(q @ K.transpose(-2, -1), dim=-1) @ V, "sqrt(d)"),  # unscaled
        W(tril_mask, "first key"),
        # against the values: the note's erratum 2
        W(lambda q, K, V: torch.softmax(q @ V.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ V,
          "KEYS"),
        W(lambda q, K, V: torch.softmax(q @ K.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-2) @ V),
        W(lambda q, K, V: V[:, :, -1:]),  # only the newest value
        W(lambda q, K, V: nb10.attend_new_token(q, K, V)[:, :, 0], "shape"),
        W(softmax_by_hand, "inf / inf is nan"),
    ])

    def no_cache(model, idx, n):
        out = idx
        for _ in range(n):
            out = torch.cat([out, model(out)[:, -1].argmax(-1, keepdim=True)], dim=1)
        return out

    def cache_then_forgotten(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt)  # no cache: the new token sits at position 0, alone
        return out

    def whole_sequence_with_cache(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        out = idx
        for _ in range(n):
            nxt = model(out, kv_cache=cache)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out

    def first_position(model, idx, n):
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, 0].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt, kv_cache=cache)
        return out

    def dummy_cached_calls(model, idx, n):
        """Decodes without the cache, and makes the cached calls a spy expects on the side."""
        cache = model.new_kv_cache(idx.size(0))
        model(idx, kv_cache=cache)
        out = idx
        for _ in range(n):
            nxt = model(out)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            model(nxt, kv_cache=cache)
        return out

    def first_token_before_the_loop(model, idx, n):  # n - 1 steps: a token too many when n = 0
        cache = model.new_kv_cache(idx.size(0))
        nxt = model(idx, kv_cache=cache)[:, -1].argmax(-1, keepdim=True)
        out = torch.cat([idx, nxt], dim=1)
        for _ in range(n - 1):
            nxt = model(nxt, kv_cache=cache)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out

    def prefill_in_the_loop(model, idx, n):  # no model call at all when n = 0: right
        cache, out = model.new_kv_cache(idx.size(0)), idx
        for step in range(n):
            logits = model(idx if step == 0 else out[:, -1:], kv_cache=cache)
            out = torch.cat([out, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return out

    def no_keepdim(model, idx, n):  # feeds a (B,) tensor: the model's own error must show
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx, kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1)  # (B,)
            out = torch.cat([out, nxt[:, None]], dim=1)
            logits = model(nxt, kv_cache=cache)
        return out

    def prefill_one_short(model, idx, n):  # the prompt's last token fed as the first decode step
        cache = model.new_kv_cache(idx.size(0))
        model(idx[:, :-1], kv_cache=cache)
        logits, out = model(idx[:, -1:], kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt, kv_cache=cache)
        return out

    yield Case("10", 3, "greedy_with_cache", right=[
        R(later(lambda: nb10.greedy_any_length)),  # exercise 4's answer does both
        R(prefill_in_the_loop),
        R(lambda model, idx, n: idx if n == 0 else nb10.greedy_with_cache(model, idx, n)),
    ], wrong=[
        W(no_cache, "cache"),
        W(cache_then_forgotten),
        W(whole_sequence_with_cache, "pass only the new tokens"),  # the model's own error
        W(first_position),
        W(lambda model, idx, n: idx, "shape"),  # nothing generated
        W(dummy_cached_calls, "without the cache"),
        W(first_token_before_the_loop, "0 new tokens"),
        W(lambda model, idx, n: generate(model, idx, n, do_sample=False), "write the loop yourself"),
        W(no_keepdim, "use idx[None]"),
        W(prefill_one_short, "all T = 4 tokens"),
        W(lambda model, idx, n: nb10.greedy_with_cache(model, idx, n).float(), "integers"),
    ])

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

    def always_recompute(model, idx, n):
        n_pos, out = model.config.n_positions, idx
        for _ in range(n):
            nxt = model(out[:, -n_pos:])[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out

    def prefilled_with(model, idx, n, prompt):  # exercise 4's loop, the prefill on `prompt`
        n_pos = model.config.n_positions
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(prompt, kv_cache=cache), idx
        for step in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            if step < n - 1:
                logits = model(nxt, kv_cache=cache) if cache.length < n_pos else model(out[:, -n_pos:])
        return out

    def any_length(model, idx, n, full=None, side_calls=False):
        """Exercise 4's loop; `full(out, n_pos)` gives the logits once the cache is full (default:
        the window recomputed); side_calls adds a recomputation, or a decoy cached call."""
        n_pos = model.config.n_positions
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx[:, -n_pos:], kv_cache=cache), idx
        for step in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            if step == n - 1:
                break
            if cache.length < n_pos:
                logits = model(nxt, kv_cache=cache)
                if side_calls:  # a check against recomputation, as notebook 10's cell does
                    assert torch.allclose(logits[:, -1], model(out[:, -n_pos:])[:, -1], atol=1e-4)
            else:
                logits = full(out, n_pos) if full else model(out[:, -n_pos:])
        return out

    def decoy_cached_calls(model, idx, n):  # recomputes every step; cached calls only for show
        n_pos = model.config.n_positions
        cache = model.new_kv_cache(idx.size(0))
        model(idx[:, -n_pos:], kv_cache=cache)
        out = idx
        for _ in range(n):
            nxt = model(out[:, -n_pos:])[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            if cache.length < n_pos:
                model(nxt, kv_cache=cache)
        return out

    def one_step_too_far(model, idx, n):  # cache.length <= n_pos: one token into a full cache
        n_pos = model.config.n_positions
        cache = model.new_kv_cache(idx.size(0))
        logits, out = model(idx[:, -n_pos:], kv_cache=cache), idx
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            logits = model(nxt, kv_cache=cache) if cache.length <= n_pos else model(out[:, -n_pos:])
        return out

    yield Case("10", 4, "greedy_any_length", [
        # runs past the context with the cache: the model's error names the cache and the fix
        W(later(lambda: nb10.greedy_with_cache), "already holds 128 tokens"),
        W(one_step_too_far, "start a new cache"),
        W(rolled_cache, "stale"),
        W(always_recompute, "not used"),
        # a prompt longer than the context: read whole (the model refuses it), or its first window
        W(lambda model, idx, n: prefilled_with(model, idx, n, idx), "crop it to the last"),
        W(lambda model, idx, n: prefilled_with(model, idx, n, idx[:, :model.config.n_positions]),
          "LAST window"),
        W(lambda model, idx, n: generate(model, idx, n, do_sample=False), "write the loop yourself"),
        W(decoy_cached_calls, "call 2 was (2, False) where (1, True) was due"),
        W(lambda model, idx, n: any_length(model, idx, n, side_calls=True), "belongs outside"),
    ], right=[
        # once the cache is full, the window recomputed into a fresh cache: the same calls
        R(lambda model, idx, n: any_length(model, idx, n, full=lambda out, n_pos: model(
            out[:, -n_pos:], kv_cache=model.new_kv_cache(out.size(0))))),
    ])


def _cases_11() -> Iterator[Case]:
    from exercises import nb11 as check

    entropy = lambda a: nb11.attention_entropy(a)
    yield Case("11", 1, "attention_entropy", [
        W(lambda a: -(a * a.log()).sum(-1).mean(dim=(0, 2)), "0 · ln 0"),  # 0 * log 0 = nan
        W(lambda a: -entropy(a), "flip its sign"),
        W(lambda a: entropy(a) / math.log(2), "nats"),
        W(lambda a: torch.special.entr(a).mean(-1).mean(dim=(0, 2))),
        W(lambda a: torch.special.entr(a).sum(-1).mean(-1), "one number per head"),  # (B, H)
        W(lambda a: entropy(check.random_attention(2, 3, 6, seed=1))),  # hard-coded for one input
    ])

    def duplicate_share(attention, idx):  # the copy itself, not the token after it
        T = idx.size(1)
        same = (idx[:, None, :] == idx[:, :, None]) & causal_mask(T).tril(-1)
        has = same.any(-1)
        return ((attention * same[:, None]).sum(-1) * has[:, None]).sum(dim=(0, 2)) / has.sum()

    def every_query(attention, idx):
        B, T = idx.shape
        before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
        match = (before[:, None, :] == idx[:, :, None]) & causal_mask(T)
        return (attention * match[:, None]).sum(-1).mean(dim=(0, 2))

    def future_too(attention, idx):  # forgets the causal limit on keys: same numbers, in fact
        B, T = idx.shape
        before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
        match = before[:, None, :] == idx[:, :, None]
        has = match.any(-1)  # but counts queries whose match is only in the future
        return ((attention * match[:, None]).sum(-1) * has[:, None]).sum(dim=(0, 2)) / has.sum()

    yield Case("11", 2, "induction_share", [
        W(duplicate_share, "duplicate-token head"),
        W(every_query, "average only over the queries"),
        W(future_too),
        # a previous-token score is something else
        W(lambda a, idx: a.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2))),
    ])

    def clean_loss(model, idx, layer, head):
        with torch.no_grad():
            logits = model(idx)
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()

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

    yield Case("11", 3, "loss_without_head", [
        W(clean_loss, "every head at work"),
        W(hook_left_behind, "remove the hook"),
        W(lambda m, idx, layer, head: nb11.loss_without_head(m, idx, head % 3, layer), "another head"),
        W(zero_queries),
        W(lambda m, idx, layer, head: 2.5),
    ])


def _cases_12() -> Iterator[Case]:
    from exercises import nb12 as check

    qa_prompt = lambda d, h, q: nb12.qa_prompt(d, h, q)
    yield Case("12", 1, "qa_prompt", [
        W(lambda d, h, q: qa_prompt(d, h, q) + " ", "not even a space"),  # trailing space
        W(lambda d, h, q: qa_prompt(d, [], q), "earlier turn"),  # history dropped
        W(lambda d, h, q: qa_prompt(d, h, q).replace("\n\n", "\n", 1), "blank line"),
        W(lambda d, h, q: qa_prompt(d, h, q) + " at dawn"),
        W(lambda d, h, q: qa_prompt(d, h, q)[:-3]),  # no 'A:' line
        W(lambda d, h, q: qa_prompt(*check.QA_CASES[0])),  # hard-coded
    ])
    freeze = lambda model, n: nb12.freeze_all_but_last(model, n)

    def nothing_frozen(model, n):
        return sum(p.numel() for p in model.parameters())

    def output_layer_trains(model, n):  # forgets that wte is the (tied) output layer
        freeze(model, n)
        model.wte.weight.requires_grad = True
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def without_ln_f(model, n):
        freeze(model, n)
        for p in model.ln_f.parameters():
            p.requires_grad = False
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def first_n_blocks(model, n):
        for p in model.parameters():
            p.requires_grad = False
        for block in model.h[:n]:
            for p in block.parameters():
                p.requires_grad = True
        for p in model.ln_f.parameters():
            p.requires_grad = True
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def counts_everything(model, n):
        freeze(model, n)
        return sum(p.numel() for p in model.parameters())

    def negative_slice(model, n):  # model.h[-n:] is every block when n = 0
        for p in model.parameters():
            p.requires_grad = False
        for module in (*model.h[-n:], model.ln_f):
            for p in module.parameters():
                p.requires_grad = True
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    yield Case("12", 2, "freeze_all_but_last", [
        W(nothing_frozen, "nothing was frozen"),
        W(output_layer_trains, "tied"),
        W(without_ln_f, "ln_f"),
        W(first_n_blocks, "LAST n blocks"),
        W(counts_everything, "every parameter"),
        W(lambda model, n: freeze(model, n) + 1),
        W(negative_slice, "-0 is 0"),
    ])

    def no_twelfth(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.sin(2 * np.pi * 440.0 * 2.0 ** (pitch - 69) * t)

    def no_two_pi(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.sin(440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    def cosine(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.cos(2 * np.pi * 440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    def truncated(pitch, seconds, rate):  # int() cuts 3307.5 down to 3307
        t = np.arange(int(seconds * rate)) / rate
        return np.sin(2 * np.pi * 440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    def half_up(pitch, seconds, rate):  # rounds 1102.5 up; round() goes to the even 1102
        t = np.arange(int(seconds * rate + 0.5)) / rate
        return np.sin(2 * np.pi * 440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    sine_tone = lambda p, s, r: nb12.sine_tone(p, s, r)
    yield Case("12", 3, "sine_tone", [
        W(music.render_note),  # it has an envelope and a triangle wave
        W(no_twelfth, "2^(1/12)"),
        W(no_two_pi, "radians"),
        W(cosine, "cosine"),
        W(lambda p, s, r: sine_tone(p, s, r)[:-1]),  # one sample short
        W(lambda p, s, r: sine_tone(69, s, r)),  # pitch ignored
        W(lambda p, s, r: sine_tone(69, 0.01, 8000)),  # hard-coded
        W(truncated, "= 3308 samples"),
        W(half_up, "= 1102 samples"),
    ])
    transpose = lambda tokens, semitones: nb12.transpose(tokens, semitones)

    def in_place(tokens, semitones):
        tokens[:] = transpose(tokens, semitones)
        return tokens

    def no_fold(tokens, semitones):
        return [f"NOTE_{int(t[5:]) + semitones}" if t.startswith("NOTE_") else t for t in tokens]

    def durations_too(tokens, semitones):
        out = transpose(tokens, semitones)
        return [f"DUR_{min(4, int(t[4:]) + 1)}" if t.startswith("DUR_") else t for t in out]

    def clamp(tokens, semitones):  # pins notes to the edge instead of moving them an octave
        return [f"NOTE_{min(music.HIGHEST, max(music.LOWEST, int(t[5:]) + semitones))}"
                if t.startswith("NOTE_") else t for t in tokens]

    yield Case("12", 4, "transpose", [
        W(in_place, "new list"),
        W(no_fold, "octave"),
        W(durations_too, "only NOTE_ tokens move"),
        W(clamp),
        W(lambda tokens, semitones: list(tokens)),  # nothing moves
        W(lambda tokens, semitones: transpose(tokens, -semitones)),
    ])


CASES: list[Case] = [case for cases in (
    _cases_00, _cases_01, _cases_02, _cases_03, _cases_04, _cases_05, _cases_06, _cases_07,
    _cases_08, _cases_09, _cases_10, _cases_11, _cases_12) for case in cases()]
