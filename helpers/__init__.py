"""GPT-2, step by step: the reusable model code the notebooks build and then import.

`import helpers` loads only torch, safetensors and the standard library; `transformers`,
`tokenizers`, matplotlib and ipywidgets are imported by the functions that need them.
"""

from helpers.attention import (
    KVCache,
    MultiHeadSelfAttention,
    causal_mask,
    full_mask,
    padding_mask,
    prefix_lm_mask,
    self_attention,
    sliding_window_mask,
)
from helpers.checkpoint import CheckpointError, load_checkpoint, load_default_model, save_checkpoint
from helpers.hub import pretrained_available
from helpers.model import GPT, MLP, Block, GPTConfig, eval_mode
from helpers.notebook import install_cell_hints
from helpers.sampling import (
    apply_temperature,
    beam_search,
    generate,
    next_token_distribution,
    sequence_logprob,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "GPT", "GPTConfig", "Block", "MLP", "MultiHeadSelfAttention", "KVCache", "eval_mode",
    "causal_mask", "full_mask", "padding_mask", "prefix_lm_mask", "sliding_window_mask",
    "self_attention", "generate", "beam_search", "top_k_filter", "top_p_filter",
    "apply_temperature", "next_token_distribution", "sequence_logprob",
    "load_default_model", "load_checkpoint", "save_checkpoint", "CheckpointError",
    "pretrained_available",
]

install_cell_hints()  # in a notebook, a NameError says which earlier cell defines the name
