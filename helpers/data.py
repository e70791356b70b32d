"""The corpus: loading Tiny Shakespeare, the train/validation split, and random batches."""

from __future__ import annotations

from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "data" / "tinyshakespeare.txt"


def load_text(path: str | Path | None = None) -> str:
    """The corpus as one string (default: data/tinyshakespeare.txt in this repository)."""
    path = Path(path) if path is not None else DEFAULT_CORPUS
    if not path.exists():
        raise FileNotFoundError(f"corpus {path} not found; the repository ships it as "
                                "data/tinyshakespeare.txt — pass the path of your own text file")
    return path.read_text(encoding="utf-8")


def train_val_split(data, train_fraction: float = 0.9):
    """First train_fraction for training, the rest for validation (no shuffling: the
    validation text is later text the model never saw)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    n = int(len(data) * train_fraction)
    return data[:n], data[n:]


def get_batch(
    data: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """batch_size random windows of block_size tokens and the same windows shifted by one:
    x (B, T), y (B, T) with y[:, t] the token after x[:, t]."""
    if len(data) < block_size + 1:
        raise ValueError(f"data has {len(data)} tokens; need at least block_size + 1 = {block_size + 1}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()])
    y = torch.stack([data[s + 1 : s + 1 + block_size] for s in starts.tolist()])
    return x, y
