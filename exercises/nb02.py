"""Checks for notebook 02 (tokens and input encoding): `from exercises import nb02 as check`.

Every check builds its own inputs (code points from every UTF-8 length, other model sizes,
layers with and without the causal mask, other orders) and recomputes the expected result,
so a hard-coded answer cannot pass. No check touches the notebook's random state.
"""

from __future__ import annotations

import numbers
import random

import torch
from torch import nn

from exercises import Wrong, as_bool, as_int, call, exercise, reference, require
from helpers import GPT, Block, GPTConfig, MultiHeadSelfAttention

# one code point on each side of every boundary of UTF-8's 1-, 2-, 3- and 4-byte forms
BOUNDARIES = [0x00, 0x41, 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x81EA, 0xFFFD, 0xFFFF, 0x10000,
              0x1F600, 0x10FFFF]


class _CodePointOnly(str):
    """A one-character string whose UTF-8 encoding is off limits: the answer must use ord()."""

    def encode(self, *args, **kwargs):
        raise Wrong("compute the length from the code point, ord(ch), not from ch.encode()")


def _random_code_points(n: int, seed: int = 2) -> list[int]:
    """n code points spread over the four lengths (surrogates excluded: UTF-8 has no form)."""
    rng = random.Random(seed)
    ranges = [(0x0, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    return [rng.randint(*rng.choice(ranges)) for _ in range(n)]


@exercise("02", 1)
def exercise_1(utf8_length) -> None:
    """utf8_length(ch): the number of UTF-8 bytes of one character, from its code point."""
    for cp in BOUNDARIES + _random_code_points(200):
        ch = chr(cp)
        got = call(utf8_length, _CodePointOnly(ch))
        got = as_int(got, "utf8_length")
        want = len(ch.encode("utf-8"))
        require(got == want, f"U+{cp:04X} takes {want} byte(s) in UTF-8, your function says "
                f"{got}; look at which side of the boundaries (U+0080, U+0800, U+10000) it is")


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# GPT-2's four sizes and three small shapes whose vocabulary, context and width all differ
BILL_CONFIGS = [GPTConfig.gpt2(size) for size in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")]
BILL_CONFIGS += [
    GPTConfig(vocab_size=65, n_positions=128, n_embd=192, n_layer=6, n_head=6),
    GPTConfig(vocab_size=1000, n_positions=64, n_embd=48, n_layer=2, n_head=4),
    GPTConfig(vocab_size=300, n_positions=512, n_embd=96, n_layer=1, n_head=3),
]


@exercise("02", 2)
def exercise_2(embedding_params, wte_share) -> None:
    """embedding_params(config) -> (wte, wpe) parameter counts; wte_share(config) -> fraction."""
    with torch.device("meta"):  # shapes only: no memory, so GPT-2 XL is instant
        models = [GPT(cfg) for cfg in BILL_CONFIGS]
    for cfg, model in zip(BILL_CONFIGS, models, strict=True):
        with torch.device("meta"):
            got = call(embedding_params, cfg)
        name = f"vocab_size={cfg.vocab_size}, n_positions={cfg.n_positions}, n_embd={cfg.n_embd}"
        require(isinstance(got, tuple) and len(got) == 2,
                f"embedding_params should return a pair (wte_params, wpe_params), got {got!r}")
        wte, wpe = _count(model.wte), _count(model.wpe)
        if tuple(got) == (wpe, wte):
            raise Wrong("the two numbers are swapped: wte (tokens) first, then wpe (positions)")
        require(got[0] == wte, f"wte for ({name}) is not {got[0]:,}: it has one row per "
                "vocabulary entry, and how many numbers in a row?")
        require(got[1] == wpe, f"wpe for ({name}) is not {got[1]:,}: it has one row per "
                "position the model can see")
    for cfg, model in zip(BILL_CONFIGS, models, strict=True):
        with torch.device("meta"):
            got = call(wte_share, cfg)
        require(isinstance(got, numbers.Real) and not isinstance(got, bool),
                f"wte_share should return a number (a fraction such as 0.25), got {got!r}")
        got, total = float(got), model.num_parameters()
        want = _count(model.wte) / total
        if abs(got - want) <= 1e-6:
            continue
        require(abs(got - 100 * want) > 1e-4, "give the share as a fraction (0.25), not a "
                "percentage (25)")
        require(abs(got - want * total / 124_439_808) > 1e-6,
                "that divides by GPT-2 small's total for every size: divide by this model's own "
                "total (GPT(config).num_parameters())")
        raise Wrong(f"for a model with vocab_size={cfg.vocab_size} and n_embd={cfg.n_embd} the "
                    f"share is not {got:.4f}: wte's parameters divided by all the model's "
                    "parameters (the output layer shares wte, so it is counted once)")


def _seeded(seed: int, build):
    """Build a module under its own seed without moving the notebook's random state."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build().eval()


def _prefix_average(x: torch.Tensor) -> torch.Tensor:
    """Each position's output is the mean of itself and the positions before it: (B, T, C)."""
    counts = torch.arange(1, x.size(1) + 1, dtype=x.dtype)[None, :, None]  # (1, T, 1)
    return x.cumsum(dim=1) / counts


@reference
def _last_unchanged(layer, x: torch.Tensor, order: torch.Tensor) -> bool:
    with torch.no_grad():
        return torch.allclose(layer(x)[:, -1], layer(x[:, order])[:, -1], atol=1e-5)


@exercise("02", 3)
def exercise_3(last_position_unchanged) -> None:
    """last_position_unchanged(layer, x, order): does reordering x change the last output?"""
    C = 8
    causal_cfg = GPTConfig(n_embd=C, n_head=2)
    layers = {
        "one causal MultiHeadSelfAttention": _seeded(1, lambda: MultiHeadSelfAttention(C, 2)),
        "one bidirectional MultiHeadSelfAttention (causal=False)":
            _seeded(2, lambda: MultiHeadSelfAttention(C, 2, causal=False)),
        "two causal Blocks in a row":
            _seeded(3, lambda: nn.Sequential(Block(causal_cfg), Block(causal_cfg))),
        "one causal Block": _seeded(4, lambda: Block(causal_cfg)),
        "the prefix average (a function)": _prefix_average,
    }
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 6, C, generator=g)  # (B, T, C): no positions added
    orders = {
        "the last token kept in place": torch.tensor([3, 0, 4, 1, 2, 5]),
        "the last token moved": torch.tensor([5, 2, 0, 3, 1, 4]),
        "the order unchanged": torch.arange(6),
    }
    for layer_name, layer in layers.items():
        for order_name, order in orders.items():
            with torch.no_grad():
                got = call(last_position_unchanged, layer, x.clone(), order.clone())
            got = as_bool(got, "last_position_unchanged")
            want = _last_unchanged(layer, x, order)
            if got == want:
                continue
            if want and order_name == "the order unchanged":
                raise Wrong("with the order unchanged nothing can change: did you compare the "
                            "outputs of layer(x) and layer(x[:, order])?")
            if want:
                raise Wrong(f"for {layer_name} with {order_name}, the last position's output "
                            "does not change, only other positions' (or low float bits): compare "
                            "the last position alone, with a tolerance (torch.allclose)")
            raise Wrong(f"for {layer_name} with {order_name}, the last position's output does "
                        "change: run the layer on the reordered input, and compare the last "
                        "position of the two outputs")


class _LookupOnly(dict):
    """The merge ranks as a table to look pairs up in (`ranks[pair]`, `ranks.get(pair)`,
    `pair in ranks`), never to loop over: GPT-2's encoder looks up the word's own pairs rather
    than trying all 50,000 merges, and so must the answer."""

    def _no_loop(self, *args, **kwargs):
        raise Wrong("look up the word's own neighbouring pairs in ranks (ranks.get(pair)) "
                    "instead of going through every merge: with GPT-2's 50,000 merges that loop "
                    "is what its encoder avoids")

    __iter__ = keys = values = items = __len__ = __reversed__ = copy = _no_loop


# short words in which one pair occurs twice (banana, cocoa, haha), overlaps (aaaa, ...mmm),
# and words the merges were not learned from
BPE_TEXT = ("the cat sat on the mat. banana bandana cabana. haha, aaaa! hmmm, cocoa? "
            "the cats ate the bananas that sat on the hat.")
BPE_UNSEEN = ["catastrophe", "anana", "aaaaaaa", "thatha", "hmmmmm", "xyz", "a", "the"]


def _bpe_words(text: str) -> list[tuple[int, ...]]:
    """The text's words as tuples of bytes, cut as GPT-2 cuts them (a space stays in front)."""
    import regex

    pattern = regex.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+")
    return [tuple(w.encode("utf-8")) for w in pattern.findall(text)]


def _merge(word: tuple[int, ...], pair: tuple[int, int], new_id: int) -> tuple[int, ...]:
    """Every occurrence of `pair` in `word` replaced by `new_id`, left to right."""
    out, i = [], 0
    while i < len(word):
        if word[i:i + 2] == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def _learn_merges(words: list[tuple[int, ...]], n: int) -> list[tuple[int, int]]:
    """Up to n merges learned from `words` by section 3's rule (most frequent pair; ties to
    the smaller pair), merge k making token 256 + k."""
    merges = []
    for k in range(n):
        counts: dict[tuple[int, int], int] = {}
        for word in words:
            for pair in zip(word[:-1], word[1:], strict=True):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
        merges.append(best)
        words = [_merge(w, best, 256 + k) for w in words]
    return merges


@reference
def _in_order(word: tuple[int, ...], merges: list[tuple[int, int]]) -> tuple[int, ...]:
    """Section 3's way: every merge, in the order learned (`segment` for one word)."""
    for k, pair in enumerate(merges):
        word = _merge(word, pair, 256 + k)
    return word


@exercise("02", 4)
def exercise_4(bpe_word) -> None:
    """bpe_word(word, ranks): merge the lowest-ranked pair of the word until none is in ranks."""
    learned_from = _bpe_words(BPE_TEXT)
    merges = _learn_merges(learned_from, 40)
    ranks = {pair: k for k, pair in enumerate(merges)}
    words = list(dict.fromkeys(learned_from + [tuple(w.encode()) for w in BPE_UNSEEN]))
    for word in words:
        got = call(bpe_word, word, _LookupOnly(ranks))
        text = bytes(word).decode("utf-8")
        require(isinstance(got, tuple | list) and all(
            isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in got),
            f"bpe_word should return the word's token ids as a tuple of ints, got {got!r}")
        got, want = tuple(int(t) for t in got), _in_order(word, merges)
        if got == want:
            continue
        if got == word:
            raise Wrong(f"{text!r} came back unmerged: look up each neighbouring pair of the "
                        "word in ranks, and merge the one with the lowest rank")
        if any(t not in word if t < 256 else t >= 256 + len(merges) for t in got):
            raise Wrong(f"{text!r} got a token id no merge made: merge k (ranks[pair] = k) "
                        "makes token 256 + k")
        if len(got) > len(want):
            raise Wrong(f"{text!r} should end as {len(want)} token(s), yours has {len(got)}: "
                        "merge the pair with the lowest rank first (a later merge may need an "
                        "earlier one's token), keep merging while some neighbouring pair is in "
                        "ranks, and merge every occurrence of the pair (as merge_word does)")
        raise Wrong(f"{text!r} was merged in the wrong order: each round merges the pair that "
                    "was learned first, the lowest rank, not the most frequent or the first in "
                    "the word")
