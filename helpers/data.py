"""The corpus: loading Tiny Shakespeare, the train/validation split, and random batches."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

CORPUS_NAME = "tinyshakespeare.txt"
# where the corpus is looked for: the repository's data/ (a clone or an editable install), then
# the data folder a regular install puts it in (pyproject's [tool.setuptools.data-files])
CORPUS_LOCATIONS = (
    Path(__file__).resolve().parent.parent / "data" / CORPUS_NAME,
    Path(sys.prefix) / "share" / "gpt2-step-by-step" / CORPUS_NAME,
)


def load_text(path: str | Path | None = None) -> str:
    """A text file as one string; with no path, Tiny Shakespeare as shipped with the project."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"corpus {path} not found; pass the path of a UTF-8 text file")
        return path.read_text(encoding="utf-8")
    for candidate in CORPUS_LOCATIONS:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"Tiny Shakespeare not found (looked in {[str(p) for p in CORPUS_LOCATIONS]}); "
                            "pass its path: load_text('path/to/data/tinyshakespeare.txt')")


def train_val_split(data, train_fraction: float = 0.9):
    """First train_fraction for training, the rest for validation (no shuffling: the
    validation text is later text the model never saw)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    n = int(len(data) * train_fraction)
    return data[:n], data[n:]


def get_batch(
    data: torch.Tensor,
    seq_len: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """batch_size random windows of seq_len tokens and the same windows shifted by one:
    x (B, T), y (B, T) with y[:, t] the token after x[:, t]."""
    if not isinstance(data, torch.Tensor) or data.dim() != 1 or data.is_floating_point():
        got = (f"a {data.dim()}-D {data.dtype} tensor" if isinstance(data, torch.Tensor)
               else type(data).__name__)
        raise TypeError(f"data must be a 1-D tensor of integer token ids, got {got}; "
                        "encode the text first, e.g. torch.tensor(tokenizer.encode(text))")
    for name, value in (("seq_len", seq_len), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if len(data) < seq_len + 1:
        raise ValueError(f"data has {len(data)} tokens; need at least seq_len + 1 = {seq_len + 1}")
    starts = torch.randint(len(data) - seq_len, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + seq_len] for s in starts.tolist()])  # (B, T)
    y = torch.stack([data[s + 1 : s + 1 + seq_len] for s in starts.tolist()])  # (B, T)
    return x, y
