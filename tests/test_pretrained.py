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


def test_unreachable_hub_fails_at_once_with_the_same_message(tmp_path, monkeypatch):
    import socket

    from helpers.hub import hub_reachable
    from helpers.tokenizer import load_gpt2_tokenizer

    with socket.socket() as s:  # a port that was just free: nothing listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert not hub_reachable()
    with pytest.raises(OSError, match=r"not reachable\. Run once where there is network") as e:
        GPT.from_pretrained("gpt2-medium")
    assert "Retry" not in str(e.value)
    with pytest.raises(OSError, match="GPT-2's tokenizer 'gpt2' is not in the Hugging Face cache"):
        load_gpt2_tokenizer()


def test_hub_reachable_sees_a_listening_endpoint(monkeypatch):
    import socket

    from helpers.hub import hub_reachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_reachable(timeout=1.0)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert not hub_reachable(timeout=1.0)  # offline mode never touches the network
