"""helpers.linear: the same numbers as F.linear, oneDNN only where it is meant to be used,
autograd untouched, and a switch that turns it off."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import helpers.linear as hl
from helpers import GPT, GPTConfig, generate

needs_onednn = pytest.mark.skipif(not hl.onednn_active(),
                                  reason="oneDNN's linear kernel is not used on this machine")


@pytest.fixture
def calls(monkeypatch) -> list[tuple[int, ...]]:
    """Record the weight shape of every product that goes to oneDNN."""
    seen: list[tuple[int, ...]] = []
    real = hl._onednn_linear

    def spy(x, weight, bias):
        seen.append(tuple(weight.shape))
        return real(x, weight, bias)

    monkeypatch.setattr(hl, "_onednn_linear", spy)
    return seen


def big(out_features: int = 1024, in_features: int = 768) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(out_features, in_features, generator=g) * 0.02,
            torch.randn(out_features, generator=g))


@needs_onednn
@pytest.mark.parametrize("shape", [(1, 768), (1, 1, 768), (2, 5, 768), (3, 768)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_same_numbers_as_f_linear_through_onednn(calls, shape, with_bias):
    weight, bias = big()
    bias = bias if with_bias else None
    x = torch.randn(shape)
    with torch.no_grad():
        y = hl.linear(x, weight, bias)
    assert calls == [(1024, 768)]
    assert y.shape == F.linear(x, weight, bias).shape
    torch.testing.assert_close(y, F.linear(x, weight, bias), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_strided_input_the_last_position_of_a_sequence(calls):
    weight, _ = big()
    x = torch.randn(2, 7, 768)[:, -1:, :]  # what last_token_only passes to the output layer
    with torch.no_grad():
        torch.testing.assert_close(hl.linear(x, weight), F.linear(x, weight), rtol=1e-5, atol=1e-5)
    assert calls == [(1024, 768)]


def test_small_weights_keep_f_linear(calls):
    """Below MIN_ONEDNN_WEIGHTS oneDNN's fixed cost per call outweighs what it saves."""
    weight = torch.randn(576, 192)  # the shipped model's c_attn
    with torch.no_grad():
        x = torch.randn(4, 192)
        assert torch.equal(hl.linear(x, weight), F.linear(x, weight))
    assert calls == []


def test_autograd_keeps_f_linear_and_its_backward(calls):
    """A call autograd records must not go to oneDNN: PyTorch has no backward for that op."""
    layer = hl.Linear(768, 1024)
    reference = nn.Linear(768, 1024)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(3, 768, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    layer(x).square().sum().backward()
    reference(x_ref).square().sum().backward()
    assert calls == []
    assert torch.equal(x.grad, x_ref.grad)
    assert torch.equal(layer.weight.grad, reference.weight.grad)
    assert torch.equal(layer.bias.grad, reference.bias.grad)


@needs_onednn
def test_no_grad_and_inference_mode_use_onednn(calls):
    layer = hl.Linear(768, 1024)
    with torch.no_grad():
        layer(torch.randn(1, 768))
    with torch.inference_mode():
        layer(torch.randn(1, 768))
    assert calls == [(1024, 768), (1024, 768)]


def test_linear_is_an_nn_linear_with_the_same_state_dict():
    layer = hl.Linear(8, 3)
    assert isinstance(layer, nn.Linear)
    assert set(layer.state_dict()) == {"weight", "bias"}
    assert repr(layer) == repr(nn.Linear(8, 3))  # printed models read as before


def test_switch_turns_onednn_off_and_restores_it(calls):
    weight, bias = big()
    before = hl.onednn_active()
    with torch.no_grad(), hl.onednn(False):
        assert not hl.onednn_active()
        hl.linear(torch.randn(1, 768), weight, bias)
    assert calls == []
    assert hl.onednn_active() == before
    with pytest.raises(KeyError), hl.onednn(False):
        raise KeyError("an error inside the block")
    assert hl.onednn_active() == before


def test_non_x86_machines_use_f_linear(calls, monkeypatch):
    monkeypatch.setattr(hl, "_X86", False)
    weight, _ = big()
    with torch.no_grad():
        x = torch.randn(1, 768)
        assert torch.equal(hl.linear(x, weight), F.linear(x, weight))
    assert calls == [] and not hl.onednn_active()


@needs_onednn
def test_environment_variable_turns_it_off():
    code = "import helpers.linear as hl; print(hl.onednn_active())"
    env = dict(os.environ, HELPERS_ONEDNN="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


@needs_onednn
def test_model_generates_the_same_tokens_either_way(calls):
    """A model whose output layer is large enough for oneDNN (5,000 x 128) generates the same
    greedy tokens, and logits equal to rounding, with and without it."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5000, n_positions=64, n_embd=128, n_layer=2, n_head=4)).eval()
    prompt = torch.randint(0, 5000, (2, 6))
    with torch.no_grad():
        fast_logits = model(prompt)
        fast = generate(model, prompt, 12, do_sample=False)
    assert (5000, 128) in calls
    with torch.no_grad(), hl.onednn(False):
        plain_logits = model(prompt)
        plain = generate(model, prompt, 12, do_sample=False)
    torch.testing.assert_close(fast_logits, plain_logits, rtol=1e-4, atol=1e-4)
    assert torch.equal(fast, plain)


@needs_onednn
def test_a_strided_bias_keeps_f_linear(calls):
    """oneDNN misreads a bias that is not contiguous (an every-other slice, an expanded one)."""
    weight, _ = big()
    x = torch.randn(2, 768)
    with torch.no_grad():
        for bias in (torch.randn(2048)[::2], torch.randn(1).expand(1024)):
            torch.testing.assert_close(hl.linear(x, weight, bias), F.linear(x, weight, bias))
    assert calls == []


def test_forward_mode_autograd_and_torch_func_keep_their_derivatives(calls):
    import torch.autograd.forward_ad as fwAD

    weight, bias = big()
    x, tangent = torch.randn(2, 768), torch.randn(2, 768)
    with torch.no_grad(), fwAD.dual_level():
        out = hl.linear(fwAD.make_dual(x, tangent), weight, bias)
        torch.testing.assert_close(fwAD.unpack_dual(out).tangent, F.linear(tangent, weight))
    grad = torch.func.grad(lambda w: hl.linear(x, w, bias).square().sum())(weight)
    torch.testing.assert_close(grad, torch.func.grad(lambda w: F.linear(x, w, bias).square().sum())(weight))
    assert calls == []


@needs_onednn
def test_pytorchs_own_onednn_switch_is_obeyed(calls):
    weight, bias = big()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch warns about TF32 on Intel GPUs when flags change
        with torch.backends.mkldnn.flags(enabled=False):
            assert not hl.onednn_active()
            hl.linear(torch.randn(1, 768), weight, bias)
    assert calls == []


@needs_onednn
def test_the_switch_holds_for_its_own_thread_only():
    import threading

    seen = []
    with hl.onednn(False):
        worker = threading.Thread(target=lambda: seen.append(hl.onednn_active()))
        worker.start()
        worker.join()
        assert not hl.onednn_active()
    assert seen == [True]
