"""The hub: with no network, loading fails at once with one message that says what to do."""

import pytest

from helpers import GPT


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
