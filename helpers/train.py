"""Training a GPT: the loop, evaluation, atomic safetensors checkpoints, resume, and a CLI.

    python -m helpers.train --out checkpoints/char --max-iters 2000   # see --help

A checkpoint is a folder: config.json (model sizes), model.safetensors (weights),
tokenizer.json, and for resuming trainer_state.json + optimizer.safetensors. It is written
into a temporary folder first and renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from helpers.data import get_batch, load_text, train_val_split
from helpers.model import GPT, GPTConfig
from helpers.objectives import causal_lm_loss
from helpers.tokenizer import BPETokenizer, CharTokenizer, tokenizer_from_dict

FORMAT = "gpt2-step-by-step checkpoint v1"


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, incomplete, truncated or does not fit its config."""


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (AdamW, linear warm-up then cosine decay)."""

    max_iters: int = 2000
    batch_size: int = 32
    block_size: int = 128
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
    elapsed_seconds: float = 0.0
    train_config: dict = field(default_factory=dict)


def make_optimizer(model: GPT, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm gains or the like)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, config.beta2))


@torch.no_grad()
def estimate_loss(
    model: GPT, data: torch.Tensor, block_size: int, batch_size: int, iters: int,
    generator: torch.Generator | None = None,
) -> float:
    """Mean causal-LM loss over `iters` random batches (quick, for progress reports)."""
    was_training = model.training
    model.eval()
    losses = []
    for _ in range(iters):
        x, y = get_batch(data, block_size, batch_size, generator)
        losses.append(causal_lm_loss(model(x), y).item())
    model.train(was_training)
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate_loss(
    model: GPT, data: torch.Tensor, block_size: int | None = None, batch_size: int = 16
) -> float:
    """Exact mean loss (nats per token) over every token of `data` after the first.

    Windows of block_size overlap by half, and each token is scored once, in the window where
    it has at least block_size / 2 tokens of context (the first window scores all of its own).
    """
    was_training = model.training
    model.eval()
    block_size = block_size or model.config.n_positions
    stride = max(1, block_size // 2)
    data = data.long()
    starts = list(range(0, max(1, len(data) - block_size), stride))
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        chunk = starts[i : i + batch_size]
        x = torch.stack([data[s : s + block_size] for s in chunk])
        y = torch.stack([data[s + 1 : s + 1 + block_size] for s in chunk])
        logp = torch.log_softmax(model(x).float(), dim=-1)
        nll = -logp.gather(-1, y[..., None])[..., 0]  # (B, T)
        for row, s in enumerate(chunk):
            first = 0 if s == 0 else block_size - stride  # tokens already scored are skipped
            total += nll[row, first:].sum().item()
            count += block_size - first
    # the tail that no full window reached
    last_end = starts[-1] + block_size
    if last_end < len(data) - 1:
        tail = data[len(data) - 1 - block_size :]
        logp = torch.log_softmax(model(tail[None, :-1]).float(), dim=-1)[0]
        nll = -logp.gather(-1, tail[1:, None])[:, 0]
        n_new = len(data) - 1 - last_end
        total += nll[-n_new:].sum().item()
        count += n_new
    model.train(was_training)
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
) -> TrainState:
    """Train `model` on random windows of train_data; return the state with its loss history.

    Every eval_interval steps the train and validation losses are estimated and recorded;
    every checkpoint_interval steps (and at the end) a checkpoint goes to out_dir. With
    resume=True the run continues from out_dir's checkpoint: weights, optimizer, step, history.
    """
    from tqdm.auto import tqdm

    if config.block_size > model.config.n_positions:
        raise ValueError(f"block_size {config.block_size} exceeds the model's context "
                         f"n_positions = {model.config.n_positions}")
    generator = torch.Generator().manual_seed(config.seed)
    eval_generator = torch.Generator().manual_seed(config.seed + 1)
    optimizer = make_optimizer(model, config)
    state = TrainState(train_config=asdict(config))
    if resume:
        if out_dir is None:
            raise ValueError("resume=True needs out_dir, the checkpoint folder to resume from")
        state = _resume(Path(out_dir), model, optimizer, generator)
    model.train()
    start_time = time.perf_counter() - state.elapsed_seconds
    bar = tqdm(range(state.step, config.max_iters), initial=state.step, total=config.max_iters,
               desc="training", disable=not progress)
    loss = torch.tensor(float("nan"))
    for it in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr_at(it)
        x, y = get_batch(train_data, config.block_size, config.batch_size, generator)
        loss = causal_lm_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        state.step = it + 1
        state.elapsed_seconds = time.perf_counter() - start_time
        last = state.step == config.max_iters
        out_of_time = config.max_minutes is not None and state.elapsed_seconds > 60 * config.max_minutes
        if state.step % config.eval_interval == 0 or last or out_of_time:
            record = {
                "step": state.step,
                "train_loss": estimate_loss(model, train_data, config.block_size,
                                            config.batch_size, config.eval_iters, eval_generator),
                "val_loss": estimate_loss(model, val_data, config.block_size,
                                          config.batch_size, config.eval_iters, eval_generator),
                "time": round(state.elapsed_seconds, 1),
            }
            state.history.append(record)
            bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
        if out_dir is not None and (state.step % config.checkpoint_interval == 0 or last or out_of_time):
            save_checkpoint(out_dir, model, tokenizer, optimizer, state, generator)
        if out_of_time:
            break
    bar.close()
    model.eval()
    return state


# ---------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------


def save_checkpoint(
    path: str | Path,
    model: GPT,
    tokenizer=None,
    optimizer: torch.optim.Optimizer | None = None,
    state: TrainState | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a checkpoint folder atomically: build it beside `path`, then rename it into place.

    dtype (e.g. torch.float16) stores the weights smaller; they are loaded back as float32.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        weights = {k: (v.to(dtype) if dtype else v).contiguous() for k, v in model.state_dict().items()}
        save_file(weights, tmp / "model.safetensors", metadata={"format": FORMAT})
        _write_json(tmp / "config.json", {"format": FORMAT, "model": model.config.to_dict()})
        if tokenizer is not None:
            _write_json(tmp / "tokenizer.json", tokenizer.to_dict())
        if state is not None:
            trainer = asdict(state)
            if optimizer is not None:
                tensors, groups = _optimizer_tensors(optimizer)
                if generator is not None:
                    tensors["rng_state"] = generator.get_state()
                save_file(tensors, tmp / "optimizer.safetensors")
                trainer["param_groups"] = groups
            _write_json(tmp / "trainer_state.json", trainer)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if path.exists():
            path.rename(old)  # keep the previous checkpoint until the new one is in place
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            old.rename(path)
        raise
    return path


def load_checkpoint(path: str | Path):
    """Load (model, tokenizer or None, TrainState or None) from a checkpoint folder."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {path}; train one with "
                                "`python -m helpers.train --out {path}`")
    config_file = path / "config.json"
    if not config_file.exists() or not (path / "model.safetensors").exists():
        raise CheckpointError(f"checkpoint {path} is incomplete: it needs config.json and "
                              "model.safetensors; use an earlier checkpoint or retrain")
    try:
        meta = json.loads(config_file.read_text(encoding="utf-8"))
        config = GPTConfig.from_dict(meta["model"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{config_file} is corrupt ({type(e).__name__}: {e}); "
                              "use an earlier checkpoint or retrain") from None
    weights = _load_tensors(path / "model.safetensors")
    model = GPT(config)
    expected = model.state_dict()
    if set(weights) != set(expected):
        missing, extra = set(expected) - set(weights), set(weights) - set(expected)
        raise CheckpointError(f"{path}/model.safetensors does not match config.json "
                              f"(missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]})")
    for k, v in weights.items():
        if v.shape != expected[k].shape:
            raise CheckpointError(f"{path}/model.safetensors: {k} has shape {tuple(v.shape)}, "
                                  f"config.json implies {tuple(expected[k].shape)}")
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    tokenizer = None
    if (path / "tokenizer.json").exists():
        try:
            tokenizer = tokenizer_from_dict(json.loads((path / "tokenizer.json").read_text("utf-8")))
        except (json.JSONDecodeError, KeyError, ValueError) as e:
            raise CheckpointError(f"{path}/tokenizer.json is corrupt ({e})") from None
    state = None
    if (path / "trainer_state.json").exists():
        d = json.loads((path / "trainer_state.json").read_text("utf-8"))
        d.pop("param_groups", None)
        state = TrainState(**d)
    return model.eval(), tokenizer, state


def _load_tensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{file} is truncated or corrupt and cannot be loaded ({e}); "
                              "use an earlier checkpoint or retrain") from None


