"""Notebook 12's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import numpy as np

from exercises import nb12 as check
from helpers import music

# --- the worked solutions (as in notebooks/solutions/12_solutions.ipynb) ------------------


def qa_prompt(document, history, question):
    turns = "".join(f"Q: {q}\nA: {a}\n" for q, a in history)
    return f"{document}\n\n{turns}Q: {question}\nA:"


def freeze_all_but_last(model, n):
    top = model.h[len(model.h) - n :]
    for p in model.parameters():
        p.requires_grad = False
    for module in (*top, model.ln_f):
        for p in module.parameters():
            p.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def sine_tone(pitch, seconds, sample_rate):
    frequency = 440.0 * 2 ** ((pitch - 69) / 12)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return np.sin(2 * np.pi * frequency * t)


def transpose(tokens, semitones):
    out = []
    for token in tokens:
        if token.startswith("NOTE_"):
            pitch = int(token[5:]) + semitones
            while pitch > music.HIGHEST:
                pitch -= 12
            while pitch < music.LOWEST:
                pitch += 12
            token = f"NOTE_{pitch}"
        out.append(token)
    return out


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(qa_prompt) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_1(lambda d, h, q: qa_prompt(d, h, q) + " ") is False  # trailing space
    assert "not even a space" in capsys.readouterr().out
    assert check.exercise_1(lambda d, h, q: qa_prompt(d, [], q)) is False  # history dropped
    assert "earlier turn" in capsys.readouterr().out
    assert check.exercise_1(lambda d, h, q: qa_prompt(d, h, q).replace("\n\n", "\n", 1)) is False
    assert "blank line" in capsys.readouterr().out
    assert check.exercise_1(lambda d, h, q: qa_prompt(d, h, q) + " at dawn") is False
    assert check.exercise_1(lambda d, h, q: qa_prompt(d, h, q)[:-3]) is False  # no 'A:' line
    hard_coded = qa_prompt(*check.QA_CASES[0])
    assert check.exercise_1(lambda d, h, q: hard_coded) is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(freeze_all_but_last) is True
    assert check.exercise_2(...) is None
    assert check.exercise_2(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def nothing_frozen(model, n):
        return sum(p.numel() for p in model.parameters())

    assert check.exercise_2(nothing_frozen) is False
    assert "nothing was frozen" in capsys.readouterr().out

    def output_layer_trains(model, n):  # forgets that wte is the (tied) output layer
        freeze_all_but_last(model, n)
        model.wte.weight.requires_grad = True
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    assert check.exercise_2(output_layer_trains) is False
    assert "tied" in capsys.readouterr().out

    def without_ln_f(model, n):
        freeze_all_but_last(model, n)
        for p in model.ln_f.parameters():
            p.requires_grad = False
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    assert check.exercise_2(without_ln_f) is False
    assert "ln_f" in capsys.readouterr().out

    def first_n_blocks(model, n):
        for p in model.parameters():
            p.requires_grad = False
        for block in model.h[:n]:
            for p in block.parameters():
                p.requires_grad = True
        for p in model.ln_f.parameters():
            p.requires_grad = True
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    assert check.exercise_2(first_n_blocks) is False
    assert "LAST n blocks" in capsys.readouterr().out

    def counts_everything(model, n):
        freeze_all_but_last(model, n)
        return sum(p.numel() for p in model.parameters())

    assert check.exercise_2(counts_everything) is False
    assert "every parameter" in capsys.readouterr().out
    assert check.exercise_2(lambda model, n: freeze_all_but_last(model, n) + 1) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(sine_tone) is True
    assert check.exercise_3(music.render_note) is False  # it has an envelope and a triangle wave
    assert check.exercise_3(...) is None
    assert check.exercise_3(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def no_twelfth(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.sin(2 * np.pi * 440.0 * 2.0 ** (pitch - 69) * t)

    assert check.exercise_3(no_twelfth) is False
    assert "2^(1/12)" in capsys.readouterr().out

    def no_two_pi(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.sin(440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    assert check.exercise_3(no_two_pi) is False
    assert "radians" in capsys.readouterr().out

    def cosine(pitch, seconds, rate):
        t = np.arange(round(seconds * rate)) / rate
        return np.cos(2 * np.pi * 440.0 * 2.0 ** ((pitch - 69) / 12) * t)

    assert check.exercise_3(cosine) is False
    assert "cosine" in capsys.readouterr().out
    assert check.exercise_3(lambda p, s, r: sine_tone(p, s, r)[:-1]) is False  # one sample short
    assert check.exercise_3(lambda p, s, r: sine_tone(69, s, r)) is False  # pitch ignored
    a4 = sine_tone(69, 0.01, 8000)
    assert check.exercise_3(lambda p, s, r: a4) is False  # hard-coded


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(transpose) is True
    assert check.exercise_4(...) is None
    assert check.exercise_4(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out

    def in_place(tokens, semitones):
        tokens[:] = transpose(tokens, semitones)
        return tokens

    assert check.exercise_4(in_place) is False
    assert "new list" in capsys.readouterr().out

    def no_fold(tokens, semitones):
        return [f"NOTE_{int(t[5:]) + semitones}" if t.startswith("NOTE_") else t for t in tokens]

    assert check.exercise_4(no_fold) is False
    assert "octave" in capsys.readouterr().out

    def durations_too(tokens, semitones):
        out = transpose(tokens, semitones)
        return [f"DUR_{min(4, int(t[4:]) + 1)}" if t.startswith("DUR_") else t for t in out]

    assert check.exercise_4(durations_too) is False
    assert "only NOTE_ tokens move" in capsys.readouterr().out

    def clamp(tokens, semitones):  # pins notes to the edge instead of moving them an octave
        return [f"NOTE_{min(music.HIGHEST, max(music.LOWEST, int(t[5:]) + semitones))}"
                if t.startswith("NOTE_") else t for t in tokens]

    assert check.exercise_4(clamp) is False
    assert check.exercise_4(lambda tokens, semitones: list(tokens)) is False  # nothing moves
    assert check.exercise_4(lambda tokens, semitones: transpose(tokens, -semitones)) is False
