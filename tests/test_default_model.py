"""The shipped model loads offline, is small, and reaches its stated validation loss."""

import json

import pytest
import torch

from helpers import generate, load_default_model
from helpers.checkpoint import DEFAULT_MODEL_DIR
from helpers.data import load_text, train_val_split
from helpers.train import loss_on_whole_text


@pytest.fixture(scope="module")
def default():
    return load_default_model()


def test_shipped_files_are_small_and_safetensors():
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files)
    assert not any(name.endswith((".pt", ".pth", ".bin", ".pkl")) for name in files)
    assert sum(files.values()) <= 10 * 1024 * 1024


def test_validation_loss_per_character(default):
    model, tok = default
    _, val_text = train_val_split(load_text())
    val = torch.tensor(tok.encode(val_text))
    nats_per_char = loss_on_whole_text(model, val, model.config.n_positions, batch_size=64) * len(val) / len(val_text)
    assert nats_per_char <= 1.70
    recorded = json.loads((DEFAULT_MODEL_DIR / "training.json").read_text())["val_nats_per_char"]
    assert nats_per_char == pytest.approx(recorded, abs=0.01)  # the README's figure is this one


def test_it_writes_shakespeare_like_text(default):
    model, tok = default
    prompt = torch.tensor([tok.encode("ROMEO:\n")])
    out = generate(model, prompt, 200, temperature=0.8, generator=torch.Generator().manual_seed(0))
    text = tok.decode(out[0].tolist())
    assert text.startswith("ROMEO:\n")
    words = text.split()
    common = {"the", "and", "to", "of", "I", "my", "you", "a", "that", "is", "in", "me"}
    assert sum(w.strip(",.;:!?").lower() in common for w in words) >= 3