def _write_json(file: Path, obj) -> None:
    file.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, list]:
    sd = optimizer.state_dict()
    tensors = {}
    for idx, pstate in sd["state"].items():
        for name, value in pstate.items():
            tensors[f"state.{idx}.{name}"] = torch.as_tensor(value).contiguous()
    return tensors, sd["param_groups"]


def _resume(path: Path, model: GPT, optimizer, generator: torch.Generator) -> TrainState:
    loaded, _, state = load_checkpoint(path)
    if state is None or not (path / "optimizer.safetensors").exists():
        raise CheckpointError(f"{path} has no trainer_state.json/optimizer.safetensors to resume "
                              "from (it is a weights-only export); start a new run instead")
    if loaded.config != model.config:
        raise CheckpointError(f"{path} holds a model of config {loaded.config}, not {model.config}")
    model.load_state_dict(loaded.state_dict())
    tensors = _load_tensors(path / "optimizer.safetensors")
    groups = json.loads((path / "trainer_state.json").read_text("utf-8"))["param_groups"]
    opt_state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key == "rng_state":
            generator.set_state(value)
            continue
        _, idx, name = key.split(".", 2)
        opt_state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    return state


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Train a GPT on a text file and write a checkpoint (see --help)."""
    p = argparse.ArgumentParser(prog="python -m helpers.train", description=main.__doc__)
    p.add_argument("--data", default=None, help="text file (default: data/tinyshakespeare.txt)")
    p.add_argument("--out", required=True, help="checkpoint folder to write (and resume from)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    p.add_argument("--bpe-vocab-size", type=int, default=1024)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--export", default=None, help="also write a weights-only copy here")
    p.add_argument("--export-dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    for f in TrainConfig.__dataclass_fields__.values():
        if f.name == "max_minutes":
            p.add_argument("--max-minutes", type=float, default=None)
        else:
            p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

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
    tconf = TrainConfig(**{k: getattr(args, k) for k in TrainConfig.__dataclass_fields__})
    mconf = GPTConfig(vocab_size=tokenizer.vocab_size, n_positions=args.block_size,
                      n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head,
                      dropout=args.dropout)
    model = GPT(mconf)
    print(f"{model.num_parameters():,} parameters, {tokenizer.kind} tokenizer of "
          f"{tokenizer.vocab_size} tokens, {len(train_data):,} training tokens")
    state = train(model, train_data, val_data, tconf, args.out, tokenizer, resume=args.resume)
    nats_per_token = evaluate_loss(model, val_data, args.block_size)
    nats_per_char = nats_per_token * len(val_data) / len(val_text)
    print(f"step {state.step}, {state.elapsed_seconds / 60:.1f} min; validation loss "
          f"{nats_per_token:.4f} nats/token = {nats_per_char:.4f} nats/char")
    if args.export:
        dtype = getattr(torch, args.export_dtype)
        save_checkpoint(args.export, model, tokenizer, dtype=dtype)
        meta = {"val_nats_per_char": round(nats_per_char, 4), "steps": state.step,
                "minutes": round(state.elapsed_seconds / 60, 1), "train_config": asdict(tconf)}
        _write_json(Path(args.export) / "training.json", meta)
        print(f"exported weights to {args.export}")


if __name__ == "__main__":
    main()
