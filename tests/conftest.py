"""Shared fixtures: tiny random GPT-2 configurations and their `transformers` twins."""

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("GPT2_STEP_BY_STEP_PROGRESS", "off")  # the checks record no verdicts

# several shapes: odd head counts, a custom MLP width, exact GELU, a longer context
TINY_CONFIGS = [
    dict(vocab_size=50, n_positions=16, n_embd=24, n_layer=2, n_head=3),
    dict(vocab_size=97, n_positions=32, n_embd=32, n_layer=3, n_head=4, n_inner=48),
    dict(vocab_size=13, n_positions=8, n_embd=20, n_layer=1, n_head=5, activation_function="gelu"),
    dict(vocab_size=128, n_positions=64, n_embd=64, n_layer=4, n_head=2, layer_norm_epsilon=1e-6),
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_hf(cfg: dict, seed: int = 0):
    """A randomly initialised GPT2LMHeadModel (eager attention, so it returns weights)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    hf_config = GPT2Config(bos_token_id=cfg["vocab_size"] - 1, eos_token_id=cfg["vocab_size"] - 1,
                           **cfg)
    hf_config._attn_implementation = "eager"
    model = GPT2LMHeadModel(hf_config).eval()
    # random biases and LayerNorm parameters too, so no zero/one init hides a mistake
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.normal_(0.0, 0.1).add_(1.0 if name.endswith("weight") else 0.0)
    return model


@pytest.fixture(scope="module")
def corpus():
    """(tokenizer, train ids, validation ids) of the first 60,000 characters of Tiny Shakespeare."""
    from helpers.data import load_text, train_val_split
    from helpers.tokenizer import CharTokenizer

    text = load_text()[:60_000]
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text))
    train_data, val_data = train_val_split(data)
    return tok, train_data, val_data


def tiny_model(vocab_size):
    """A seeded 2-layer GPT of a 32-token context, for training and checkpoint tests."""
    from helpers import GPT, GPTConfig

    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab_size, n_positions=32, n_embd=32, n_layer=2, n_head=2))
