"""Tokenizers: text <-> token ids.

- `CharTokenizer`: one token per character seen in the corpus (simple, tiny vocabulary).
- `BPETokenizer`: byte-level byte-pair encoding, GPT-2's scheme, trained with the
  `tokenizers` library; any text round-trips, Chinese included, because it works on bytes.
- `load_gpt2_tokenizer()`: GPT-2's own 50,257-token tokenizer, when cached or online.

All share `encode(str) -> list[int]`, `decode(list[int]) -> str`, `vocab_size`, `save(path)`,
and `tokens(str) -> list[str]` (the pieces, for labelling plots).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from helpers.hub import load_from_cache_or_hub


class Tokenizer:
    """What every tokenizer here shares: id checking, `decode`, `tokens` and `save`.

    A subclass gives `kind`, `vocab_size`, `encode`, `_decode_checked` and `to_dict`.
    """

    kind = ""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def _decode_checked(self, idx: list[int]) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError

    def _check_text(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}; "
                            "decode turns token ids back into text")

    def decode(self, idx: Iterable[int]) -> str:
        """Token ids -> text; ids outside 0..vocab_size - 1 raise a ValueError naming them."""
        idx = [int(i) for i in idx]
        bad = [i for i in idx if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"token ids {bad[:5]} are outside 0..{self.vocab_size - 1}")
        return self._decode_checked(idx)

    def tokens(self, text: str) -> list[str]:
        """Each token of `text` as the text it stands for (for labelling plots)."""
        return [self.decode([i]) for i in self.encode(text)]

    def save(self, path: str | Path) -> None:
        """Write `to_dict()` as JSON; `load_tokenizer(path)` reads it back."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")


class CharTokenizer(Tokenizer):
    """One id per distinct character, in sorted order. Characters it never saw raise a
    ValueError that names them (there is no unknown-character token)."""

    kind = "char"

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = sorted(set(chars))
        if not self.chars:
            raise ValueError("CharTokenizer needs at least one character")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        self._check_text(text)
        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            raise ValueError(
                f"characters {unknown!r} are not in this tokenizer's vocabulary of "
                f"{self.vocab_size}; use only characters from its training text"
            ) from None

    def _decode_checked(self, idx: list[int]) -> str:
        return "".join(self.chars[i] for i in idx)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": "".join(self.chars)}


class BPETokenizer(Tokenizer):
    """Byte-level BPE (GPT-2's scheme) backed by a `tokenizers.Tokenizer`."""

    kind = "bpe"

    def __init__(self, backend) -> None:
        self.backend = backend  # a tokenizers.Tokenizer

    @classmethod
    def train(
        cls, texts: str | Iterable[str], vocab_size: int = 1024, min_frequency: int = 2
    ) -> BPETokenizer:
        """Learn merges on `texts` until the vocabulary has `vocab_size` tokens.

        Starts from the 256 byte symbols, so no text is ever out of vocabulary.
        """
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if vocab_size < 257:
            raise ValueError(f"vocab_size must be at least 257 (256 bytes + 1), got {vocab_size}")
        if isinstance(texts, str):
            texts = [texts]
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Any text encodes: it is split into bytes first (a split character's pieces decode
        to '�' one by one; `tokens` shows their bytes)."""
        self._check_text(text)
        return self.backend.encode(text).ids

    def _decode_checked(self, idx: list[int]) -> str:
        return self.backend.decode(idx)

    def tokens(self, text: str) -> list[str]:
        """Each token of `text` as the text it stands for. Bytes that are only part of a
        character (a Chinese character split over tokens) are shown in hexadecimal, `<e8>`,
        where decoding the token alone would give '�' and hide which bytes it holds."""
        data, start, shown = text.encode("utf-8"), 0, []
        for i in self.encode(text):
            n = len(self.backend.id_to_token(i))  # one stand-in character per byte
            shown.append(_readable(data[start:start + n]))
            start += n
        return shown

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tokenizer": json.loads(self.backend.to_str())}


def _readable(data: bytes) -> str:
    """UTF-8 bytes as text, with the bytes that do not form a whole character in hexadecimal:
    b"\\xe8\\x87" -> "<e8 87>"."""
    shown, loose, i = [], [], 0
    while i < len(data):
        for n in (1, 2, 3, 4):  # a UTF-8 character is 1 to 4 bytes long
            try:
                character = data[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if loose:
                shown.append(f"<{' '.join(loose)}>")
                loose = []
            shown.append(character)
            i += n
            break
        else:
            loose.append(f"{data[i]:02x}")
            i += 1
    if loose:
        shown.append(f"<{' '.join(loose)}>")
    return "".join(shown)


class HFTokenizer(Tokenizer):
    """A `transformers` tokenizer (GPT-2's own) behind the same small interface. Saving it
    records its name; loading it again needs the Hugging Face cache (or the hub)."""

    kind = "hf"

    def __init__(self, hf_tokenizer, name: str = "gpt2") -> None:
        self.hf = hf_tokenizer
        self.name = name

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    def encode(self, text: str) -> list[int]:
        self._check_text(text)
        return self.hf.encode(text)

    def _decode_checked(self, idx: list[int]) -> str:
        return self.hf.decode(idx)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name}


def load_gpt2_tokenizer(name: str = "gpt2") -> HFTokenizer:
    """GPT-2's tokenizer via `transformers`, from the local cache or the hub; clear error offline."""
    from transformers import AutoTokenizer

    tokenizer = HFTokenizer(load_from_cache_or_hub(AutoTokenizer, name,
                                                   f"GPT-2's tokenizer {name!r} is"), name)
    if tokenizer.vocab_size != 50_257:  # e.g. a cache with the model's files but not these
        raise ValueError(
            f"GPT-2's tokenizer {name!r} loaded with {tokenizer.vocab_size:,} tokens, not 50,257: "
            f"its files (tokenizer.json, or vocab.json and merges.txt) are not in the Hugging Face "
            f"cache. Run once where there is network: python -c \"import transformers as t; "
            f"t.AutoTokenizer.from_pretrained('{name}')\"")
    return tokenizer


def tokenizer_from_dict(d: dict) -> Tokenizer:
    """Rebuild a tokenizer saved by `save()`/`to_dict()`."""
    kind = d.get("kind")
    if kind == "char":
        return CharTokenizer(d["chars"])
    if kind == "bpe":
        from tokenizers import Tokenizer as Backend

        return BPETokenizer(Backend.from_str(json.dumps(d["tokenizer"])))
    if kind == "hf":
        return load_gpt2_tokenizer(d["name"])
    raise ValueError(f"unknown tokenizer kind {kind!r}; expected 'char', 'bpe' or 'hf'")


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer file written by `save()`."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"tokenizer file {path} is not valid JSON ({e}); re-save it") from None
    return tokenizer_from_dict(d)
