"""Decoding: cache vs no cache, filters vs transformers' warpers, beam search vs brute force."""

import itertools

import pytest
import torch

from helpers import GPT, GPTConfig, beam_search, generate, top_k_filter, top_p_filter
from helpers.sampling import sequence_logprob

from conftest import make_hf


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return GPT(GPTConfig(vocab_size=23, n_positions=24, n_embd=32, n_layer=2, n_head=4)).eval()


@pytest.mark.parametrize("max_new", [5, 40])  # 40 runs past the context of 24 (sliding window)
def test_cache_gives_the_same_tokens_greedy(model, max_new):
    idx = torch.randint(23, (3, 6))
    a = generate(model, idx, max_new, do_sample=False, use_cache=True)
    b = generate(model, idx, max_new, do_sample=False, use_cache=False)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"temperature": 0.7, "top_k": 5}, {"top_p": 0.8}])
def test_cache_gives_the_same_tokens_sampling(model, kwargs):
    idx = torch.randint(23, (4, 3))
    a = generate(model, idx, 30, use_cache=True, generator=torch.Generator().manual_seed(7), **kwargs)
    b = generate(model, idx, 30, use_cache=False, generator=torch.Generator().manual_seed(7), **kwargs)
    assert torch.equal(a, b)
    c = generate(model, idx, 30, use_cache=True, generator=torch.Generator().manual_seed(8), **kwargs)
    assert not torch.equal(a, c)  # the seed matters: it really samples


def test_greedy_matches_transformers_generate():
    cfg = dict(vocab_size=50, n_positions=32, n_embd=24, n_layer=2, n_head=3)
    hf = make_hf(cfg)
    model = GPT.from_hf(hf)
    idx = torch.randint(50, (2, 5))
    ref = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=12,
                      do_sample=False, pad_token_id=49)
    assert torch.equal(generate(model, idx, 12, do_sample=False), ref)


def test_top_k_one_is_greedy(model):
    idx = torch.randint(23, (2, 4))
    a = generate(model, idx, 10, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, generate(model, idx, 10, do_sample=False))


def _random_logits(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(4, 40, generator=g) * 3
    logits[0, :10] = 2.5  # ties
    logits[1] = torch.randint(0, 4, (40,), generator=g).float()  # many ties
    return logits


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10, 40, 100])
def test_top_k_keeps_what_transformers_keeps(seed, k):
    from transformers.generation.logits_process import TopKLogitsWarper

    logits = _random_logits(seed)
    ours = top_k_filter(logits, k)
    theirs = TopKLogitsWarper(top_k=k)(None, logits.clone())
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.95, 1.0])
def test_top_p_keeps_what_transformers_keeps(seed, p):
    from transformers.generation.logits_process import TopPLogitsWarper

    logits = _random_logits(seed)
    ours = top_p_filter(logits, p)
    theirs = TopPLogitsWarper(top_p=p)(None, logits.clone())
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    kept = ~torch.isinf(ours)
    assert kept.any(-1).all()
    mass = (logits.softmax(-1) * kept).sum(-1)
    assert (mass >= p - 1e-6).all()  # the nucleus holds at least p of the probability


def test_filters_reject_bad_arguments(model):
    logits = torch.randn(10)
    for k in (0, -1, 2.5):
        with pytest.raises(ValueError, match="top_k"):
            top_k_filter(logits, k)
    for p in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
            top_p_filter(logits, p)
    idx = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        generate(model, idx, 3, temperature=-1.0)
    with pytest.raises(ValueError, match="top_p"):
        generate(model, idx, 3, top_p=2)
    with pytest.raises(ValueError, match="top_k"):
        generate(model, idx, 3, top_k=0)
    with pytest.raises(ValueError, match="num_beams"):
        beam_search(model, idx, 3, num_beams=0)
    with pytest.raises(ValueError, match=r"max_new_tokens must be an integer >= 0, got -1"):
        generate(model, idx, -1)
    with pytest.raises(ValueError, match=r"token id 23 is outside the vocabulary 0..22"):
        generate(model, torch.tensor([[1, 23]]), 2)
    with pytest.raises(ValueError, match="longer than the context"):
        model(torch.zeros(1, 25, dtype=torch.long))  # the model itself still refuses


