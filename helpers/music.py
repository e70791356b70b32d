"""Music as tokens (notebook 12): note events, a rule-based melody maker, a synthesiser, a piano roll.

A melody is a list of `Note`s on a grid of eighth notes, four 8-step bars in C major. As tokens,
three per event:

    BOS  POS_0 NOTE_64 DUR_2  POS_2 NOTE_62 DUR_2  ...  POS_6 REST DUR_2  ...  END

`POS_k`: the event starts k eighths into its bar (POS_0 opens a bar); `NOTE_p` (MIDI pitch p) or
`REST`; `DUR_d`: it lasts d eighths. This is a small cousin of the "REMI" events of the Pop Music
Transformer (bar, position, note, duration), and of the Music Transformer's performance events.
Only numpy is needed; matplotlib for the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)  # semitones above the tonic
TONIC = 60  # C4 (MIDI): the melodies are in C major
LOWEST, HIGHEST = 55, 84  # G3 .. C6: every pitch, in the scale or not, has a token
DURATIONS = (1, 2, 3, 4)  # eighth, quarter, dotted quarter, half
STEPS_PER_BAR = 8  # eighth notes in a 4/4 bar
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

SPECIAL = ("BOS", "END", "REST")
VOCAB: tuple[str, ...] = (SPECIAL + tuple(f"NOTE_{p}" for p in range(LOWEST, HIGHEST + 1))
                          + tuple(f"DUR_{d}" for d in DURATIONS)
                          + tuple(f"POS_{k}" for k in range(STEPS_PER_BAR)))
STOI = {token: i for i, token in enumerate(VOCAB)}

# rhythms of one bar (eighths, summing to 8); a phrase's last bar ends on a long note
RHYTHMS = ((2, 2, 2, 2), (1, 1, 2, 2, 2), (2, 1, 1, 2, 2), (3, 1, 2, 2), (2, 2, 1, 1, 2),
           (3, 1, 3, 1), (4, 2, 2))
CADENCE_RHYTHMS = ((2, 2, 4), (1, 1, 2, 4), (3, 1, 4))
BREATH_RHYTHM = (2, 2, 2)  # then a quarter rest: a breath after the first phrase
# melodic moves in scale steps: mostly steps, sometimes a repeated note or a leap
MOVES = (-1, 1, 0, -2, 2, -3, 3, -4, 4)
MOVE_PROBS = (0.35, 0.35, 0.08, 0.05, 0.05, 0.04, 0.04, 0.02, 0.02)


@dataclass(frozen=True)
class Note:
    """One event of a melody: a pitch (None for a rest), where it starts and how long it lasts
    (both in eighth notes), and the bar it was written in."""

    pitch: int | None
    start: int
    duration: int
    bar: int


def degree_to_pitch(degree: int, tonic: int = TONIC) -> int:
    """Scale degree (0 = tonic, 7 = the tonic an octave up, -1 = the leading tone below)
    -> MIDI pitch."""
    octave, step = divmod(degree, len(MAJOR_SCALE))
    return tonic + 12 * octave + MAJOR_SCALE[step]


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> name with octave: 60 -> 'C4', 69 -> 'A4'."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def in_scale(pitch: int, tonic: int = TONIC) -> bool:
    """True when the pitch belongs to the major scale on `tonic` (any octave)."""
    return (pitch - tonic) % 12 in MAJOR_SCALE


def _nearest(degree: int, targets: Sequence[int]) -> int:
    return min(targets, key=lambda t: (abs(t - degree), t))


def random_melody(rng: np.random.Generator, n_phrases: int = 2, bars_per_phrase: int = 2
                  ) -> list[Note]:
    """A melody by simple rules: C major, mostly steps, a leap now and then (followed by a step
    back), each phrase ending on a long note approached by step: the dominant (G) after the
    first phrases, the tonic (C) at the end."""
    lo, hi = -3, 11  # scale degrees G3 .. G5
    degree = int(rng.choice([0, 2, 4]))  # start on a note of the tonic chord
    notes: list[Note] = []
    time, bar, last_move = 0, 0, 0
    for phrase in range(n_phrases):
        final = phrase == n_phrases - 1
        for b in range(bars_per_phrase):
            cadence = b == bars_per_phrase - 1
            if not cadence:
                rhythm = RHYTHMS[rng.integers(len(RHYTHMS))]
            elif not final and rng.random() < 0.5:
                rhythm = BREATH_RHYTHM
            else:
                rhythm = CADENCE_RHYTHMS[rng.integers(len(CADENCE_RHYTHMS))]
            for k, duration in enumerate(rhythm):
                if cadence and k == len(rhythm) - 1:  # the phrase's last note
                    degree = _nearest(degree, (0, 7) if final else (-3, 4))
                elif cadence and k == len(rhythm) - 2:  # approached by a step
                    goal = _nearest(degree, (0, 7) if final else (-3, 4))
                    degree = goal + (1 if degree > goal or goal - 1 < lo else -1)
                elif notes:
                    if abs(last_move) >= 2:  # after a leap, a step the other way
                        move = -int(np.sign(last_move))
                    else:
                        move = int(rng.choice(MOVES, p=MOVE_PROBS))
                    if not lo <= degree + move <= hi:
                        move = -move
                    degree += move
                    last_move = move
                notes.append(Note(degree_to_pitch(degree), time, int(duration), bar))
                time += int(duration)
            if cadence and rhythm == BREATH_RHYTHM:
                notes.append(Note(None, time, 2, bar))  # the breath: a quarter rest
                time += 2
            bar += 1
    return notes


def melody_to_tokens(melody: Sequence[Note]) -> list[str]:
    """Notes -> tokens: BOS, then (POS_k, NOTE_p | REST, DUR_d) per event, then END."""
    tokens = ["BOS"]
    for note in melody:
        tokens += [f"POS_{note.start % STEPS_PER_BAR}",
                   "REST" if note.pitch is None else f"NOTE_{note.pitch}", f"DUR_{note.duration}"]
    return tokens + ["END"]


def tokens_to_melody(tokens: Sequence[str]) -> list[Note]:
    """Tokens -> notes, forgivingly (a model's output may be malformed): starts after BOS if there
    is one, stops at END, skips an event that is not followed by a duration. POS_0 opens a new
    bar; each note starts where the one before it ended."""
    tokens = list(tokens)
    if "BOS" in tokens:
        tokens = tokens[tokens.index("BOS") + 1 :]
    notes: list[Note] = []
    time, bar = 0, -1
    for i, token in enumerate(tokens):
        if token in ("END", "BOS"):
            break
        if token == "POS_0":
            bar += 1
        elif token == "REST" or token.startswith("NOTE_"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt.startswith("DUR_"):
                pitch = None if token == "REST" else int(token[5:])
                duration = int(nxt[4:])
                notes.append(Note(pitch, time, duration, max(bar, 0)))
                time += duration
    return notes


def encode(tokens: Sequence[str]) -> list[int]:
    """Token strings -> ids (a KeyError names an unknown token)."""
    return [STOI[t] for t in tokens]


def decode(ids: Sequence[int]) -> list[str]:
    """Ids -> token strings."""
    return [VOCAB[int(i)] for i in ids]


def make_corpus(n_melodies: int, seed: int = 0) -> tuple[list[list[Note]], list[int]]:
    """n_melodies rule-made melodies (seeded) and all their tokens' ids, one after another."""
    rng = np.random.default_rng(seed)
    melodies = [random_melody(rng) for _ in range(n_melodies)]
    ids = [i for m in melodies for i in encode(melody_to_tokens(m))]
    return melodies, ids


# --- what a model learned: statistics over melodies ---------------------------------------


def in_scale_fraction(melodies: Sequence[Sequence[Note]], tonic: int = TONIC) -> float:
    """Fraction of all sounding notes (rests excluded) whose pitch is in the major scale."""
    pitches = [n.pitch for m in melodies for n in m if n.pitch is not None]
    return sum(in_scale(p, tonic) for p in pitches) / max(1, len(pitches))


def ends_on_tonic_fraction(melodies: Sequence[Sequence[Note]], tonic: int = TONIC) -> float:
    """Fraction of melodies whose last sounding note is the tonic (in any octave)."""
    lasts = [[n.pitch for n in m if n.pitch is not None][-1:] for m in melodies]
    return sum(bool(p) and (p[0] - tonic) % 12 == 0 for p in lasts) / max(1, len(melodies))


def full_bar_fraction(melodies: Sequence[Sequence[Note]]) -> float:
    """Fraction of bars whose events add up to exactly one 4/4 bar (8 eighths)."""
    lengths: dict[tuple[int, int], int] = {}
    for k, m in enumerate(melodies):
        for n in m:
            lengths[k, n.bar] = lengths.get((k, n.bar), 0) + n.duration
    return sum(v == STEPS_PER_BAR for v in lengths.values()) / max(1, len(lengths))


# --- sound --------------------------------------------------------------------------------


def midi_to_hz(pitch: float) -> float:
    """Equal temperament: A4 (MIDI 69) is 440 Hz, and each semitone multiplies by 2^(1/12)."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def render_note(pitch: int, seconds: float, sample_rate: int = 16_000, wave: str = "triangle"
                ) -> np.ndarray:
    """One note: a sine or triangle wave times an envelope (10 ms attack, a gentle decay, 30 ms
    release to silence) -> (round(seconds * sample_rate),) float64 in [-1, 1]."""
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate  # (n,) seconds
    phase = midi_to_hz(pitch) * t  # cycles
    if wave == "sine":
        tone = np.sin(2 * np.pi * phase)
    elif wave == "triangle":
        tone = 4 * np.abs(phase - np.floor(phase + 0.5)) - 1
    else:
        raise ValueError(f"wave must be 'sine' or 'triangle', got {wave!r}")
    attack = np.minimum(1.0, t / 0.010)
    release = np.clip((seconds - t) / 0.030, 0.0, 1.0)
    return tone * attack * release * np.exp(-2.0 * t)  # (n,)


def synthesize(melody: Sequence[Note], sample_rate: int = 16_000, step_seconds: float = 0.2,
               wave: str = "triangle") -> np.ndarray:
    """A melody as audio: each note rendered where it starts; rests stay silent.
    -> (n_samples,) float64 in [-1, 1], for `IPython.display.Audio(..., rate=sample_rate)`."""
    end = max((n.start + n.duration for n in melody), default=0)
    audio = np.zeros(round(end * step_seconds * sample_rate) + 1)  # (n_samples,)
    for note in melody:
        if note.pitch is None:
            continue
        samples = render_note(note.pitch, note.duration * step_seconds, sample_rate, wave)
        begin = round(note.start * step_seconds * sample_rate)
        audio[begin : begin + len(samples)] += samples
    return 0.8 * audio / max(1e-9, float(np.abs(audio).max()))
