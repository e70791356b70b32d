"""Real GPT-2 weights: equal to transformers when cached, one clear error when not."""

import pytest
import torch

from helpers import GPT, pretrained_available


def test_from_pretrained_offline_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(OSError, match="not in the Hugging Face cache.*from_pretrained\\('gpt2'\\)"):
        GPT.from_pretrained("gpt2")
    with pytest.raises(ValueError, match="unknown model"):
        GPT.from_pretrained("gpt3")


def _fake_cache(root, files: dict[str, str]):
    """A Hugging Face cache holding only `files` of repo 'gpt2' (names -> contents)."""
    repo = root / "models--gpt2"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text("0" * 40)
    for name, text in files.items():
        (snapshot / name).write_text(text)


def test_gpt2_counts_as_available_only_with_its_tokenizer(tmp_path, monkeypatch):
    """`GPT2LMHeadModel.from_pretrained('gpt2')` caches the weights but not the tokenizer; the
    notebooks need both, so the weights alone are not enough."""
    import json

    import huggingface_hub.constants

    from helpers.tokenizer import load_gpt2_tokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    config = json.dumps({"model_type": "gpt2", "vocab_size": 50257})
    _fake_cache(tmp_path, {"config.json": config, "model.safetensors": ""})
    assert not pretrained_available("gpt2")
    # transformers then builds an empty tokenizer from the config alone: refused, with the fix
    with pytest.raises(ValueError, match=r"1 tokens, not 50,257.*AutoTokenizer\.from_pretrained"):
        load_gpt2_tokenizer("gpt2")
    _fake_cache(tmp_path, {"vocab.json": "{}"})
    assert not pretrained_available("gpt2")  # vocab.json without merges.txt
    _fake_cache(tmp_path, {"merges.txt": ""})
    assert pretrained_available("gpt2")
    (tmp_path / "models--gpt2" / "snapshots" / ("0" * 40) / "vocab.json").unlink()
    _fake_cache(tmp_path, {"tokenizer.json": "{}"})
    assert pretrained_available("gpt2")


def test_the_message_names_both_downloads():
    from helpers.hub import gpt2_not_available_message

    line = gpt2_not_available_message("gpt2")
    assert "GPT2LMHeadModel.from_pretrained('gpt2')" in line
    assert "AutoTokenizer.from_pretrained('gpt2')" in line


@pytest.mark.skipif(not pretrained_available("gpt2"), reason="GPT-2 weights not cached (offline)")
def test_real_gpt2_equals_transformers():
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel.from_pretrained("gpt2", attn_implementation="eager").eval()
    model = GPT.from_pretrained("gpt2")
    assert model.num_parameters() == 124_439_808
    idx = torch.tensor([[464, 3290, 318, 257]])
    with torch.no_grad():
        torch.testing.assert_close(model(idx), hf(idx).logits, atol=1e-4, rtol=0)