def test_a_prompt_longer_than_the_context_is_read_through_its_last_window(model):
    n_pos = model.config.n_positions
    long_prompt = torch.randint(23, (2, n_pos + 5), generator=torch.Generator().manual_seed(1))
    for use_cache in (True, False):
        out = generate(model, long_prompt, 6, do_sample=False, use_cache=use_cache)
        assert torch.equal(out[:, : n_pos + 5], long_prompt)  # every prompt token is kept
        window = generate(model, long_prompt[:, -n_pos:], 6, do_sample=False, use_cache=use_cache)
        assert torch.equal(out[:, -6:], window[:, -6:])
    beams = beam_search(model, long_prompt[:1], 4, num_beams=3)
    assert torch.equal(beams[:, -4:], beam_search(model, long_prompt[:1, -n_pos:], 4, num_beams=3)[:, -4:])
    grown = beam_search(model, long_prompt[:1, :20], 10, num_beams=2)  # grows past the context
    assert grown.shape == (1, 30)


def _brute_force_best(model, prompt, n):
    best, best_lp = None, -float("inf")
    for cont in itertools.product(range(model.config.vocab_size), repeat=n):
        seq = torch.cat([prompt, torch.tensor([cont])], dim=1)
        lp = sequence_logprob(model, seq, prompt.size(1)).item()
        if lp > best_lp:
            best, best_lp = seq, lp
    return best, best_lp


def test_beam_search_finds_the_most_likely_sequence():
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=5, n_positions=10, n_embd=16, n_layer=2, n_head=2)).eval()
    with torch.no_grad():  # sharpen the model so the choices matter
        model.wte.weight.mul_(20)
    prompt = torch.tensor([[1, 2]])
    best, best_lp = _brute_force_best(model, prompt, 4)
    # a beam as wide as the number of partial sequences is exhaustive, so it must find the optimum
    seq, score = beam_search(model, prompt, 4, num_beams=5**3, return_scores=True)
    assert torch.equal(seq, best)
    assert score.item() == pytest.approx(best_lp, abs=1e-4)
    # a beam of 1 is greedy decoding
    assert torch.equal(beam_search(model, prompt, 4, num_beams=1),
                       generate(model, prompt, 4, do_sample=False))
    # wider beams never do worse than width 1 here, and the score is the joint log-probability
    seq2, s2 = beam_search(model, prompt, 4, num_beams=2, return_scores=True)
    assert s2.item() == pytest.approx(sequence_logprob(model, seq2, 2).item(), abs=1e-4)
    assert s2.item() <= best_lp + 1e-6


def test_beam_search_batches_each_prompt_on_its_own():
    torch.manual_seed(4)
    model = GPT(GPTConfig(vocab_size=6, n_positions=12, n_embd=16, n_layer=1, n_head=2)).eval()
    prompts = torch.tensor([[1, 2], [3, 4]])
    out = beam_search(model, prompts, 5, num_beams=3)
    for b in range(2):
        assert torch.equal(out[b : b + 1], beam_search(model, prompts[b : b + 1], 5, num_beams=3))
    assert not torch.equal(out[0, 2:], out[1, 2:])


def _brute_force_with_eos(model, prompt, n, eos, length_penalty):
    """Every continuation that is either n tokens without eos, or ends at its first eos."""
    best = (-float("inf"), None, None)
    V = model.config.vocab_size
    for length in range(1, n + 1):
        for cont in itertools.product([t for t in range(V) if t != eos], repeat=length - 1):
            for last in range(V):
                if length < n and last != eos:
                    continue  # shorter candidates must end in eos
                seq = torch.cat([prompt, torch.tensor([[*cont, last]])], dim=1)
                joint = sequence_logprob(model, seq, prompt.size(1)).item()
                score = joint / length**length_penalty
                if score > best[0]:
                    best = (score, joint, seq)
    return best


