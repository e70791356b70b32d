"""Speed of `helpers.GPT` against `transformers`' GPT2LMHeadModel on the same weights.

GPT-2 small's shape with random weights (no download), copied into helpers. Two tasks:
one forward pass of 1 x 128 tokens, and 32 greedy tokens with the KV cache after an 8-token
prompt. Runs are interleaved (helpers, transformers, helpers, ...) in one process, so both see
the same machine load; the script prints medians and the ratio helpers / transformers
(below 1 means helpers is faster).

    python benchmarks/bench_model.py [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads, {ours.num_parameters():,} parameters")

    x = torch.randint(50257, (1, 128))
    prompt = torch.randint(50257, (1, 8))
    with torch.no_grad():
        same_logits = (ours(x) - hf(x).logits).abs().max().item()
    ref = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32,
                      min_new_tokens=32, do_sample=False, pad_token_id=0)
    same_tokens = torch.equal(generate(ours, prompt, 32, do_sample=False), ref)
    print(f"max |logit difference| {same_logits:.2e}; same 32 greedy tokens: {same_tokens}")

    tasks = {
        "forward 1x128": (
            lambda: ours(x),
            lambda: hf(x),
        ),
        "32 greedy tokens, KV cache": (
            lambda: generate(ours, prompt, 32, do_sample=False, use_cache=True),
            lambda: hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32,
                                min_new_tokens=32, do_sample=False, pad_token_id=0),
        ),
    }
    print(f"\n{'task':<28} {'helpers':>10} {'transformers':>13} {'ratio':>7}")
    with torch.no_grad():
        for name, (ours_fn, hf_fn) in tasks.items():
            ours_fn(), hf_fn()  # warm-up
            t_ours, t_hf = [], []
            for _ in range(args.repeats):
                t_ours.append(timed(ours_fn))
                t_hf.append(timed(hf_fn))
            a, b = statistics.median(t_ours), statistics.median(t_hf)
            print(f"{name:<28} {a * 1000:>8.0f}ms {b * 1000:>11.0f}ms {a / b:>7.2f}")


if __name__ == "__main__":
    main()
