"""Training a GPT: the loop, loss evaluation, resume, and a command line.

    python -m helpers.train --out checkpoints/char --max-iters 2000   # see --help
    torchrun --nproc_per_node=4 -m helpers.train --out ...            # the same on 4 processes

The loop takes any batch function and loss function (causal LM by default; notebook 01 trains
a masked LM with it). Checkpoints are `helpers.checkpoint` folders, written atomically.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from helpers import distributed
from helpers.checkpoint import CheckpointError, load_checkpoint, load_optimizer_state, save_checkpoint
from helpers.data import get_batch, load_text, train_val_split
from helpers.model import GPT, GPTConfig, eval_mode, out_of_vocabulary
from helpers.objectives import causal_lm_loss, token_logprobs
from helpers.tokenizer import BPETokenizer, CharTokenizer

# batch_fn(data, seq_len, batch_size, generator) -> (inputs (B, T), targets (B, T))
BatchFn = Callable[[torch.Tensor, int, int, torch.Generator | None], tuple[torch.Tensor, torch.Tensor]]
# loss_fn(logits (B, T, V), targets (B, T)) -> scalar loss
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (AdamW, linear warm-up then cosine decay)."""

    max_iters: int = 2000
    batch_size: int = 32
    seq_len: int = 128  # tokens in each training sequence; at most the model's n_positions
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20
    checkpoint_interval: int = 500
    max_minutes: float | None = None  # stop early (and checkpoint) after this much wall time
    seed: int = 1337

    def lr_at(self, it: int) -> float:
        """Learning rate at iteration `it`: linear warm-up, then cosine down to min_lr."""
        if it < self.warmup_iters:
            return self.learning_rate * (it + 1) / self.warmup_iters
        progress = (it - self.warmup_iters) / max(1, self.max_iters - self.warmup_iters)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return self.min_lr + cosine * (self.learning_rate - self.min_lr)


@dataclass
class TrainState:
    """What a resumed run needs besides weights and optimizer: where it was, what it saw."""

    step: int = 0
    history: list[dict] = field(default_factory=list)  # {"step", "train_loss", "val_loss", "time"}
    # the loss of every step's own batch, before its update (batch_losses[k]: step k's batch);
    # noisy, one batch each, where history's estimates average several (under torchrun: rank 0's rows)
    batch_losses: list[float] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    train_config: dict = field(default_factory=dict)


def make_optimizer(model: GPT, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm gains or the like).

    PyTorch's fused AdamW updates all parameters in one kernel per group (same arithmetic,
    fewer passes over memory) where the device supports it.
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    device = next(model.parameters()).device.type
    fused = device in ("cpu", "cuda") and all(p.dtype == torch.float32 for p in model.parameters())
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, config.beta2),
                             fused=fused or None)


