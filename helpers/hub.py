"""The Hugging Face cache and hub: load when cached or online, one clear line otherwise.

Used for the optional real GPT-2 weights and GPT-2's tokenizer. Nothing here runs unless
asked for, and nothing waits on a network that is not there.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hugging Face hub answers a TCP connection (False at once when offline)."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def not_available_message(what: str, cls_name: str, name: str) -> str:
    """The one line that says what is missing and how to get it once."""
    call = f"t.{cls_name}.from_pretrained('{name}')"
    return (f"{what} not in the Hugging Face cache and the hub is not reachable. Run once where "
            f"there is network: python -c \"import transformers as t; {call}\" (or point HF_HOME "
            f"at a cache that has them).")


def load_from_cache_or_hub(cls, name: str, what: str, **kwargs):
    """`cls.from_pretrained(name)` from the local cache; from the hub only when it is reachable,
    so an offline machine gets one clear error at once instead of a minute of retries.
    `what` names the thing and its verb for that error, e.g. "GPT-2 weights 'gpt2' are"."""
    hint = not_available_message(what, cls.__name__, name)
    try:
        return cls.from_pretrained(name, local_files_only=True, **kwargs)
    except (OSError, ValueError):
        pass
    if not hub_reachable():
        raise OSError(hint)
    try:
        return cls.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as e:
        raise OSError(f"{hint} ({type(e).__name__}: {e})") from None


def gpt2_not_available_message(name: str = "gpt2") -> str:
    """The one line for real GPT-2 when it is not cached: it takes two downloads, the weights and
    the tokenizer (the model's `from_pretrained` does not fetch the tokenizer's files)."""
    calls = f"t.GPT2LMHeadModel.from_pretrained('{name}'); t.AutoTokenizer.from_pretrained('{name}')"
    return (f"GPT-2 {name!r} (its weights and its tokenizer) is not in the Hugging Face cache. Run "
            f"once where there is network: python -c \"import transformers as t; {calls}\" (or "
            f"point HF_HOME at a cache that has them).")


def _cached(name: str, filename: str) -> bool:
    """True when file `filename` of GPT-2 `name` is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(repo_id=repo, filename=filename), str)
               for repo in (f"openai-community/{name}", name))


def pretrained_available(name: str = "gpt2") -> bool:
    """True when GPT-2 `name` is in the local Hugging Face cache (no network used): its weights
    and its tokenizer (tokenizer.json, or vocab.json and merges.txt), since the notebooks use both."""
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return False
    weights = any(_cached(name, f) for f in ("model.safetensors", "pytorch_model.bin"))
    tokenizer = _cached(name, "tokenizer.json") or all(_cached(name, f)
                                                       for f in ("vocab.json", "merges.txt"))
    return weights and tokenizer
