"""helpers.GPT is GPT-2: parity with transformers, causality, shapes, counts, bad input."""

import pytest
import torch

from helpers import GPT, Block, GPTConfig

from conftest import TINY_CONFIGS, make_hf


@pytest.mark.parametrize("cfg", TINY_CONFIGS, ids=lambda c: f"L{c['n_layer']}H{c['n_head']}C{c['n_embd']}")
def test_logits_and_attention_equal_transformers(cfg):
    hf = make_hf(cfg)
    model = GPT.from_hf(hf)
    idx = torch.randint(cfg["vocab_size"], (3, cfg["n_positions"]))
    with torch.no_grad():
        ref = hf(idx, output_attentions=True)
        logits, attn = model(idx, return_attention=True)
        fast_logits = model(idx)  # the fused path (no weights returned)
    assert logits.shape == (3, cfg["n_positions"], cfg["vocab_size"])
    torch.testing.assert_close(logits, ref.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast_logits, ref.logits, atol=1e-5, rtol=0)
    assert len(attn) == cfg["n_layer"]
    for ours, theirs in zip(attn, ref.attentions, strict=True):
        assert ours.shape == (3, cfg["n_head"], cfg["n_positions"], cfg["n_positions"])
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cfg", TINY_CONFIGS[:2], ids=["a", "b"])
def test_conversion_round_trip(cfg):
    model = GPT(GPTConfig(**cfg)).eval()
    hf = model.to_hf()
    back = GPT.from_hf(hf)
    idx = torch.randint(cfg["vocab_size"], (2, 7))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, model(idx), atol=1e-5, rtol=0)
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    # Hugging Face keeps Conv1D weights as (in, out): the transpose of ours
    assert hf.transformer.h[0].attn.c_attn.weight.shape == (cfg["n_embd"], 3 * cfg["n_embd"])
    assert model.h[0].attn.c_attn.weight.shape == (3 * cfg["n_embd"], cfg["n_embd"])


def test_output_layer_is_tied_to_token_embeddings():
    model = GPT(GPTConfig(**TINY_CONFIGS[0])).eval()
    idx = torch.randint(50, (1, 5))
    x = model.wte(idx) + model.wpe(torch.arange(5))
    for block in model.h:
        x = block(x)
    torch.testing.assert_close(model(idx), model.ln_f(x) @ model.wte.weight.T)
    assert model.wte.weight.data_ptr() == dict(model.named_parameters())["wte.weight"].data_ptr()
    hf = model.to_hf()
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()


def test_changing_later_tokens_leaves_earlier_logits_alone():
    model = GPT(GPTConfig(vocab_size=40, n_positions=20, n_embd=32, n_layer=2, n_head=4)).eval()
    idx = torch.randint(40, (2, 20))
    changed = idx.clone()
    changed[:, 12:] = (changed[:, 12:] + 7) % 40
    with torch.no_grad():
        a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :12], b[:, :12], atol=0, rtol=0)
    assert not torch.allclose(a[:, 12:], b[:, 12:])


def test_bidirectional_model_sees_the_future():
    cfg = GPTConfig(vocab_size=40, n_positions=20, n_embd=32, n_layer=2, n_head=4, causal=False)
    model = GPT(cfg).eval()
    idx = torch.randint(40, (1, 20))
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 40
    with torch.no_grad():
        logits, attn = model(idx, return_attention=True)
        assert not torch.allclose(logits[:, 0], model(changed)[:, 0])
    assert (attn[0][0, :, 0, -1] > 0).all()  # the first token attends to the last one
    with pytest.raises(ValueError, match="bidirectional"):
        model.to_hf()


def test_attention_weights_are_causal_and_sum_to_one():
    model = GPT(GPTConfig(vocab_size=30, n_positions=12, n_embd=16, n_layer=2, n_head=2)).eval()
    _, attn = model(torch.randint(30, (2, 12)), return_attention=True)
    for w in attn:
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 2, 12))
        assert (w.triu(diagonal=1) == 0).all()


