"""Speed of one training step of `helpers` against two peers, on the shipped model's shape.

A training step is forward, loss, backward and an AdamW update, on a batch of 32 x 128
tokens of the shipped model's shape (6 layers, 6 heads, n_embd 192, 65 characters, no
dropout). Three sides, each as its users run it:

- helpers: `GPT` with `helpers.train.make_optimizer` (the code `helpers.train` runs);
- transformers: `GPT2LMHeadModel` on the same weights, with `torch.optim.AdamW`;
- llms-from-scratch: the book's `GPTModel` (ch04) of the same shape, with `torch.optim.AdamW`
  (installed by `make bench` with --no-deps; its row is skipped with one line when absent);
- nanoGPT: its `model.py` (the plainest GPT-2 in PyTorch; not on PyPI and not shipped here)
  with its own `configure_optimizers`, when `--nanogpt DIR` names a checkout of it. It uses the
  exact GELU where GPT-2 uses the tanh approximation, so the script also times helpers with
  the exact GELU ("helpers, exact GELU"): the same math as nanoGPT.

Steps are interleaved (helpers, transformers, llms-from-scratch, helpers, ...) in one
process, so every side sees the same machine load; the script prints medians and the
ratio helpers / peer (below 1 means helpers is faster), and where each side's step goes:
forward (with the loss), backward, and the optimizer.

Then it times the step's matrix products alone: for every linear layer, the forward product
and the two of the backward (input and weight gradients), on random float32 tensors of the
same shapes, with the same threads. Every side computes these products, and this machine's
BLAS runs them near its peak, so their time is a floor under any float32 step of this model;
the script prints it as a fraction of each side's step. Last, the step's other kernels
(attention, GPT-2's tanh-GELU and the exact GELU, LayerNorm, the loss, forward and backward),
each alone at the same shapes: where a step's time goes.

    python benchmarks/bench_training.py [--repeats 15] [--threads N] [--batch-size 32]
                                        [--nanogpt path/to/nanoGPT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

SHAPE = dict(vocab_size=65, n_positions=128, n_embd=192, n_layer=6, n_head=6)  # shipped model
LR, WEIGHT_DECAY = 1e-3, 0.1


PHASES = ("forward", "backward", "optimizer")


def step_fn(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_of: Callable,
            x: torch.Tensor, y: torch.Tensor) -> Callable[[], dict[str, float]]:
    """One training step as a closure: forward and loss, backward, optimizer step; it returns
    the seconds of each phase."""

    def step() -> dict[str, float]:
        start = time.perf_counter()
        loss = loss_of(model, x, y)  # forward: logits (B, T, V) and the loss
        forward = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        backward = time.perf_counter()
        optimizer.step()
        loss.item()
        end = time.perf_counter()
        return {"forward": forward - start, "backward": backward - forward, "optimizer": end - backward}

    return step


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def sides(batch_size: int, nanogpt: str | None) -> dict[str, Callable[[], dict[str, float]]]:
    """The training step of each side that is installed, on the same batch."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from helpers import GPT, GPTConfig
    from helpers.train import TrainConfig, make_optimizer

    torch.manual_seed(0)
    x = torch.randint(SHAPE["vocab_size"], (batch_size, SHAPE["n_positions"]))  # (B, T)
    y = torch.roll(x, -1, dims=1)  # (B, T)
    ours = GPT(GPTConfig(**SHAPE)).train()
    config = TrainConfig(learning_rate=LR, weight_decay=WEIGHT_DECAY)
    steps = {"helpers": step_fn(ours, make_optimizer(ours, config),
                                lambda m, i, t: cross_entropy(m(i), t), x, y)}
    exact = GPT(GPTConfig(**SHAPE, activation_function="gelu")).train()
    exact.load_state_dict(ours.state_dict())
    steps["helpers, exact GELU"] = step_fn(exact, make_optimizer(exact, config),
                                           lambda m, i, t: cross_entropy(m(i), t), x, y)

    hf_config = GPT2Config(vocab_size=SHAPE["vocab_size"], n_positions=SHAPE["n_positions"],
                           n_embd=SHAPE["n_embd"], n_layer=SHAPE["n_layer"], n_head=SHAPE["n_head"],
                           resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                           bos_token_id=None, eos_token_id=None)
    hf = GPT2LMHeadModel(hf_config)
    hf.load_state_dict(ours.to_hf().state_dict())
    hf.train()
    hf_opt = torch.optim.AdamW(hf.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps["transformers"] = step_fn(hf, hf_opt, lambda m, i, t: cross_entropy(m(i).logits, t), x, y)

    try:
        from llms_from_scratch.ch04 import GPTModel
    except ImportError:
        print("llms-from-scratch is not installed: its row is skipped "
              "(make bench installs it with pip install --no-deps llms-from-scratch==1.0.19)")
    else:
        book = GPTModel({"vocab_size": SHAPE["vocab_size"], "context_length": SHAPE["n_positions"],
                         "emb_dim": SHAPE["n_embd"], "n_heads": SHAPE["n_head"],
                         "n_layers": SHAPE["n_layer"], "drop_rate": 0.0, "qkv_bias": True}).train()
        book_opt = torch.optim.AdamW(book.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        steps["llms-from-scratch"] = step_fn(book, book_opt, lambda m, i, t: cross_entropy(m(i), t),
                                             x, y)
    if nanogpt is None:
        print("nanoGPT: no checkout given (--nanogpt DIR, a clone of github.com/karpathy/nanoGPT); "
              "its row is skipped")
    else:
        import importlib.util

        spec = importlib.util.spec_from_file_location("nanogpt_model", f"{nanogpt}/model.py")
        nano = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(nano)
        torch.manual_seed(0)
        model = nano.GPT(nano.GPTConfig(block_size=SHAPE["n_positions"], vocab_size=SHAPE["vocab_size"],
                                        n_layer=SHAPE["n_layer"], n_head=SHAPE["n_head"],
                                        n_embd=SHAPE["n_embd"], dropout=0.0, bias=True)).train()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter groups
            nano_opt = model.configure_optimizers(WEIGHT_DECAY, LR, (0.9, 0.99), "cpu")
        steps["nanoGPT"] = step_fn(model, nano_opt, lambda m, i, t: m(i, t)[1], x, y)
    return steps


def products_alone(batch_size: int, repeats: int) -> tuple[float, float]:
    """Median seconds of one step's matrix products alone (forward x W.T, backward dY W and
    dY.T x for each linear layer, in float32) and their floating-point operations."""
    n, c = batch_size * SHAPE["n_positions"], SHAPE["n_embd"]
    block = [(c, 3 * c), (c, c), (c, 4 * c), (4 * c, c)]  # (in, out): c_attn, c_proj, c_fc, c_proj
    layers = block * SHAPE["n_layer"] + [(c, SHAPE["vocab_size"])]  # and the output layer
    tensors = [(torch.randn(n, i), torch.randn(o, i), torch.randn(n, o)) for i, o in layers]

    def products() -> None:
        for x, w, dy in tensors:  # x (N, in), w (out, in), dy (N, out)
            torch.mm(x, w.t()), torch.mm(dy, w), torch.mm(dy.t(), x)

    products()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        products()
        times.append(time.perf_counter() - start)
    return statistics.median(times), sum(3 * 2 * n * i * o for i, o in layers)


def _median_ms(fn: Callable[[], object], repeats: int, leaves: tuple = ()) -> float:
    """Median ms of fn(); the `leaves`' gradients are dropped before each call, so backward
    writes them anew as in a step (set_to_none) rather than adding to them."""
    fn()
    times = []
    for _ in range(repeats):
        for t in leaves:
            t.grad = None
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def kernels_alone(batch_size: int, repeats: int) -> dict[str, float]:
    """Median ms of one step's other unavoidable kernels alone, forward and backward, at the
    shipped shape: attention (PyTorch's fused kernel or the explicit softmax(q k^T) v, whichever
    is faster here), tanh-GELU (GPT-2's activation) and LayerNorm, for every layer, and the loss.
    Every float32 step of this model in eager PyTorch runs these kernels or slower ones."""
    import math

    n, c, h = batch_size * SHAPE["n_positions"], SHAPE["n_embd"], SHAPE["n_head"]
    T, layers = SHAPE["n_positions"], SHAPE["n_layer"]

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, requires_grad=True)

    q, k, v = (leaf(batch_size, h, T, c // h) for _ in range(3))  # (B, H, T, hd)
    dq = torch.randn_like(q)
    allowed = torch.ones(T, T, dtype=torch.bool).tril()

    def fused() -> None:
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(dq)

    def explicit() -> None:
        scores = (q @ k.transpose(-2, -1) / math.sqrt(c // h)).masked_fill(~allowed, float("-inf"))
        (torch.softmax(scores, dim=-1) @ v).backward(dq)

    wide, dwide = leaf(n, 4 * c), torch.randn(n, 4 * c)
    x, dx = leaf(n, c), torch.randn(n, c)
    ln_w, ln_b = torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True)
    logits, targets = leaf(n, SHAPE["vocab_size"]), torch.randint(SHAPE["vocab_size"], (n,))
    attention = min(_median_ms(fused, repeats, (q, k, v)), _median_ms(explicit, repeats, (q, k, v)))
    return {
        "attention": layers * attention,
        "tanh-GELU": layers * _median_ms(
            lambda: F.gelu(wide, approximate="tanh").backward(dwide), repeats, (wide,)),
        "(exact GELU instead)": layers * _median_ms(
            lambda: F.gelu(wide).backward(dwide), repeats, (wide,)),
        "LayerNorm": (2 * layers + 1) * _median_ms(
            lambda: F.layer_norm(x, (c,), ln_w, ln_b).backward(dx), repeats, (x, ln_w, ln_b)),
        "loss": _median_ms(lambda: F.cross_entropy(logits, targets).backward(), repeats, (logits,)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--nanogpt", default=None, help="a checkout of nanoGPT, to time its model.py too")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    steps = sides(args.batch_size, args.nanogpt)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads; training step of batch {args.batch_size} x "
          f"{SHAPE['n_positions']} on the shipped model's shape")
    for step in steps.values():  # warm-up: first steps allocate optimizer state
        step(), step()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in steps}
    for _ in range(args.repeats):  # interleaved: every side sees the same load
        for name, step in steps.items():
            runs[name].append(step())
    medians = {name: statistics.median(sum(r.values()) for r in rs) for name, rs in runs.items()}
    phases = {name: {k: statistics.median(r[k] for r in rs) for k in PHASES} for name, rs in runs.items()}
    ours = medians["helpers"]
    print(f"\n{'side':<20} {'median step':>12} {'helpers / side':>15}   "
          + "  ".join(f"{k:>9}" for k in PHASES) + "  (median ms of each phase)")
    for name, median in medians.items():
        print(f"{name:<20} {median * 1000:>10.0f}ms {ours / median:>15.2f}   "
              + "  ".join(f"{1000 * phases[name][k]:>9.0f}" for k in PHASES))
    if "nanoGPT" in medians:
        same = medians["helpers, exact GELU"] / medians["nanoGPT"]
        print(f"the same math as nanoGPT (exact GELU): helpers / nanoGPT = {same:.2f}")

    floor, flops = products_alone(args.batch_size, args.repeats)
    print(f"\nthe step's matrix products alone (float32, same shapes and threads): "
          f"{floor * 1000:.0f} ms, {flops / 1e9:.1f} GFLOP at {flops / floor / 1e9:.0f} GFLOP/s")
    print(f"{'side':<20} {'products / step':>15} {'rest of the step':>17}")
    for name, median in medians.items():
        print(f"{name:<20} {floor / median:>15.2f} {(median - floor) * 1000:>15.0f}ms")

    others = kernels_alone(args.batch_size, args.repeats)
    least = floor * 1000 + sum(ms for name, ms in others.items() if not name.startswith("("))
    print("\nthe step's other kernels alone, forward and backward, every layer: "
          + ", ".join(f"{name} {ms:.0f} ms" for name, ms in others.items()))
    print(f"products and these kernels, each timed alone: {least:.0f} ms (timed apart, with their "
          "own inputs, they are a guide to where a step goes, not a floor under it)")


if __name__ == "__main__":
    main()
