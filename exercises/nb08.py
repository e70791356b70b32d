"""Checks for notebook 08 (choosing the next token): `from exercises import nb08 as check`.

Every check draws its own distributions and random models and recomputes the expected
answer (with `helpers`' filters, or by trying every sequence), so a hard-coded answer fails.
"""

from __future__ import annotations

import itertools

import torch

from exercises import Wrong, as_int, call, exercise, reference, require
from helpers import GPT, GPTConfig, beam_search, generate, sequence_logprob, top_p_filter


def _random_probs(g: torch.Generator, V: int, zeros: int = 0) -> torch.Tensor:
    """A (V,) float64 distribution; `zeros` of its tokens have probability exactly 0."""
    p = torch.rand(V, generator=g, dtype=torch.float64) ** 3
    p[torch.randperm(V, generator=g)[:zeros]] = 0.0
    return p / p.sum()


@exercise("08", 1)
def exercise_1(pick) -> None:
    """pick(probs, u): the token whose slice of [0, 1) contains u (inverse-CDF sampling)."""
    g = torch.Generator().manual_seed(1)
    cases = [(torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64), u) for u in (0.0, 0.5)]
    cases += [(torch.tensor([0.25, 0.0, 0.25, 0.5], dtype=torch.float64), u)
              for u in (0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.99)]
    for V, zeros in ((5, 0), (12, 4), (30, 10)):
        probs = _random_probs(g, V, zeros)
        edges = probs.cumsum(0)[:-1].tolist()  # u exactly on a boundary between two slices
        cases += [(probs, u) for u in torch.rand(20, generator=g).tolist() + edges]
    n_exact = 9  # the first cases add up exactly in binary: the [start, end) rule, strictly
    answers = [as_int(call(pick, probs.clone(), u), "pick") for probs, u in cases]
    owners = []  # the right tokens of each case
    for k, (probs, u) in enumerate(cases):
        # a slice's ends computed in another order may round differently in the last bit: on a
        # random case, u within 1e-12 of an end may go to either neighbour (one with a slice)
        end = probs.cumsum(0)
        tol = 0.0 if k < n_exact else 1e-12
        mine = ((probs > 0) & (end - probs - tol <= u) & (u < end + tol)).nonzero().flatten().tolist()
        owners.append(mine or [int((probs > 0).nonzero().max())])  # u past the rounded total
    if all(got in mine for got, mine in zip(answers, owners, strict=True)):
        return
    # slips judged on every case at once: on one case several can give the same token
    ranked = [probs.sort(descending=True) for probs, _ in cases]  # slices from the most likely down
    positions = [int(torch.searchsorted(r.values.cumsum(0), torch.tensor(u, dtype=r.values.dtype),
                                        right=True).clamp(max=r.values.numel() - 1))
                 for r, (_, u) in zip(ranked, cases, strict=True)]
    require(answers not in (positions, [int(r.indices[i]) for r, i in zip(ranked, positions, strict=True)]),
            "the slices go in vocabulary order: token 0's first, then token 1's, and so on, not "
            "from the most likely down")
    require(answers != [int(probs.argmax()) for probs, _ in cases],
            "that is the most likely token (greedy); u says where in [0, 1) to look")
    for k, ((probs, u), got, mine) in enumerate(zip(cases, answers, owners, strict=True)):
        if got in mine:
            continue
        on_edge = k >= n_exact and bool(((probs.cumsum(0) - u).abs() <= 1e-12).any())
        require(not on_edge, f"u = {u!r} lies on the end of one slice and the start of the next, "
                f"and your answer gave token {got}, outside both: compute a slice's start as the "
                "running total before adding probs[i], not as total - probs[i], which rounds "
                "differently and can leave a gap between two slices")
        require(0 <= got < probs.numel(), f"pick returned {got}, not a token of 0..{probs.numel() - 1}")
        require(probs[got] > 0, f"pick({probs.numel()} tokens, u={u:.3f}) returned token {got}, "
                "whose probability is 0: a token with no slice can never be picked")
        raise Wrong(f"for u = {u:.3f} you gave token {got}, but u lies in another token's slice: "
                    "token i owns [sum of the probabilities before it, that sum + probs[i])")


