"""Weights from and to Hugging Face's GPT2LMHeadModel, and real GPT-2 from the hub.

Hugging Face stores GPT-2's projections as `Conv1D` layers whose weight is (in, out): the
transpose of `nn.Linear`'s (out, in). That transpose is the only change made when copying.
This module works on configs and state dicts only; `GPT.from_hf`, `GPT.to_hf` and
`GPT.from_pretrained` (in `helpers.model`) use it. `transformers` is imported inside the
functions, so `import helpers` stays light.
"""

from __future__ import annotations

import torch

from helpers.hub import load_from_cache_or_hub

# the weights Hugging Face keeps as Conv1D (in, out) and we keep as nn.Linear (out, in)
CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def config_kwargs_from_hf(hf_config) -> dict:
    """GPTConfig arguments for a `transformers` GPT2Config; refuses options GPT-2 does not use."""
    gpt2_values = {
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "scale_attn_weights": True,
    }
    for name, expected in gpt2_values.items():
        if getattr(hf_config, name, expected) != expected:
            raise ValueError(f"GPT2Config.{name}={getattr(hf_config, name)} is not supported "
                             f"by helpers.GPT (GPT-2 uses {expected})")
    return dict(
        vocab_size=hf_config.vocab_size,
        n_positions=hf_config.n_positions,
        n_embd=hf_config.n_embd,
        n_layer=hf_config.n_layer,
        n_head=hf_config.n_head,
        n_inner=hf_config.n_inner,
        layer_norm_epsilon=hf_config.layer_norm_epsilon,
        activation_function=hf_config.activation_function,
    )


def config_to_hf(config):
    """A `transformers` GPT2Config with a GPTConfig's sizes (eager attention, so it can return
    its weights)."""
    from transformers import GPT2Config

    if not config.causal:
        raise ValueError("a bidirectional (causal=False) model has no GPT2LMHeadModel equivalent")
    hf_config = GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.n_positions, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, n_inner=config.n_inner,
        layer_norm_epsilon=config.layer_norm_epsilon,
        activation_function=config.activation_function,
        resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        bos_token_id=config.vocab_size - 1, eos_token_id=config.vocab_size - 1,
    )
    hf_config._attn_implementation = "eager"
    return hf_config


def state_dict_from_hf(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GPT2LMHeadModel's weights under this project's names (Conv1D weights transposed).

    `lm_head.weight` is dropped after checking it is `wte` (GPT-2 ties the two)."""
    out = {}
    for name, w in hf_state.items():
        if name == "lm_head.weight":
            continue
        name = name.removeprefix("transformer.")
        if name.endswith(".attn.bias") or name.endswith(".attn.masked_bias"):
            continue  # old transformers versions stored the causal mask as a buffer
        out[name] = w.t() if name.endswith(CONV1D_WEIGHTS) else w
    if "lm_head.weight" in hf_state and not torch.equal(hf_state["lm_head.weight"], out["wte.weight"]):
        raise ValueError("this GPT2LMHeadModel's lm_head is not tied to wte; GPT-2 ties them")
    return out


def state_dict_to_hf(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This project's weights under GPT2LMHeadModel's names (Conv1D weights transposed), with
    `lm_head.weight` as `wte.weight`: the tied output layer."""
    out = {"transformer." + name: (w.t() if name.endswith(CONV1D_WEIGHTS) else w)
           for name, w in state.items()}
    out["lm_head.weight"] = state["wte.weight"]
    return out


def load_hf_gpt2(name: str):
    """Real GPT-2 as a `transformers` GPT2LMHeadModel: from the local cache, else the hub."""
    from transformers import GPT2LMHeadModel

    return load_from_cache_or_hub(GPT2LMHeadModel, name, f"GPT-2 weights {name!r} are",
                                  attn_implementation="eager")
