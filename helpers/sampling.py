"""Choosing the next token: temperature, top-k, top-p, `generate`, and `beam_search`.

Top-k and top-p keep exactly the tokens that `transformers`' TopKLogitsWarper and
TopPLogitsWarper keep (ties included); everything else becomes -inf.
Beam search is what "choosing by the joint probability of n tokens" means; top-k is
sampling among the k most likely tokens, a different thing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers.model import GPT, eval_mode
from helpers.objectives import token_logprobs


def _check_int(name: str, value, minimum: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}{hint}")


def _check_top_k(k: int) -> None:
    _check_int("top_k", k, 1, "; use top_k=None to keep all")


def _check_top_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p!r}; use top_p=None (or 1.0) to keep all")


def _check_temperature(t: float) -> None:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
        raise ValueError(
            f"temperature must be > 0, got {t!r}; for greedy decoding pass do_sample=False"
        )


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Divide logits by the temperature: < 1 sharpens the distribution, > 1 flattens it."""
    _check_temperature(temperature)
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits (and any tied with the k-th); set the rest to -inf."""
    _check_top_k(k)
    k = min(k, logits.size(-1))
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the most likely tokens whose probabilities add up to at least p.

    Working from the least likely token upwards, a token is dropped while the probability
    mass up to and including it is at most 1 - p; the most likely token is always kept.
    """
    _check_top_p(p)
    ascending, order = torch.sort(logits, descending=False)  # (..., V)
    mass_from_bottom = ascending.softmax(dim=-1).cumsum(dim=-1)
    drop_sorted = mass_from_bottom <= (1 - p)
    drop_sorted[..., -1:] = False  # never drop the single most likely token
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def no_repeat_ngram_filter(logits: torch.Tensor, ids: torch.Tensor, n: int) -> torch.Tensor:
    """Set to -inf every token that would repeat an n-gram already in its row of ids: the
    tokens that followed an earlier occurrence of the row's last n - 1 tokens. Rows of
    logits (B, V) go with rows of ids (B, T); the same tokens are banned as by
    `transformers`' NoRepeatNGramLogitsProcessor (its `no_repeat_ngram_size`)."""
    _check_int("n", n, 1, " (the length of the n-grams that may not repeat)")
    banned = torch.zeros_like(logits, dtype=torch.bool)  # (B, V)
    for b, row in enumerate(ids.tolist()):
        if len(row) + 1 < n:
            continue  # too short to complete an n-gram yet
        last = row[len(row) - n + 1:]  # the n - 1 tokens a new one would follow
        for i in range(len(row) - n + 1):
            if row[i : i + n - 1] == last:
                banned[b, row[i + n - 1]] = True
    return logits.masked_fill(banned, float("-inf"))


