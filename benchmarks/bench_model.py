"""Speed of `helpers.GPT` against `transformers`' GPT2LMHeadModel on the same weights.

GPT-2 small's shape (124M parameters) with random weights (no download), copied into
helpers. Tasks: one forward pass of 1 x 128 tokens, and greedy generation with the KV cache
of 32 and of 256 new tokens after an 8-token prompt (a learner's prompt and a page of text).
Runs are interleaved (helpers, transformers, helpers, ...) in one process, so both see the
same machine load; the script prints medians and the ratio helpers / transformers (below 1
means helpers is faster).

Generation of one token reads every weight once (498 MB in float32), so memory bandwidth
bounds it: the script measures how fast this machine reads memory (the sum of a 512 MB
buffer) and prints helpers' tokens/s as a fraction of that limit. It then times one token's
matrix-vector products alone, back to back (every linear layer and the output layer, with
nothing in between), twice: with the weights as `nn.Linear` stores them, (out, in), which
`F.linear` reads transposed, and as GPT-2's Conv1D (and `transformers`) stores them, (in, out),
multiplied by `torch.addmm`. The difference is what the layout alone costs a decode step.

    python benchmarks/bench_model.py [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

PROMPT_TOKENS = 8
NEW_TOKENS = (32, 256)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of fn over `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_bandwidth(repeats: int = 7) -> float:
    """Bytes per second this machine reads from memory: the sum of a 512 MB float32 buffer
    (far larger than any cache), with the same threads the models use."""
    buf = torch.ones(128 * 1024 * 1024)  # 512 MiB
    buf.sum()
    return buf.numel() * buf.element_size() / median_seconds(buf.sum, repeats)


def products_alone(model, repeats: int) -> tuple[float, float]:
    """Median seconds of one new token's matrix-vector products alone, in the model's order
    (every block's c_attn, c_proj, c_fc, c_proj, then the tied output layer): with the weights
    as stored, (out, in), by F.linear; and with the blocks' weights copied to (in, out), as
    GPT-2's Conv1D keeps them, by torch.addmm (the output layer is `wte` either way)."""
    import torch.nn.functional as F

    layers = [(mod.weight, mod.bias) for block in model.h
              for mod in (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj)]
    conv1d = [(w.t().contiguous(), b) for w, b in layers]  # (in, out): a copy
    inputs = {w.size(1): torch.randn(1, w.size(1)) for w, _ in layers}  # (T, in), one token
    x_out = torch.randn(1, model.wte.weight.size(1))

    def linear_layout() -> None:
        for w, b in layers:
            F.linear(inputs[w.size(1)], w, b)
        F.linear(x_out, model.wte.weight)

    def conv1d_layout() -> None:
        for w, b in conv1d:
            torch.addmm(b, inputs[w.size(0)], w)
        F.linear(x_out, model.wte.weight)

    with torch.no_grad():
        linear_layout(), conv1d_layout()
        a, b = [], []
        for _ in range(repeats * 3):  # interleaved, so both see the same load
            a.append(median_seconds(linear_layout, 1))
            b.append(median_seconds(conv1d_layout, 1))
        return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    from helpers import GPT, generate

    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config()).eval()  # GPT-2 small's shape, random weights, SDPA
    ours = GPT.from_hf(hf).eval()
    weight_bytes = sum(p.numel() * p.element_size() for p in ours.parameters())
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads, {ours.num_parameters():,} parameters "
          f"({weight_bytes / 1e6:.0f} MB of float32 weights)")

    x = torch.randint(50257, (1, 128))
    prompt = torch.randint(50257, (1, PROMPT_TOKENS))

    def hf_generate(n: int) -> torch.Tensor:
        return hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                           min_new_tokens=n, do_sample=False, pad_token_id=0)

    with torch.no_grad():
        same_logits = (ours(x) - hf(x).logits).abs().max().item()
        same_tokens = torch.equal(generate(ours, prompt, 32, do_sample=False), hf_generate(32))
    print(f"max |logit difference| {same_logits:.2e}; same 32 greedy tokens: {same_tokens}")

    tasks: dict[str, tuple[Callable, Callable, int]] = {"forward 1x128": (
        lambda: ours(x), lambda: hf(x), 0)}
    for n in NEW_TOKENS:
        tasks[f"{n} greedy tokens, KV cache"] = (
            lambda n=n: generate(ours, prompt, n, do_sample=False, use_cache=True),
            lambda n=n: hf_generate(n), n)

    print(f"\n{'task':<28} {'helpers':>10} {'transformers':>13} {'ratio':>7} {'tokens/s':>9}")
    ours_rates = {}
    with torch.no_grad():
        for name, (ours_fn, hf_fn, n) in tasks.items():
            ours_fn(), hf_fn()  # warm-up
            t_ours, t_hf = [], []
            for _ in range(args.repeats):
                t_ours.append(median_seconds(ours_fn, 1))
                t_hf.append(median_seconds(hf_fn, 1))
            a, b = statistics.median(t_ours), statistics.median(t_hf)
            rate = f"{n / a:>9.1f}" if n else ""
            if n:
                ours_rates[n] = n / a
            print(f"{name:<28} {a * 1000:>8.0f}ms {b * 1000:>11.0f}ms {a / b:>7.2f} {rate}")

    bandwidth = read_bandwidth()
    limit = bandwidth / weight_bytes
    print(f"\nmemory read bandwidth {bandwidth / 1e9:.1f} GB/s: at most {limit:.1f} tokens/s "
          f"when every token reads all {weight_bytes / 1e6:.0f} MB of weights once")
    for n, rate in ours_rates.items():
        print(f"helpers, {n} new tokens: {rate:.1f} tokens/s = {rate / limit:.0%} of that limit")
    linear_s, conv1d_s = products_alone(ours, args.repeats)
    for name, alone in (("(out, in) by F.linear, as helpers", linear_s),
                        ("(in, out) by addmm, as Conv1D", conv1d_s)):
        print(f"one token's matrix-vector products alone, weights {name}: {alone * 1000:.1f} ms "
              f"= {1 / alone / limit:.0%} of that limit")
    print(f"the layout's share: (out, in) / (in, out) = {linear_s / conv1d_s:.2f}")


if __name__ == "__main__":
    main()