@exercise("08", 2)
def exercise_2(nucleus_size) -> None:
    """nucleus_size(probs, p): how many tokens top-p keeps, the fewest whose mass is >= p."""
    # powers of two add up exactly: p equal to the mass of the top 1, 2, 3 tokens
    halves = torch.tensor([0.125, 0.5, 0.0625, 0.25, 0.0625], dtype=torch.float64)
    ps, wants = (0.5, 0.75, 0.875, 1.0), [1, 2, 3, 5]
    gots = [as_int(call(nucleus_size, halves.clone(), p), "nucleus_size") for p in ps]
    if gots != wants:  # which slip explains every answer (at p = 0.5 several coincide)?
        mass = halves.sort(descending=True).values.cumsum(0)
        slips = [
            ([w - 1 for w in wants], "you keep one token too few: keep tokens until their mass "
             "reaches p, including the one that crosses it"),
            ([int((halves > p).sum()) for p in ps], "top-p adds up probabilities, most likely "
             "first; it does not compare each probability with p"),
            ([int((halves >= p).sum()) for p in ps], "top-p adds up probabilities, most likely "
             "first; it does not compare each probability with p"),
            ([min(int((mass <= p).sum()) + 1, 5) for p in ps], f"for probabilities "
             f"{halves.tolist()} the mass of the top tokens reaches each p exactly, and a mass "
             "equal to p is enough (stop as soon as the mass is >= p)"),
        ]
        for answers, hint in slips:
            require(gots != answers, hint)
        p, want, got = next((p, w, g) for p, w, g in zip(ps, wants, gots, strict=True) if g != w)
        raise Wrong(f"for probabilities {halves.tolist()} and p = {p} top-p keeps {want}, you "
                    f"gave {got}: sort the probabilities from the most likely down and add them "
                    "up until the mass reaches p")
    g = torch.Generator().manual_seed(2)
    for V, zeros in ((6, 0), (20, 3), (65, 10), (1, 0)):
        probs = _random_probs(g, V, zeros)
        for p in torch.rand(8, generator=g).tolist():
            got = as_int(call(nucleus_size, probs.clone(), p), "nucleus_size")
            kept = top_p_filter(probs.log(), p) > float("-inf")
            want = int(kept.sum())
            if got == want:
                continue
            require(got != want - 1, f"for p = {p:.2f} you keep one token too few: keep tokens "
                    "until their mass reaches p, including the one that crosses it")
            require(got != int((probs > p).sum()) or want == int((probs > p).sum()),
                    "top-p adds up probabilities, most likely first; it does not compare each "
                    "probability with p")
            raise Wrong(f"for p = {p:.2f} and {V} tokens top-p keeps a different number: sort "
                        "the probabilities from the most likely down and add them up")


@exercise("08", 3)
def exercise_3(min_p_filter) -> None:
    """min_p_filter(logits, min_p): -inf for tokens less likely than min_p x the top probability."""
    g = torch.Generator().manual_seed(3)
    # min_p = 1.0: the top token's probability equals the threshold exactly; the last logits
    # lie hundreds apart, where exp overflows to inf in float32
    for shape, min_p, scale in (((10,), 0.1, 3.0), ((3, 30), 0.05, 3.0), ((65,), 0.5, 3.0),
                                ((2, 4), 1.0, 3.0), ((2, 8), 0.1, 100.0)):
        logits = torch.randn(*shape, generator=g) * scale  # (..., V)
        got = call(min_p_filter, logits.clone(), min_p)
        require(isinstance(got, torch.Tensor) and got.shape == logits.shape,
                f"return logits of the input's shape {tuple(shape)}")
        probs = logits.softmax(dim=-1)
        keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
        want = logits.masked_fill(~keep, float("-inf"))
        if torch.equal(got.isinf(), want.isinf()) and torch.allclose(got[keep], want[keep]):
            continue
        require(not torch.allclose(got, probs.masked_fill(~keep, 0.0)),
                "return logits (with -inf for the dropped tokens), not probabilities")
        if torch.equal(got.isinf(), want.isinf()):  # the right tokens dropped, the kept ones changed
            require(not torch.allclose(got[keep], logits.log_softmax(-1)[keep]), "the right "
                    "tokens are dropped, but the kept ones must keep their logits: put -inf into "
                    "the logits you were given, not into log-probabilities")
            raise Wrong("the right tokens are dropped, but the kept tokens' logits changed: leave "
                        "them as they were")
        require(logits.dim() == 1 or
                not torch.equal(got.isinf(), probs < min_p * probs.max()), "compare each "
                "probability with min_p times the largest probability of its own row (max over "
                "the last dimension, keepdim=True), not of the whole batch")
        require(not torch.equal(got, logits.masked_fill(~keep, 0.0)),
                "a dropped token needs -inf: a logit of 0 still gets probability (notebook 04)")
        require(not torch.equal(got < -1e8, ~keep), "the right tokens are dropped; give them "
                "float('-inf'), as top_k_filter and top_p_filter do, so nothing is left of them")
        at_threshold = probs == min_p * probs.max(dim=-1, keepdim=True).values
        require(not (at_threshold.any() and torch.equal(got.isinf(), ~keep | at_threshold)),
                "a token whose probability is exactly min_p times the largest is kept too: "
                "drop only the tokens below that (<, not <=)")
        if logits.exp().isinf().any() and (got.isfinite() & ~keep).any():
            raise Wrong(f"with logits as large as {float(logits.max()):.0f} you keep tokens far "
                        "less likely than the top one: exp of a logit above about 88.7 is inf "
                        "in float32 (and inf / inf is nan). Compare probabilities from a "
                        "softmax, which subtracts the largest logit first")
        absolute = logits.masked_fill(probs < min_p, float("-inf"))
        require(not torch.equal(got, absolute) or torch.equal(absolute, want),
                "min-p is relative: compare each probability with min_p times the LARGEST one")
        require(not torch.equal(got, logits.masked_fill(logits < min_p * logits.max(-1, True)[0],
                                                        float("-inf"))),
                "compare probabilities (after a softmax), not logits")
        raise Wrong(f"for logits of shape {tuple(shape)} and min_p = {min_p} other tokens should be "
                    "kept; keep the ones with probability >= min_p * (largest probability)")