def next_token_distribution(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Probabilities (..., V) after temperature, then top-k, then top-p (the order HF uses)."""
    logits = apply_temperature(logits.float(), temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.softmax(logits, dim=-1)


@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    do_sample: bool = True,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens tokens, one at a time -> (B, T + max_new_tokens).

    do_sample=False is greedy decoding (always the most likely token). With use_cache=True the
    keys and values of earlier tokens are kept, so each step runs the model on one token only;
    the tokens produced are the same either way. The model sees at most the latest n_positions
    tokens: a longer prompt, or a sequence that grows past the context, is read through that
    window (the returned sequence keeps every token).
    """
    _check_int("max_new_tokens", max_new_tokens, 0)
    _check_temperature(temperature)
    if top_k is not None:
        _check_top_k(top_k)
    if top_p is not None:
        _check_top_p(top_p)
    n_pos = model.config.n_positions
    model.check_input(idx[:, -n_pos:] if isinstance(idx, torch.Tensor) and idx.dim() == 2 else idx)

    def choose(logits: torch.Tensor) -> torch.Tensor:  # (B, V) -> (B, 1)
        if not do_sample:
            return logits.argmax(dim=-1, keepdim=True)
        probs = next_token_distribution(logits, temperature, top_k, top_p)
        return torch.multinomial(probs, num_samples=1, generator=generator)

    def last_logits(window: torch.Tensor, cache=None) -> torch.Tensor:  # (B, T) -> (B, V)
        return model(window, kv_cache=cache, last_token_only=True)[:, -1, :]

    out = idx
    with eval_mode(model):
        if not use_cache:
            for _ in range(max_new_tokens):
                out = torch.cat([out, choose(last_logits(out[:, -n_pos:]))], dim=1)  # whole window
            return out
        cache = model.new_kv_cache(idx.size(0))
        logits = last_logits(idx[:, -n_pos:], cache)  # prefill: the whole prompt at once
        for step in range(max_new_tokens):
            nxt = choose(logits)  # (B, 1)
            out = torch.cat([out, nxt], dim=1)
            if step == max_new_tokens - 1:
                break
            if cache.length < n_pos:
                logits = last_logits(nxt, cache)  # decode: one new token
            else:
                # the context is full: the window slides, every position shifts, and the
                # cached keys were computed at the old positions, so recompute the window
                logits = last_logits(out[:, -n_pos:])
        return out


@torch.no_grad()
def sequence_logprob(model: GPT, idx: torch.Tensor, prompt_len: int) -> torch.Tensor:
    """Joint log-probability of idx[:, prompt_len:] given the prompt: sum of log p(token | before).

    One forward pass scores every token, so the whole sequence must fit the context.
    """
    if not 1 <= prompt_len <= idx.size(1):
        raise ValueError(f"prompt_len must be in 1..{idx.size(1)}, got {prompt_len}")
    n_pos = model.config.n_positions
    if idx.size(1) > n_pos:
        raise ValueError(f"sequence_logprob scores a sequence of {idx.size(1)} tokens in one pass, "
                         f"but the context holds {n_pos} (n_positions); cropping would change "
                         f"the score, so score a shorter prompt plus continuation")
    with eval_mode(model):
        logits = model(idx)  # (B, T, V): position t predicts token t + 1
    return token_logprobs(logits[:, prompt_len - 1 : -1], idx[:, prompt_len:]).sum(dim=-1)  # (B,)


@torch.no_grad()
def beam_search(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    num_beams: int,
    length_penalty: float = 1.0,
    eos_token_id: int | None = None,
    return_scores: bool = False,
    no_repeat_ngram_size: int | None = None,
):
    """The continuation of highest joint log-probability that a beam of `num_beams` finds.

    At every step each of the num_beams best partial sequences is extended by every token,
    and the num_beams best extensions (by summed log-probability) survive. A sequence that
    ends in `eos_token_id` is set aside, scored by logprob / (generated length ** length_penalty)
    (length_penalty > 0 favours longer ones); without an eos every candidate has the same
    length and the penalty changes nothing. As in `generate`, the model reads at most the latest
    n_positions tokens. Returns (B, T + max_new_tokens) ids (finished sequences padded with
    eos); with return_scores also their joint log-probabilities (B,). With
    no_repeat_ngram_size = n, no beam may repeat an n-gram of its own (prompt included), as
    `transformers`' option of that name: a cure for the loops that make a joint probability
    high (the scores stay the model's own log-probabilities).
    """
    if no_repeat_ngram_size is not None:
        _check_int("no_repeat_ngram_size", no_repeat_ngram_size, 1)
    _check_int("num_beams", num_beams, 1)
    _check_int("max_new_tokens", max_new_tokens, 0)
    n_pos = model.config.n_positions
    model.check_input(idx[:, -n_pos:] if isinstance(idx, torch.Tensor) and idx.dim() == 2 else idx)
    T = idx.size(1)
    with eval_mode(model):
        rows = [_beam_search_one(model, idx[b : b + 1], max_new_tokens, num_beams,
                                 length_penalty, eos_token_id, no_repeat_ngram_size)
                for b in range(idx.size(0))]
    pad = eos_token_id if eos_token_id is not None else 0
    seqs = torch.full((idx.size(0), T + max_new_tokens), pad, dtype=idx.dtype, device=idx.device)
    for b, (seq, _) in enumerate(rows):
        seqs[b, : seq.numel()] = seq
    if return_scores:
        return seqs, torch.tensor([score for _, score in rows])
    return seqs


def _beam_search_one(model, prompt, max_new_tokens, num_beams, length_penalty, eos_token_id,
                     no_repeat_ngram_size=None):
    """Beam search for one prompt (1, T) -> (best sequence (T + n',), its joint log-prob)."""
    T = prompt.size(1)
    n_pos = model.config.n_positions
    if max_new_tokens == 0:
        return prompt[0], 0.0
    beams = prompt.expand(num_beams, -1)  # (K, T): all beams start as the prompt...
    scores = torch.full((num_beams,), float("-inf"))
    scores[0] = 0.0  # ...but only the first is alive, so step one does not pick duplicates
    cache = model.new_kv_cache(num_beams)
    logits = model(beams[:, -n_pos:], kv_cache=cache, last_token_only=True)[:, -1, :]  # (K, V)
    finished: list[tuple[float, float, torch.Tensor]] = []  # (normalised, joint, sequence)

    def normalised(joint: float, n_generated: int) -> float:
        return joint / (n_generated**length_penalty)

    for step in range(max_new_tokens):
        logprobs = F.log_softmax(logits.float(), dim=-1)  # (K, V)
        if no_repeat_ngram_size is not None:
            logprobs = no_repeat_ngram_filter(logprobs, beams, no_repeat_ngram_size)
        candidates = scores[:, None] + logprobs  # (K, V)
        V = candidates.size(1)
        top = candidates.view(-1).topk(min(2 * num_beams, candidates.numel()))
        keep_beam, keep_tok, keep_score = [], [], []
        for s, flat in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            beam, tok = divmod(flat, V)
            if s == float("-inf"):
                break
            if eos_token_id is not None and tok == eos_token_id:
                seq = torch.cat([beams[beam], prompt.new_tensor([tok])])
                finished.append((normalised(s, step + 1), s, seq))
                continue
            keep_beam.append(beam)
            keep_tok.append(tok)
            keep_score.append(s)
            if len(keep_beam) == num_beams:
                break
        if not keep_beam:
            break
        while len(keep_beam) < num_beams:  # pad with dead beams (only when V is tiny)
            keep_beam.append(keep_beam[0])
            keep_tok.append(keep_tok[0])
            keep_score.append(float("-inf"))
        index = torch.tensor(keep_beam)
        new_tokens = torch.tensor(keep_tok, dtype=prompt.dtype)[:, None]  # (K, 1)
        beams = torch.cat([beams[index], new_tokens], dim=1)
        scores = torch.tensor(keep_score)
        cache.reorder(index)
        if step < max_new_tokens - 1:
            if cache.length < n_pos:
                logits = model(new_tokens, kv_cache=cache, last_token_only=True)[:, -1, :]
            else:  # the window slides: recompute it (see generate)
                logits = model(beams[:, -n_pos:], last_token_only=True)[:, -1, :]
    n_generated = beams.size(1) - T
    alive = [(normalised(s, n_generated), s, beams[i]) for i, s in enumerate(scores.tolist())
             if s > float("-inf")]
    best = max(finished + alive, key=lambda c: c[0])
    return best[2], best[1]
