"""Tokenizers round-trip text and reject what they cannot encode."""

import pytest

from helpers.tokenizer import BPETokenizer, CharTokenizer, load_gpt2_tokenizer, load_tokenizer

SAMPLE = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 20


def test_char_tokenizer_round_trip_and_errors(tmp_path):
    tok = CharTokenizer.from_text(SAMPLE)
    assert tok.vocab_size == len(set(SAMPLE))
    ids = tok.encode("hear me")
    assert tok.decode(ids) == "hear me" and len(ids) == 7
    with pytest.raises(ValueError, match=r"characters \['Z'\] are not in"):
        tok.encode("Zest")
    with pytest.raises(ValueError, match="outside"):
        tok.decode([tok.vocab_size])
    tok.save(tmp_path / "t.json")
    assert load_tokenizer(tmp_path / "t.json").encode("hear me") == ids


@pytest.mark.parametrize("text", [
    "hear me speak", "自回归语言模型 predicts the next token", "emoji 🤖 and tabs\t\n",
    "unseen words: xylophone quizzically", "",
])
def test_bpe_round_trips_any_text(text, tmp_path):
    tok = BPETokenizer.train(SAMPLE, vocab_size=300)
    assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path / "bpe.json")
    again = load_tokenizer(tmp_path / "bpe.json")
    assert again.encode(text) == tok.encode(text)


def test_bpe_tokens_show_the_bytes_of_split_characters():
    """A token holding part of a character shows its bytes in hexadecimal, not '�'; whole
    characters, a token that ends mid-character and text like '<e8>' itself stay readable."""
    tok = BPETokenizer.train(["自回归" * 30 + "，自编码" * 30], vocab_size=262)
    assert tok.tokens("hear") == ["h", "e", "a", "r"]  # never merged: one byte each
    assert BPETokenizer.train(SAMPLE, vocab_size=300).tokens("自") == ["<e8>", "<87>", "<aa>"]
    assert tok.tokens("自回归，自然") == [  # 自's three bytes were merged; 然 never seen
        "自", "<e5 9b>", "<9e>", "<e5>", "<bd 92>", "<ef>", "<bc 8c>", "自", "<e7>", "<84>", "<b6>"]
    assert tok.tokens("a自") == ["a", "自"] and "".join(tok.tokens("回归")) == "<e5 9b><9e><e5><bd 92>"
    assert BPETokenizer.train(SAMPLE, vocab_size=300).tokens("<e8>") == ["<", "e", "8", ">"]


def test_bpe_merges_frequent_pairs():
    tok = BPETokenizer.train(SAMPLE, vocab_size=320)
    assert 256 < tok.vocab_size <= 320
    assert len(tok.encode("Before we proceed")) < len(b"Before we proceed")
    assert len(tok.encode("中文")) == len("中文".encode())  # unseen: one token per byte
    with pytest.raises(ValueError, match="at least 257"):
        BPETokenizer.train(SAMPLE, vocab_size=100)


def test_gpt2_tokenizer_when_available():
    try:
        tok = load_gpt2_tokenizer()
    except OSError as e:
        assert "not in the Hugging Face cache" in str(e)
        pytest.skip("GPT-2's tokenizer is not cached here (offline): error message checked")
    assert tok.vocab_size == 50257
    assert tok.decode(tok.encode("Hello world")) == "Hello world"


def test_every_tokenizer_refuses_non_text_and_saves():
    from helpers.tokenizer import HFTokenizer

    class FakeHF:  # stands in for a transformers tokenizer: no download needed
        def __len__(self):
            return 3

        def encode(self, text):
            return [0] * len(text)

        def decode(self, idx):
            return "a" * len(idx)

    for tok in (CharTokenizer.from_text(SAMPLE), BPETokenizer.train(SAMPLE, vocab_size=270),
                HFTokenizer(FakeHF(), "gpt2")):
        with pytest.raises(TypeError, match=r"encode takes a str, got bytes; decode turns token ids"):
            tok.encode(b"hear me")
        with pytest.raises(ValueError, match=r"token ids \[-1\] are outside 0\.\."):
            tok.decode([-1])
        assert tok.to_dict()["kind"] == tok.kind
    assert HFTokenizer(FakeHF(), "gpt2-medium").to_dict() == {"kind": "hf", "name": "gpt2-medium"}


def test_a_saved_gpt2_tokenizer_names_what_it_needs_offline(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    (tmp_path / "t.json").write_text(json.dumps({"kind": "hf", "name": "gpt2"}))
    with pytest.raises(OSError, match="GPT-2's tokenizer 'gpt2' is not in the Hugging Face cache"):
        load_tokenizer(tmp_path / "t.json")
    (tmp_path / "u.json").write_text(json.dumps({"kind": "sentencepiece"}))
    with pytest.raises(ValueError, match="unknown tokenizer kind 'sentencepiece'; expected 'char', 'bpe' or 'hf'"):
        load_tokenizer(tmp_path / "u.json")
