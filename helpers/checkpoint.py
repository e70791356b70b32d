"""The checkpoint folder: atomic save, load, validation, and the model shipped with the series.

A checkpoint is a folder of safetensors and JSON, never pickles:
    config.json            {"format": ..., "model": GPTConfig fields}
    model.safetensors      the weights
    tokenizer.json         the tokenizer (optional)
    trainer_state.json     where a run was, for resuming (optional)
    optimizer.safetensors  AdamW's moments and the batch sampler's random state (optional)
    *.json                 any extra JSON the caller adds (e.g. training.json of an export)
It is written into a temporary folder beside the target and renamed into place, so an
interrupted save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from helpers.model import GPT, GPTConfig
from helpers.tokenizer import tokenizer_from_dict

FORMAT = "gpt2-step-by-step checkpoint v1"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, incomplete, truncated or does not fit its config."""


def save_checkpoint(
    path: str | Path,
    model: GPT,
    tokenizer=None,
    optimizer: torch.optim.Optimizer | None = None,
    trainer_state: dict | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    extra_json: dict[str, dict] | None = None,
) -> Path:
    """Write a checkpoint folder atomically: build it beside `path`, then rename it into place.

    dtype (e.g. torch.float16) stores the weights smaller; they are loaded back as float32.
    extra_json maps file names to objects written as JSON inside the same atomic write.
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
        if trainer_state is not None:
            trainer = dict(trainer_state)
            if optimizer is not None:
                tensors, groups = _optimizer_tensors(optimizer)
                if generator is not None:
                    tensors["rng_state"] = generator.get_state()
                save_file(tensors, tmp / "optimizer.safetensors")
                trainer["param_groups"] = groups
            _write_json(tmp / "trainer_state.json", trainer)
        for name, obj in (extra_json or {}).items():
            _write_json(tmp / name, obj)
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


def _recover_interrupted_save(path: Path) -> None:
    """Put back the previous checkpoint of a save that stopped between its two renames (a
    crash or power cut after `path` became `.name.old-PID`, before the new folder took its
    place), so that a run resumes from it instead of finding no folder at `path`."""
    left = [p for p in path.parent.glob(f".{path.name}.old-*") if (p / "config.json").exists()]
    if left:
        max(left, key=lambda p: p.stat().st_mtime).rename(path)


def load_checkpoint(path: str | Path) -> tuple[GPT, object, dict | None]:
    """(model in eval mode, tokenizer or None, trainer state dict or None) from a folder."""
    path = Path(path)
    if not path.exists():
        _recover_interrupted_save(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {path}; train one with "
                                f"`python -m helpers.train --out {path}`")
    config_file = path / "config.json"
    if not config_file.exists() or not (path / "model.safetensors").exists():
        raise CheckpointError(f"checkpoint {path} is incomplete: it needs config.json and "
                              "model.safetensors; use an earlier checkpoint or retrain")
    try:
        meta = json.loads(config_file.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{config_file} is not a checkpoint of this project (format "
                                  f"{meta.get('format')!r}, expected {FORMAT!r}); for Hugging Face "
                                  "weights use GPT.from_hf or GPT.from_pretrained")
        config = GPTConfig.from_dict(meta["model"])
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
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
    trainer_state = None
    if (path / "trainer_state.json").exists():
        try:
            trainer_state = json.loads((path / "trainer_state.json").read_text("utf-8"))
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{path}/trainer_state.json is corrupt ({e})") from None
    return model.eval(), tokenizer, trainer_state


def load_optimizer_state(
    path: str | Path, optimizer: torch.optim.Optimizer, generator: torch.Generator | None = None
) -> None:
    """Restore AdamW's state (and the batch sampler's random state) saved with a checkpoint."""
    path = Path(path)
    if not (path / "optimizer.safetensors").exists() or not (path / "trainer_state.json").exists():
        raise CheckpointError(f"{path} has no trainer_state.json/optimizer.safetensors to resume "
                              "from (it is a weights-only export); start a new run instead")
    tensors = _load_tensors(path / "optimizer.safetensors")
    groups = json.loads((path / "trainer_state.json").read_text("utf-8"))["param_groups"]
    opt_state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key == "rng_state":
            if generator is not None:
                generator.set_state(value)
            continue
        _, idx, name = key.split(".", 2)
        opt_state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})


def load_default_model(path: str | Path | None = None):
    """The model shipped with the series and its tokenizer: (GPT in eval mode, tokenizer).

    Trained on the first 90% of Tiny Shakespeare by `python -m helpers.train` (see README);
    loads from disk, no network.
    """
    model, tokenizer, _ = load_checkpoint(path or DEFAULT_MODEL_DIR)
    return model, tokenizer


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
