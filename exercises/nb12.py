"""Checks for notebook 12 (applications): `from exercises import nb12 as check`.

Every check builds its own inputs (other documents, other model shapes, other pitches and
sample rates, other melodies) and recomputes the expected result, so a hard-coded answer fails.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from exercises import Wrong, call, exercise, reference, require
from helpers import GPT, GPTConfig, music

# --- exercise 1: a reading-comprehension prompt ------------------------------------------

QA_CASES = (
    ("The ship left the harbour at dawn. Its captain was Ann Hale.",
     [("When did the ship leave?", "at dawn")], "Who was the captain?"),
    ("Bees visit flowers for nectar.", [], "What do bees look for?"),
    ("Tom has a red bike and a blue kite.\nHe rides the bike to school.",
     [("What colour is the bike?", "red"), ("And the kite?", "blue")], "Where does he ride?"),
)


@reference
def _qa_expected(document: str, history, question: str) -> str:
    turns = "".join(f"Q: {q}\nA: {a}\n" for q, a in history)
    return f"{document}\n\n{turns}Q: {question}\nA:"


@exercise("12", 1)
def exercise_1(qa_prompt: Callable) -> None:
    """qa_prompt(document, history, question): the document, a blank line, the earlier turns as
    'Q: ...' / 'A: ...' lines, then 'Q: question' and a last line 'A:'."""
    for document, history, question in QA_CASES:
        got = call(qa_prompt, document, list(history), question)
        require(isinstance(got, str), f"return the prompt as a str, got {type(got).__name__}")
        want = _qa_expected(document, history, question)
        if got == want:
            continue
        require(not got.endswith(" "), "end with 'A:' and nothing after it, not even a space: "
                "the model chooses what comes next, the space included")
        require(not got.startswith(want), "stop right after the last 'A:': the model writes "
                "the answer")
        require(got.endswith("\nA:"), "the prompt should end with a line 'A:', the cue that an "
                "answer comes next")
        require(got.startswith(document + "\n\n"), "start with the document as given, then one "
                "blank line")
        for q, a in history:
            require(f"Q: {q}\nA: {a}\n" in got, "each earlier turn is two lines, 'Q: question' "
                    "and 'A: answer', in the order they were asked")
        require(f"Q: {question}\nA:" in got, "the new question goes last, as 'Q: question', "
                "followed by the line 'A:'")
        raise Wrong("close, but not the same text; print repr(qa_prompt(...)) and compare the "
                    "line breaks with the format in the exercise")


# --- exercise 2: fine-tune only the top of the model ---------------------------------------


@reference
def _trainable_names(model: GPT, n_layer: int, n: int) -> set[str]:
    top = tuple(f"h.{i}." for i in range(n_layer - n, n_layer))
    return {name for name, _ in model.named_parameters()
            if name.startswith(top) or name.startswith("ln_f.")}


@exercise("12", 2)
def exercise_2(freeze_all_but_last: Callable) -> None:
    """freeze_all_but_last(model, n): only the last n blocks and ln_f keep requires_grad;
    returns the number of trainable parameters."""
    for n_layer, n, seed in ((3, 1, 0), (4, 2, 1), (2, 2, 2), (5, 3, 3), (3, 0, 4)):
        torch.manual_seed(seed)
        model = GPT(GPTConfig(vocab_size=17, n_positions=8, n_embd=12, n_layer=n_layer, n_head=2))
        count = call(freeze_all_but_last, model, n)
        trainable = {name for name, p in model.named_parameters() if p.requires_grad}
        want = _trainable_names(model, n_layer, n)
        if trainable != want:
            require(trainable != {name for name, _ in model.named_parameters()},
                    "nothing was frozen: set requires_grad = False on the parameters that "
                    "should not change")
            require("wte.weight" not in trainable, "wte is also the output layer (the weights are "
                    "tied), so training it changes the input and the output of every token: "
                    "keep it frozen here")
            require("wpe.weight" not in trainable, "the position embeddings stay frozen too")
            require("ln_f.weight" in trainable, "ln_f sits after the last block and feeds the "
                    "output layer: keep it trainable")
            wrong = sorted({name.split(".")[1] for name in trainable ^ want if name.startswith("h.")})
            require(bool(wrong), "train all of ln_f (its weight and its bias) and nothing else "
                    "outside the last n blocks")
            require(n > 0 or len(wrong) < n_layer, "with n = 0 no block trains, only ln_f; but "
                    "every block does here. Careful: -0 is 0, so model.h[-0:] is the whole list")
            raise Wrong(f"with n_layer = {n_layer} and n = {n}, blocks h[{', '.join(wrong)}] are "
                        "set the wrong way: only the LAST n blocks train")
        require(isinstance(count, int) and not isinstance(count, bool),
                f"return the number of trainable parameters as an int, got {type(count).__name__}")
        expected = sum(p.numel() for p in model.parameters() if p.requires_grad)
        require(count != sum(p.numel() for p in model.parameters()),
                "that is every parameter of the model; count only those that still train")
        require(count == expected, f"the right parameters are frozen, but the count {count:,} is "
                f"not the number that still train (n_layer = {n_layer}, n = {n})")


# --- exercise 3: a sine tone ---------------------------------------------------------------


@exercise("12", 3)
def exercise_3(sine_tone: Callable) -> None:
    """sine_tone(pitch, seconds, sample_rate): sin(2 pi f t) at MIDI pitch's frequency,
    round(seconds * sample_rate) samples."""
    # 0.3 * 11025 = 3307.5 and 0.1 * 11025 = 1102.5: round() goes to the even neighbour
    for pitch, seconds, rate in ((69, 0.01, 8000), (60, 0.02, 16_000), (81, 0.005, 22_050),
                                 (47, 0.013, 11_025), (64, 0.3, 11_025), (72, 0.1, 11_025)):
        got = call(sine_tone, pitch, seconds, rate)
        got = np.asarray(got, dtype=np.float64)
        n = round(seconds * rate)
        require(got.shape == (n,), f"sine_tone({pitch}, {seconds}, {rate}) should hold "
                f"round(seconds * sample_rate) = {n} samples, got shape {got.shape}")
        t = np.arange(n) / rate

        def close(freq: float, fn=np.sin, two_pi: float = 2 * np.pi, got=got, t=t) -> bool:
            return bool(np.allclose(got, fn(two_pi * freq * t), atol=1e-6))

        f = 440.0 * 2.0 ** ((pitch - 69) / 12)
        if close(f):
            continue
        require(not close(440.0 * 2.0 ** (pitch - 69)), "each semitone is a factor of 2^(1/12), "
                "not 2: divide the distance from A4 by 12")
        require(not close(f, two_pi=1.0), "np.sin takes radians: one cycle is 2π, so the "
                "argument is 2π·f·t")
        require(not close(f, fn=np.cos), "start at 0: a sine, not a cosine")
        require(not close(440.0 * 2.0 ** ((pitch - 60) / 12)), "440 Hz is A4, MIDI 69, not "
                "middle C (60)")
        raise Wrong(f"the samples for pitch {pitch} at {rate} Hz differ from sin(2π f t) with "
                    "f = 440·2^((pitch − 69)/12) and t = sample index / sample_rate")


# --- exercise 4: transposing a melody's tokens ---------------------------------------------


@reference
def _transposed(tokens: list[str], semitones: int) -> list[str]:
    out = []
    for token in tokens:
        if token.startswith("NOTE_"):
            p = int(token[5:]) + semitones
            while p > music.HIGHEST:
                p -= 12
            while p < music.LOWEST:
                p += 12
            token = f"NOTE_{p}"
        out.append(token)
    return out


def _cases() -> list[tuple[list[str], int]]:
    melodies, _ = music.make_corpus(3, seed=12)
    edge = ["BOS", "POS_0", f"NOTE_{music.LOWEST}", "DUR_2", "POS_2", "REST", "DUR_2",
            "POS_4", f"NOTE_{music.HIGHEST}", "DUR_4", "END"]
    cases = [(music.melody_to_tokens(m), s) for m, s in zip(melodies, (2, -5, 7), strict=True)]
    return cases + [(edge, 3), (edge, -3), (edge, 12), (edge, 0), (edge, -11)]


@exercise("12", 4)
def exercise_4(transpose: Callable) -> None:
    """transpose(tokens, semitones): a new list, NOTE_ tokens moved (folded by octaves into the
    vocabulary's range), every other token unchanged."""
    for tokens, semitones in _cases():
        original = list(tokens)
        got = call(transpose, tokens, semitones)
        require(tokens == original, "your function changed the list it was given: build and "
                "return a new list")
        require(isinstance(got, list) and all(isinstance(t, str) for t in got),
                "return a list of token strings")
        want = _transposed(original, semitones)
        if got == want:
            continue
        require(len(got) == len(want), "one token out for every token in: the length must not "
                "change")
        for a, b in zip(original, got, strict=True):
            if not a.startswith("NOTE_"):
                require(a == b, f"only NOTE_ tokens move; {a!r} became {b!r}")
        require(all(t in music.STOI for t in got), f"some notes left the vocabulary's range "
                f"{music.LOWEST}..{music.HIGHEST}: move such a note by an octave (12 semitones) "
                "back into it")
        raise Wrong(f"transposing by {semitones} semitones: each NOTE_p should become "
                    f"NOTE_(p + {semitones}), folded by octaves into {music.LOWEST}..{music.HIGHEST}")