def _tiny_gpt(seed: int, vocab_size: int) -> GPT:
    torch.manual_seed(seed)
    cfg = GPTConfig(vocab_size=vocab_size, n_positions=16, n_embd=16, n_layer=2, n_head=2)
    model = GPT(cfg).eval()
    with torch.no_grad():  # larger weights than GPT-2's init: peaked, varied distributions
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(5.0)
    return model


@reference
def _exhaustive(model: GPT, idx: torch.Tensor, n: int) -> torch.Tensor:
    """The joint log-probability of every continuation of n tokens: (V ** n,), in the order of
    itertools.product(range(V), repeat=n)."""
    V = model.config.vocab_size
    tails = torch.tensor(list(itertools.product(range(V), repeat=n)))  # (V**n, n)
    seqs = torch.cat([idx.expand(tails.size(0), -1), tails], dim=1)
    return sequence_logprob(model, seqs, idx.size(1))


# (seed, vocab, prompt length, n): in the first three greedy's continuation is not the best;
# then one new token; then a best continuation of two different tokens, so that their order
# matters (the other best ones repeat a token); in the last, beam search with 2, 3, 4 or 5
# beams misses the best too
CASES_4 = [(3, 5, 3, 2), (3, 6, 2, 3), (7, 7, 4, 2), (0, 4, 1, 1), (16, 5, 2, 2), (14, 6, 3, 3)]


@exercise("08", 4)
def exercise_4(best_continuation) -> None:
    """best_continuation(model, idx, n): the n tokens of highest joint log-probability, found by
    trying every one of the V ** n continuations."""
    for seed, V, T, n in CASES_4:
        model = _tiny_gpt(seed, V)
        idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(seed))
        got = call(best_continuation, model, idx, n)
        require(isinstance(got, torch.Tensor), f"return a tensor of token ids, got {type(got).__name__}")
        got = got.flatten()
        if got.numel() == T + n and torch.equal(got[:T], idx[0]):
            raise Wrong("return the n new tokens only, without the prompt")
        require(got.numel() == n, f"for n = {n} return {n} token ids, got {got.numel()}")
        joint = _exhaustive(model, idx, n)
        best = joint.max()
        mine = sequence_logprob(model, torch.cat([idx, got[None].long()], dim=1), T)[0]
        if abs(float(mine - best)) < 1e-5:
            continue  # the best (or tied with it)
        best_tail = list(itertools.product(range(V), repeat=n))[int(joint.argmax())]
        require(got.flip(0).tolist() != list(best_tail), "the best continuation's tokens, in "
                "reverse order: the first new token comes first")
        greedy = generate(model, idx, n, do_sample=False)[0, T:]
        require(not torch.equal(got.long(), greedy), "that is greedy's continuation: it takes the "
                "best token at every step, which is not always the best sequence; try them all")
        for num_beams in range(2, V):
            beam = beam_search(model, idx, n, num_beams=num_beams)[0, T:]
            require(not torch.equal(got.long(), beam), "that is what beam search finds here: it "
                    "keeps only a few partial sequences, and the best one can fall out of the "
                    "beam early; try every continuation")
        raise Wrong(f"for a {V}-token model and n = {n} a continuation with a higher joint "
                    f"log-probability exists ({float(best):.3f} > {float(mine):.3f})")