@torch.no_grad()
def loss_on_random_batches(
    model: GPT, data: torch.Tensor, seq_len: int, batch_size: int, iters: int,
    generator: torch.Generator | None = None, batch_fn: BatchFn = get_batch,
    loss_fn: LossFn = causal_lm_loss,
) -> float:
    """An estimate: the mean loss over `iters` random batches (quick, for progress reports)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        losses = []
        for _ in range(iters):
            x, y = batch_fn(data, seq_len, batch_size, generator)
            losses.append(loss_fn(model(x.to(device)), y.to(device)).item())
    return sum(losses) / len(losses)


@torch.no_grad()
def loss_on_whole_text(
    model: GPT, data: torch.Tensor, window: int | None = None, batch_size: int = 16
) -> float:
    """Exact: the mean causal-LM loss (nats per token) over every token of `data` after the first.

    Windows of window overlap by half, and each token is scored once, in the window where
    it has at least window / 2 tokens of context (the first window scores all of its own).
    """
    window = window or model.config.n_positions  # the model's context, by default
    stride = max(1, window // 2)
    data = data.long().to(next(model.parameters()).device)
    starts = list(range(0, max(1, len(data) - window), stride))
    total, count = 0.0, 0
    with eval_mode(model):
        for i in range(0, len(starts), batch_size):
            chunk = starts[i : i + batch_size]
            x = torch.stack([data[s : s + window] for s in chunk])  # (B, T)
            y = torch.stack([data[s + 1 : s + 1 + window] for s in chunk])  # (B, T)
            nll = -token_logprobs(model(x), y)  # (B, T)
            for row, s in enumerate(chunk):
                first = 0 if s == 0 else window - stride  # tokens already scored are skipped
                total += nll[row, first:].sum().item()
                count += window - first
        # the tail that no full window reached
        last_end = starts[-1] + window
        if last_end < len(data) - 1:
            tail = data[len(data) - 1 - window :]
            nll = -token_logprobs(model(tail[None, :-1]), tail[None, 1:])[0]
            n_new = len(data) - 1 - last_end
            total += nll[-n_new:].sum().item()
            count += n_new
    return total / count


def train(
    model: GPT,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    config: TrainConfig,
    out_dir: str | Path | None = None,
    tokenizer=None,
    resume: bool = False,
    progress: bool = True,
    batch_fn: BatchFn = get_batch,
    loss_fn: LossFn = causal_lm_loss,
) -> TrainState:
    """Train `model` on batches of train_data; return the state with its loss history.

    batch_fn makes (inputs, targets) and loss_fn scores the model's logits against the targets:
    next-token prediction by default. The train and validation losses are estimated and
    recorded before the first step (step 0) and every eval_interval steps after; every
    checkpoint_interval steps (and at the end) a checkpoint goes to out_dir. With resume=True
    the run continues from out_dir's checkpoint: weights, optimizer, step, history. The
    model's train/eval mode is restored when this returns or raises.

    Under `torchrun` every process draws the same global batch and trains on its own shard of
    it (`DistributedDataParallel` averages the gradients), so N processes compute what one
    process computes on the whole batch; only rank 0 evaluates, logs and writes checkpoints.
    Batches go to the device the model is on.
    """
    from tqdm.auto import tqdm

    if config.seq_len > model.config.n_positions:
        raise ValueError(f"TrainConfig.seq_len = {config.seq_len} exceeds the model's "
                         f"context n_positions = {model.config.n_positions}; lower it")
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        # once per run, on the host: the model checks its input only on the CPU (a check on a
        # GPU would wait for the device at every step)
        if data is not None and len(data) and (int(data.min()) < 0
                                               or int(data.max()) >= model.config.vocab_size):
            bad = int(data.min()) if int(data.min()) < 0 else int(data.max())
            raise ValueError(f"{name}: {out_of_vocabulary(bad, model.config.vocab_size)}")
    distributed.check_divisible(config.batch_size)
    main_process = distributed.is_main_process()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(config.seed)
    eval_generator = torch.Generator().manual_seed(config.seed + 1)
    optimizer = make_optimizer(model, config)
    state = TrainState(train_config=asdict(config))
    if resume:
        if out_dir is None:
            raise ValueError("resume=True needs out_dir, the checkpoint folder to resume from")
        state = _resume(Path(out_dir), model, optimizer, generator)

    def estimate(data: torch.Tensor) -> float:
        return loss_on_random_batches(model, data, config.seq_len, config.batch_size,
                                      config.eval_iters, eval_generator, batch_fn, loss_fn)

    forward = model  # what computes the loss: the model itself, or its DDP wrapper
    if distributed.world_size() > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    was_training = model.training
    model.train()
    start_time = time.perf_counter() - state.elapsed_seconds
    bar = tqdm(range(state.step, config.max_iters), initial=state.step, total=config.max_iters,
               desc="training", disable=not progress or not main_process or _tqdm_disabled(),
               mininterval=0.5)  # in JupyterLab each redraw is a widget message: twice a second
    def record(step: int, seconds: float) -> None:  # estimate both losses, log, show on the bar
        entry = {"step": step, "train_loss": estimate(train_data),
                 "val_loss": estimate(val_data), "time": round(seconds, 1)}
        state.history.append(entry)
        bar.set_postfix(train=f"{entry['train_loss']:.3f}", val=f"{entry['val_loss']:.3f}")

    try:
        if main_process and state.step == 0 and not state.history:  # the loss before step 1:
            record(0, 0.0)  # about ln V, from random weights
        for it in bar:
            for group in optimizer.param_groups:
                group["lr"] = config.lr_at(it)
            x, y = batch_fn(train_data, config.seq_len, config.batch_size, generator)  # (B, T)
            x, y = distributed.shard(x).to(device), distributed.shard(y).to(device)  # this rank's rows
            loss = loss_fn(forward(x), y)
            state.batch_losses.append(loss.item())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            state.step = it + 1
            state.elapsed_seconds = time.perf_counter() - start_time
            last = state.step == config.max_iters
            out_of_time = (config.max_minutes is not None
                           and state.elapsed_seconds > 60 * config.max_minutes)
            if main_process and (state.step % config.eval_interval == 0 or last or out_of_time):
                record(state.step, state.elapsed_seconds)
            if out_dir is not None and (state.step % config.checkpoint_interval == 0 or last
                                        or out_of_time):
                if main_process:
                    save_checkpoint(out_dir, model, tokenizer, optimizer, asdict(state), generator)
                distributed.barrier()  # nobody runs ahead of the checkpoint it may resume from
            if out_of_time:
                break
    finally:
        bar.close()
        model.train(was_training)
    return state


def _tqdm_disabled() -> bool:
    """tqdm's own TQDM_DISABLE switch (set by `make test`), which an explicit disable= overrides."""
    return os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")