def test_gpt2_small_parameter_counts():
    cfg = GPTConfig.gpt2("gpt2")
    assert sum(p.numel() for p in Block(cfg).parameters()) == 7_087_872
    assert GPT(cfg).num_parameters() == 124_439_808  # 117M is the paper's (miscounted) figure


def test_bad_config_and_bad_input_raise_clear_errors():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(n_embd=100, n_head=3)
    with pytest.raises(ValueError, match="not supported"):
        GPTConfig(activation_function="swish")
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.from_dict({"n_embed": 3})
    model = GPT(GPTConfig(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2))
    with pytest.raises(ValueError, match=r"longer than the context \(n_positions = 8\).*idx\[:, -8:\]"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="token id 10 is outside the vocabulary 0..9"):
        model(torch.tensor([[1, 2, 10]]))
    with pytest.raises(ValueError, match="token id -1 is outside"):
        model(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match=r"\(B, T\) tensor"):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="integer token ids"):
        model(torch.zeros(1, 3))


def test_hf_options_we_do_not_implement_are_refused():
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2LMHeadModel(GPT2Config(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2,
                                    scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        GPT.from_hf(hf)


def test_forward_passes_return_one_type_each():
    from helpers import MultiHeadSelfAttention

    cfg = GPTConfig(**TINY_CONFIGS[0])
    model = GPT(cfg).eval()
    idx = torch.randint(cfg.vocab_size, (2, 6))
    x = torch.randn(2, 6, cfg.n_embd)
    block, attn = Block(cfg), MultiHeadSelfAttention(cfg.n_embd, cfg.n_head)
    assert isinstance(model(idx), torch.Tensor)
    assert isinstance(block(x), torch.Tensor) and block(x).shape == x.shape
    assert isinstance(attn(x), torch.Tensor) and attn(x).shape == x.shape
    logits, weights = model(idx, return_attention=True)
    assert isinstance(weights, list) and len(weights) == cfg.n_layer
    y, w = block(x, return_attention=True)
    torch.testing.assert_close(y, block(x))
    assert w.shape == (2, cfg.n_head, 6, 6)
    y, w = attn(x, return_attention=True)
    torch.testing.assert_close(y, attn(x), atol=1e-6, rtol=0)


def test_last_token_only_is_the_last_row_of_the_full_logits():
    model = GPT(GPTConfig(**TINY_CONFIGS[1])).eval()
    idx = torch.randint(97, (3, 9))
    with torch.no_grad():
        full, last = model(idx), model(idx, last_token_only=True)
    assert last.shape == (3, 1, 97)
    torch.testing.assert_close(last, full[:, -1:], atol=1e-6, rtol=0)


def test_transformers_two_names_for_tanh_gelu_build_the_same_block():
    x = torch.randn(2, 4, 24)
    torch.manual_seed(0)
    a = Block(GPTConfig(**TINY_CONFIGS[0], activation_function="gelu_pytorch_tanh"))
    torch.manual_seed(0)
    b = Block(GPTConfig(**TINY_CONFIGS[0]))
    torch.testing.assert_close(a(x), b(x))
    exact = torch.nn.functional.gelu(torch.tensor([-1.0]))
    assert a.mlp.act(torch.tensor([-1.0])) != exact  # the approximation, not the exact GELU


def test_init_weights_is_gpt2s_initialisation():
    model = GPT(GPTConfig(vocab_size=2000, n_positions=64, n_embd=256, n_layer=12, n_head=4))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(3.0)
    model.init_weights()
    assert model.h[0].attn.c_attn.bias.abs().max() == 0 and (model.ln_f.weight == 1).all()
    assert abs(model.wte.weight.std().item() - 0.02) < 1e-3
    assert abs(model.h[5].mlp.c_proj.weight.std().item() - 0.02 / 24**0.5) < 3e-4
