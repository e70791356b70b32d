"""GPT-2, step by step: the reusable model code the notebooks build and then import.

Three layers, and the folders show them:
1. the model and its training, the modules here (attention, kv_cache, model, tokenizer,
   sampling, objectives, data, train, checkpoint, pretrained, hub, distributed, music);
2. pictures, `helpers.viz`, which import layer 1;
3. notebook glue, `helpers.notebook` (explorers, hints, set-up), which imports both.

`import helpers` only imports: it loads torch, safetensors and the standard library, changes no
state, and leaves `transformers`, `tokenizers`, matplotlib and ipywidgets to the functions that
need them.
"""

from helpers.attention import (
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
from helpers.kv_cache import KVCache
from helpers.model import GPT, MLP, Block, GPTConfig, eval_mode
from helpers.sampling import (
    apply_temperature,
    beam_search,
    generate,
    next_token_distribution,
    no_repeat_ngram_filter,
    sequence_logprob,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "GPT", "GPTConfig", "Block", "MLP", "MultiHeadSelfAttention", "KVCache", "eval_mode",
    "causal_mask", "full_mask", "padding_mask", "prefix_lm_mask", "sliding_window_mask",
    "self_attention", "generate", "beam_search", "top_k_filter", "top_p_filter",
    "apply_temperature", "next_token_distribution", "sequence_logprob", "no_repeat_ngram_filter",
    "load_default_model", "load_checkpoint", "save_checkpoint", "CheckpointError",
    "pretrained_available",
]