def _resume(path: Path, model: GPT, optimizer, generator: torch.Generator) -> TrainState:
    loaded, _, trainer_state = load_checkpoint(path)
    if trainer_state is None:
        raise CheckpointError(f"{path} has no trainer_state.json to resume from (it is a "
                              "weights-only export); start a new run instead")
    if loaded.config != model.config:
        raise CheckpointError(f"{path} holds a model of config {loaded.config}, not {model.config}")
    model.load_state_dict(loaded.state_dict())
    load_optimizer_state(path, optimizer, generator)
    trainer_state = dict(trainer_state)
    trainer_state.pop("param_groups", None)
    return TrainState(**trainer_state)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Train a GPT on a text file and write a checkpoint (see --help)."""
    p = argparse.ArgumentParser(prog="python -m helpers.train", description=main.__doc__)
    p.add_argument("--data", default=None, help="text file (default: Tiny Shakespeare)")
    p.add_argument("--out", required=True, help="checkpoint folder to write (and resume from)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    p.add_argument("--bpe-vocab-size", type=int, default=1024)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--n-positions", "--block-size", type=int, default=128,
                   help="the model's context (nanoGPT calls it block_size)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--export", default=None, help="also write a weights-only copy here")
    p.add_argument("--export-dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to train (auto: CUDA, then MPS, then the CPU)")
    for f in TrainConfig.__dataclass_fields__.values():
        flags = ["--" + f.name.replace("_", "-")]
        if f.name in ("max_minutes", "seq_len"):  # seq_len: the context unless given
            p.add_argument(*flags, type=type(f.default), default=None)
        else:
            p.add_argument(*flags, type=type(f.default), default=f.default)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.init_process_group(distributed.resolve_device(args.device))
    try:
        _run(args, device)
    finally:
        distributed.destroy_process_group()


def _run(args: argparse.Namespace, device: torch.device) -> None:
    """The command line's work, in every process: data, model, train, and on rank 0 the report."""
    main_process = distributed.is_main_process()
    say = print if main_process else (lambda *a, **k: None)
    torch.manual_seed(args.seed)  # the same initial weights in every process

    text = load_text(args.data)
    train_text, val_text = train_val_split(text)
    if args.resume:
        _, tokenizer, _ = load_checkpoint(args.out)
    elif args.tokenizer == "char":
        tokenizer = CharTokenizer.from_text(text)
    else:
        tokenizer = BPETokenizer.train(train_text, vocab_size=args.bpe_vocab_size)
    train_data = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_data = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    if args.seq_len is None:
        args.seq_len = args.n_positions
    tconf = TrainConfig(**{k: getattr(args, k) for k in TrainConfig.__dataclass_fields__})
    mconf = GPTConfig(vocab_size=tokenizer.vocab_size, n_positions=args.n_positions,
                      n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head,
                      dropout=args.dropout)
    model = GPT(mconf).to(device)
    say(f"{model.num_parameters():,} parameters, {tokenizer.kind} tokenizer of "
        f"{tokenizer.vocab_size} tokens, {len(train_data):,} training tokens, "
        f"{distributed.world_size()} process(es) on {device.type}")
    state = train(model, train_data, val_data, tconf, args.out, tokenizer, resume=args.resume)
    if not main_process:
        return
    nats_per_token = loss_on_whole_text(model, val_data, args.n_positions)
    nats_per_char = nats_per_token * len(val_data) / len(val_text)
    print(f"step {state.step}, {state.elapsed_seconds / 60:.1f} min; validation loss "
          f"{nats_per_token:.4f} nats/token = {nats_per_char:.4f} nats/char")
    if args.export:
        dtype = getattr(torch, args.export_dtype)
        meta = {"val_nats_per_char": round(nats_per_char, 4), "steps": state.step,
                "minutes": round(state.elapsed_seconds / 60, 1), "train_config": asdict(tconf)}
        save_checkpoint(args.export, model, tokenizer, dtype=dtype,
                        extra_json={"training.json": meta})
        print(f"exported weights to {args.export}")


if __name__ == "__main__":
    main()
