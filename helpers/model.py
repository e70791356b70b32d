"""GPT-2: configuration, MLP, decoder block and the whole model, top to bottom.

Names follow GPT-2 / Hugging Face (`wte`, `wpe`, `h`, `ln_1`, `c_attn`, ...) so every
parameter maps one to one onto the real model's weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from helpers import pretrained
from helpers.attention import MultiHeadSelfAttention
from helpers.kv_cache import KVCache

# activation name (as in GPT2Config) -> a module; GPT-2 uses GELU's tanh approximation
ACTIVATIONS = {
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu": nn.GELU,  # exact GELU (erf), as in BERT and nanoGPT
}
ACTIVATION_ALIASES = {"gelu_pytorch_tanh": "gelu_new"}  # transformers' second name for it

# the four published GPT-2 shapes (all share vocab_size 50,257 and n_positions 1,024)
GPT2_SHAPES = {
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768),  # 124M
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),  # 355M
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),  # 774M
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),  # 1.5B
}


@dataclass
class GPTConfig:
    """Sizes of a GPT-2 model; defaults are GPT-2 small (124M parameters)."""

    vocab_size: int = 50257
    n_positions: int = 1024  # context length: the most tokens the model sees at once
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None  # MLP width; None means 4 * n_embd
    layer_norm_epsilon: float = 1e-5
    activation_function: str = "gelu_new"
    dropout: float = 0.0  # embedding, attention and residual dropout (transformers' default is
    # 0.1, GPT-1's rate; the GPT-2 paper gives none and OpenAI's released code has no dropout)
    causal: bool = True  # False gives a bidirectional encoder (BERT-style), used in notebook 01

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): each head "
                f"gets n_embd / n_head dimensions; try n_head in "
                f"{[h for h in range(1, 17) if self.n_embd % h == 0]}"
            )
        if activation_name(self.activation_function) not in ACTIVATIONS:
            raise ValueError(
                f"activation_function {self.activation_function!r} is not supported; "
                f"use one of {sorted(ACTIVATIONS) + sorted(ACTIVATION_ALIASES)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GPTConfig:
        """Build from a dict, rejecting unknown keys so a typo is not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    @classmethod
    def gpt2(cls, size: str = "gpt2") -> GPTConfig:
        """The published shapes: 'gpt2' (124M), 'gpt2-medium', 'gpt2-large', 'gpt2-xl'."""
        if size not in GPT2_SHAPES:
            raise ValueError(f"unknown GPT-2 size {size!r}; choose one of {list(GPT2_SHAPES)}")
        return cls(**GPT2_SHAPES[size])


def out_of_vocabulary(token_id: int, vocab_size: int) -> str:
    """The error for a token id the model has no embedding for, with the fix."""
    return (f"token id {token_id} is outside the vocabulary 0..{vocab_size - 1}; "
            "encode text with the tokenizer that belongs to this model")


def activation_name(name: str) -> str:
    """The canonical name of an activation (transformers has two names for tanh-GELU)."""
    return ACTIVATION_ALIASES.get(name, name)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Switch `model` to eval mode (no dropout) inside the block; restore its mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class MLP(nn.Module):
    """Position-wise feed-forward: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, inner)
        self.act = ACTIVATIONS[activation_name(config.activation_function)]()
        self.c_proj = nn.Linear(inner, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))  # (B, T, C)


class Block(nn.Module):
    """One decoder block, pre-LayerNorm: x + attn(ln_1(x)), then x + mlp(ln_2(x)).

    `layer_idx` is the block's place in the stack; it names the block's slot in a KV cache.
    """

    def __init__(self, config: GPTConfig, layer_idx: int | None = None) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = MultiHeadSelfAttention(
            config.n_embd, config.n_head, config.dropout, causal=config.causal, layer_idx=layer_idx
        )
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        kv_cache: KVCache | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> (B, T, C); with return_attention, (x, weights (B, n_head, T, T_k))."""
        a = self.attn(self.ln_1(x), kv_cache, return_attention)
        a, weights = a if return_attention else (a, None)
        x = x + a  # the residual stream: blocks add to it, never replace it
        x = x + self.mlp(self.ln_2(x))
        return (x, weights) if return_attention else x