def test_beam_search_with_end_of_sequence_finds_the_best_normalised_score():
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=4, n_positions=12, n_embd=16, n_layer=1, n_head=2)).eval()
    with torch.no_grad():
        model.wte.weight.mul_(6)  # sharpen, so the choices matter
    prompt, eos, n = torch.tensor([[1, 2]]), 0, 4
    winners = []
    for length_penalty in (0.0, 1.0, 3.0):
        score, joint, seq = _brute_force_with_eos(model, prompt, n, eos, length_penalty)
        out, got = beam_search(model, prompt, n, num_beams=4**n, eos_token_id=eos,
                               length_penalty=length_penalty, return_scores=True)
        assert got.item() == pytest.approx(joint, abs=1e-4)
        assert torch.equal(out[0, : seq.size(1)], seq[0])
        assert (out[0, seq.size(1) :] == eos).all()  # a finished sequence is padded with eos
        winners.append(seq.size(1) - prompt.size(1))
    assert winners[0] == 1 and winners[-1] == n  # no penalty: stop at once; a strong one: go on


def test_sequence_logprob_refuses_what_one_pass_cannot_score(model):
    too_long = torch.zeros(1, model.config.n_positions + 1, dtype=torch.long)
    with pytest.raises(ValueError, match=r"25 tokens in one pass, but the context holds 24 .*cropping would change"):
        sequence_logprob(model, too_long, 3)
    with pytest.raises(ValueError, match=r"prompt_len must be in 1\.\.5, got 0"):
        sequence_logprob(model, torch.zeros(1, 5, dtype=torch.long), 0)


@pytest.mark.parametrize("p, kept", [(0.25, 1), (0.5, 2), (0.75, 3), (1.0, 4)])
def test_top_p_at_the_exact_boundary_keeps_what_transformers_keeps(p, kept):
    from transformers.generation.logits_process import TopPLogitsWarper

    logits = torch.zeros(1, 4)  # four tokens of probability 0.25 each: the masses are exact
    ours = top_p_filter(logits, p)
    theirs = TopPLogitsWarper(top_p=p)(None, logits.clone())
    assert torch.isfinite(ours).sum().item() == kept
    assert torch.equal(torch.isfinite(ours), torch.isfinite(theirs))


def _has_repeated_ngram(row: list[int], n: int) -> bool:
    grams = [tuple(row[i : i + n]) for i in range(len(row) - n + 1)]
    return len(grams) != len(set(grams))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_no_repeat_ngram_filter_bans_what_transformers_bans(n):
    from transformers import NoRepeatNGramLogitsProcessor

    from helpers import no_repeat_ngram_filter

    g = torch.Generator().manual_seed(n)
    ids = torch.randint(0, 3, (5, 30), generator=g)  # a small vocabulary: many repeats
    logits = torch.randn(5, 6, generator=g)
    ours = no_repeat_ngram_filter(logits, ids, n)
    theirs = NoRepeatNGramLogitsProcessor(n)(ids, logits.clone())
    assert torch.equal(ours.isinf(), theirs.isinf()) and ours.isinf().any()
    assert torch.equal(ours[~ours.isinf()], logits[~ours.isinf()])  # the rest untouched
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        no_repeat_ngram_filter(logits, ids, 0)


def test_beam_search_without_repeated_ngrams_is_the_best_such_sequence():
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=4, n_positions=12, n_embd=16, n_layer=2, n_head=2)).eval()
    with torch.no_grad():
        model.wte.weight.mul_(20)
    prompt, n_new = torch.tensor([[1, 2, 1]]), 5
    plain = beam_search(model, prompt, n_new, num_beams=4)
    seq, score = beam_search(model, prompt, n_new, num_beams=4**4, return_scores=True,
                             no_repeat_ngram_size=2)
    assert not _has_repeated_ngram(seq[0].tolist(), 2)
    # exhaustive width: the most likely continuation among those without a repeated bigram
    best = max((c for c in itertools.product(range(4), repeat=n_new)
                if not _has_repeated_ngram(prompt[0].tolist() + list(c), 2)),
               key=lambda c: sequence_logprob(model, torch.cat([prompt, torch.tensor([c])], 1),
                                              3).item())
    assert seq[0, 3:].tolist() == list(best)
    assert score.item() == pytest.approx(sequence_logprob(model, seq, 3).item(), abs=1e-4)
    assert _has_repeated_ngram(plain[0].tolist(), 2)  # without the rule this model loops
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        beam_search(model, prompt, 2, num_beams=2, no_repeat_ngram_size=0)
