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


@pytest.mark.skipif(not pretrained_available("gpt2"), reason="GPT-2 weights not cached (offline)")
def test_real_gpt2_equals_transformers():
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel.from_pretrained("gpt2", attn_implementation="eager").eval()
    model = GPT.from_pretrained("gpt2")
    assert model.num_parameters() == 124_439_808
    idx = torch.tensor([[464, 3290, 318, 257]])
    with torch.no_grad():
        torch.testing.assert_close(model(idx), hf(idx).logits, atol=1e-4, rtol=0)