class GPT(nn.Module):
    """GPT-2: token + position embeddings, n_layer blocks, final LayerNorm, tied output layer."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)  # learned positions
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config, layer_idx=i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """GPT-2's initialisation as `transformers` and nanoGPT do it: N(0, 0.02) weights and
        embeddings, zero biases, unit LayerNorms, and the projections into the residual stream
        scaled by 1/sqrt(2 n_layer). (OpenAI's released code drew `wpe` with std 0.01.)"""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # one attention and one MLP add per block
                nn.init.normal_(p, mean=0.0, std=0.02 / (2 * self.config.n_layer) ** 0.5)

    def num_parameters(self) -> int:
        """Parameters counted once (the output layer shares `wte`, so it adds nothing)."""
        return sum(p.numel() for p in self.parameters())

    def check_input(self, idx: torch.Tensor, past_length: int = 0) -> None:
        """Raise a ValueError that names the problem and the fix for input the model cannot take."""
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
            got = f"shape {tuple(idx.shape)}" if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(f"idx must be a (B, T) tensor of token ids, got {got}; "
                             "for one sequence use idx[None] or torch.tensor([ids])")
        if idx.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
            raise ValueError(f"idx must hold integer token ids, got dtype {idx.dtype}; "
                             "use torch.tensor(ids, dtype=torch.long)")
        T = idx.size(1)
        if T == 0:
            raise ValueError("idx is empty (T = 0); give at least one token")
        n = self.config.n_positions
        if past_length > 0 and past_length + T > n:  # a KV cache in use: cropping idx is no fix
            raise ValueError(
                f"the KV cache already holds {past_length} tokens and idx brings {T} more: "
                f"{past_length} + {T} = {past_length + T} is longer than the context "
                f"(n_positions = {n}). With a cache, pass only the new tokens; once the cache "
                f"is full, recompute the latest window without one, model(seq[:, -{n}:]) for "
                "the whole sequence seq, or start a new cache (notebook 10)"
            )
        if past_length + T > n:
            raise ValueError(
                f"sequence of {past_length + T} tokens is longer than the context "
                f"(n_positions = {self.config.n_positions}); crop it to the last "
                f"{self.config.n_positions} tokens, e.g. idx[:, -{self.config.n_positions}:]"
            )
        if idx.device.type == "cpu":  # on a GPU this check would wait for the device each call;
            # there the trainer checks its corpus once (helpers.train), and an id out of range
            # fails inside the embedding
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.config.vocab_size:
                raise ValueError(out_of_vocabulary(lo if lo < 0 else hi, self.config.vocab_size))

    def forward(
        self,
        idx: torch.Tensor,
        return_attention: bool = False,
        *,
        kv_cache: KVCache | None = None,
        last_token_only: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """idx (B, T) -> logits (B, T, vocab_size).

        return_attention=True returns (logits, attentions): one (B, n_head, T, T_k) weight
        tensor per layer. With a `kv_cache`, idx holds only the new tokens and the cache
        supplies (and stores) the keys and values of earlier ones. last_token_only=True computes
        the output layer for the last position only, (B, 1, vocab_size): all that generation
        needs, and the output layer is GPT-2 small's largest matrix product.
        """
        past = kv_cache.length if kv_cache is not None else 0
        self.check_input(idx, past)
        B, T = idx.shape
        pos = torch.arange(past, past + T, device=idx.device)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C) + (T, C) -> (B, T, C)
        attentions = []
        for block in self.h:
            if return_attention:
                x, weights = block(x, kv_cache, return_attention=True)
                attentions.append(weights)
            else:
                x = block(x, kv_cache)
        x = self.ln_f(x)  # (B, T, C)
        if last_token_only:
            x = x[:, -1:, :]  # (B, 1, C)
        logits = F.linear(x, self.wte.weight)  # tied output layer: x @ wte^T -> (B, T, V)
        return (logits, attentions) if return_attention else logits

    def new_kv_cache(self, batch_size: int, n_positions: int | None = None) -> KVCache:
        """An empty cache for `batch_size` sequences of up to `n_positions` tokens (default:
        the whole context)."""
        c = self.config
        p = self.wte.weight
        return KVCache(c.n_layer, batch_size, c.n_head, n_positions or c.n_positions, c.head_dim,
                       dtype=p.dtype, device=p.device)

    # -- Hugging Face: the same weights in transformers' GPT2LMHeadModel, both ways --------

    @classmethod
    def from_hf(cls, hf_model) -> GPT:
        """Exact copy of a `transformers` GPT2LMHeadModel's weights (eval mode)."""
        model = cls(GPTConfig(**pretrained.config_kwargs_from_hf(hf_model.config)))
        weights = pretrained.state_dict_from_hf(hf_model.state_dict())
        expected = model.state_dict()
        if set(weights) != set(expected):
            raise ValueError(f"GPT2LMHeadModel weights do not match: missing "
                             f"{sorted(set(expected) - set(weights))[:3]}, unexpected "
                             f"{sorted(set(weights) - set(expected))[:3]}")
        for name, w in weights.items():
            if w.shape != expected[name].shape:
                raise ValueError(f"shape mismatch for {name}: {tuple(w.shape)} vs "
                                 f"{tuple(expected[name].shape)}")
        model.load_state_dict(weights)
        return model.eval()

    def to_hf(self):
        """A `transformers` GPT2LMHeadModel (eager attention) holding exactly these weights."""
        from transformers import GPT2LMHeadModel

        hf = GPT2LMHeadModel(pretrained.config_to_hf(self.config))
        hf.load_state_dict(pretrained.state_dict_to_hf(self.state_dict()))
        hf.tie_weights()
        return hf.eval()

    @classmethod
    def from_pretrained(cls, name: str = "gpt2") -> GPT:
        """Real GPT-2 weights ('gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl') via transformers,
        when they are cached or the hub is reachable; one clear error otherwise."""
        if name not in GPT2_SHAPES:
            raise ValueError(f"unknown model {name!r}; choose one of {list(GPT2_SHAPES)}")
        return cls.from_hf(pretrained.load_hf_gpt2(name))
