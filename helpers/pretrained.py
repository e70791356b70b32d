"""Weights from and to Hugging Face's GPT2LMHeadModel, real GPT-2, and the shipped model.

Hugging Face stores GPT-2's projections as `Conv1D` layers whose weight is (in, out): the
transpose of `nn.Linear`'s (out, in). That transpose is the only change made when copying.
`transformers` is imported inside the functions, so `import helpers` stays light.
"""

from __future__ import annotations

from pathlib import Path

import torch

from helpers.model import GPT, GPTConfig

GPT2_SIZES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"

# the weights Hugging Face keeps as Conv1D (in, out) and we keep as nn.Linear (out, in)
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def config_from_hf(hf_config) -> GPTConfig:
    """GPTConfig for a `transformers` GPT2Config; refuses options this model does not have."""
    unsupported = {
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "scale_attn_weights": True,
    }
    for name, expected in unsupported.items():
        if getattr(hf_config, name, expected) != expected:
            raise ValueError(f"GPT2Config.{name}={getattr(hf_config, name)} is not supported "
                             f"by helpers.GPT (GPT-2 uses {expected})")
    return GPTConfig(
        vocab_size=hf_config.vocab_size,
        n_positions=hf_config.n_positions,
        n_embd=hf_config.n_embd,
        n_layer=hf_config.n_layer,
        n_head=hf_config.n_head,
        n_inner=hf_config.n_inner,
        layer_norm_epsilon=hf_config.layer_norm_epsilon,
        activation_function=hf_config.activation_function,
    )


def config_to_hf(config: GPTConfig):
    """A `transformers` GPT2Config with this model's sizes (dropout off, eager attention)."""
    from transformers import GPT2Config

    if not config.causal:
        raise ValueError("a bidirectional (causal=False) model has no GPT2LMHeadModel equivalent")
    return GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.n_positions, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, n_inner=config.n_inner,
        layer_norm_epsilon=config.layer_norm_epsilon,
        activation_function=config.activation_function,
        resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        bos_token_id=config.vocab_size - 1, eos_token_id=config.vocab_size - 1,
    )


def gpt_from_hf(hf_model) -> GPT:
    """Copy every weight of a GPT2LMHeadModel into a new `GPT` (Conv1D weights transposed)."""
    model = GPT(config_from_hf(hf_model.config))
    src = {k.removeprefix("transformer."): v for k, v in hf_model.state_dict().items()}
    dst = model.state_dict()
    with torch.no_grad():
        for name, param in dst.items():
            if name not in src:
                raise ValueError(f"GPT2LMHeadModel has no weight for {name!r}")
            w = src[name]
            if name.endswith(_CONV1D):
                w = w.t()
            if w.shape != param.shape:
                raise ValueError(f"shape mismatch for {name}: {tuple(w.shape)} vs {tuple(param.shape)}")
            param.copy_(w)
    lm_head = hf_model.lm_head.weight
    if not torch.equal(lm_head, model.wte.weight):
        raise ValueError("this GPT2LMHeadModel's lm_head is not tied to wte; GPT-2 ties them")
    return model.eval()


def gpt_to_hf(model: GPT):
    """A GPT2LMHeadModel (eager attention, so it can return weights) with this model's weights."""
    from transformers import GPT2LMHeadModel

    hf_config = config_to_hf(model.config)
    hf_config._attn_implementation = "eager"
    hf = GPT2LMHeadModel(hf_config)
    dst = hf.state_dict()
    with torch.no_grad():
        for name, param in model.state_dict().items():
            w = param.t() if name.endswith(_CONV1D) else param
            dst["transformer." + name].copy_(w)
    hf.tie_weights()
    return hf.eval()


def load_pretrained(name: str = "gpt2") -> GPT:
    """Real GPT-2 weights through `transformers`: from the local cache, else from the hub."""
    if name not in GPT2_SIZES:
        raise ValueError(f"unknown model {name!r}; choose one of {GPT2_SIZES}")
    from transformers import GPT2LMHeadModel

    hf = load_from_cache_or_hub(GPT2LMHeadModel, name,
                                f"GPT-2 weights {name!r} are", attn_implementation="eager")
    return gpt_from_hf(hf)


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hugging Face hub answers a TCP connection (False at once when offline)."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_from_cache_or_hub(cls, name: str, what: str, **kwargs):
    """`cls.from_pretrained(name)` from the local cache; from the hub only when it is reachable,
    so an offline machine gets one clear error at once instead of a minute of retries.
    `what` names the thing and its verb for that error, e.g. "GPT-2 weights 'gpt2' are"."""
    load = cls.from_pretrained
    call = f"t.{cls.__name__}.from_pretrained('{name}')"
    hint = (f"{what} not in the Hugging Face cache and the hub is not reachable. Run once where "
            f"there is network: python -c \"import transformers as t; {call}\" (or point HF_HOME "
            f"at a cache that has them).")
    try:
        return load(name, local_files_only=True, **kwargs)
    except (OSError, ValueError):
        pass
    if not hub_reachable():
        raise OSError(hint)
    try:
        return load(name, **kwargs)
    except (OSError, ValueError) as e:
        raise OSError(f"{hint} ({type(e).__name__}: {e})") from None


def pretrained_available(name: str = "gpt2") -> bool:
    """True when GPT-2 weights `name` are in the local Hugging Face cache (no network used)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id=f"openai-community/{name}", filename=filename)
        found = found or try_to_load_from_cache(repo_id=name, filename=filename)
        if isinstance(found, str):
            return True
    return False


def load_default_model(path: str | Path | None = None):
    """The model shipped with the series and its tokenizer: (GPT in eval mode, tokenizer).

    Trained on the first 90% of Tiny Shakespeare by `python -m helpers.train` (see README);
    loads from disk, no network.
    """
    from helpers.train import load_checkpoint

    model, tokenizer, _ = load_checkpoint(path or DEFAULT_MODEL_DIR)
    return model.eval(), tokenizer
