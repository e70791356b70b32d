"""helpers.music: the rules the melodies follow, tokens that round-trip, a forgiving parser,
the statistics notebook 12 asserts with, the synthesiser's pitch and timing, the piano roll."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import music
from helpers.viz import FIG_WIDTH, figure, plot_piano_roll

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def melodies():
    return music.make_corpus(300, seed=3)[0]


def test_vocabulary_has_every_pitch_of_the_range_once():
    n_pitches = music.HIGHEST - music.LOWEST + 1
    assert len(music.VOCAB) == len(set(music.VOCAB)) == 3 + n_pitches + 4 + music.STEPS_PER_BAR
    assert all(music.VOCAB[music.STOI[t]] == t for t in music.VOCAB)
    assert "NOTE_61" in music.STOI  # C#4: out of the scale, but the model may still write it


def test_scale_degrees_and_names():
    assert [music.degree_to_pitch(d) for d in range(8)] == [60, 62, 64, 65, 67, 69, 71, 72]
    assert music.degree_to_pitch(-1) == 59 and music.degree_to_pitch(-3) == 55
    assert [music.pitch_name(p) for p in (60, 61, 69, 55, 84)] == ["C4", "C#4", "A4", "G3", "C6"]
    assert music.in_scale(72) and music.in_scale(59) and not music.in_scale(66)
    assert music.in_scale(66, tonic=67) and not music.in_scale(65, tonic=67)  # G major: F#


def test_rule_melodies_keep_their_rules(melodies):
    for m in melodies:
        pitches = [n.pitch for n in m if n.pitch is not None]
        assert all(music.in_scale(p) for p in pitches)
        assert all(music.LOWEST <= p <= music.HIGHEST for p in pitches)
        assert pitches[-1] % 12 == 0  # ends on C
        assert m[-1].duration >= 4  # on a long note
        bars: dict[int, int] = {}
        for n in m:
            bars[n.bar] = bars.get(n.bar, 0) + n.duration
        assert list(bars) == [0, 1, 2, 3] and all(v == 8 for v in bars.values())
        starts = [n.start for n in m]
        assert starts == sorted(starts) and starts[0] == 0
        # the first phrase ends on the dominant (G), with or without a breath after it
        first_phrase = [n.pitch for n in m if n.bar == 1 and n.pitch is not None]
        assert first_phrase[-1] % 12 == 7
    assert any(n.pitch is None for m in melodies for n in m)  # some have a rest
    leaps = [abs(b.pitch - a.pitch) for m in melodies for a, b in zip(m, m[1:], strict=False)
             if a.pitch and b.pitch]
    assert np.mean([s <= 2 for s in leaps]) > 0.6  # mostly steps (a tone or a semitone) or repeats
    assert max(leaps) >= 5  # and some leaps


def test_the_corpus_is_seeded():
    a, ids_a = music.make_corpus(5, seed=7)
    b, ids_b = music.make_corpus(5, seed=7)
    c, _ = music.make_corpus(5, seed=8)
    assert a == b and ids_a == ids_b and a != c
    assert ids_a[0] == music.STOI["BOS"] and ids_a.count(music.STOI["END"]) == 5


def test_tokens_round_trip(melodies):
    for m in melodies[:50]:
        tokens = music.melody_to_tokens(m)
        assert tokens[0] == "BOS" and tokens[-1] == "END" and tokens.count("POS_0") == 4
        assert len(tokens) == 2 + 3 * len(m)
        for pos, note in zip(tokens[1:-1:3], m, strict=True):  # where each event starts
            assert pos == f"POS_{note.start % 8}"
        assert music.decode(music.encode(tokens)) == tokens
        assert music.tokens_to_melody(tokens) == m


def test_parser_forgives_what_a_model_may_write():
    tokens = ["DUR_2", "BOS", "NOTE_60", "POS_0", "NOTE_62", "DUR_2", "REST", "DUR_1", "DUR_3",
              "POS_0", "NOTE_64", "DUR_4", "POS_3", "NOTE_64", "END", "NOTE_65", "DUR_2"]
    notes = music.tokens_to_melody(tokens)
    # NOTE_60 has no duration; POS_0 opens bars 0 and 1; a note with no DUR is dropped; END stops
    assert notes == [music.Note(62, 0, 2, 0), music.Note(None, 2, 1, 0), music.Note(64, 3, 4, 1)]
    assert music.tokens_to_melody(["NOTE_60", "DUR_4"]) == [music.Note(60, 0, 4, 0)]  # no BOS
    assert music.tokens_to_melody([]) == []


def test_statistics_on_hand_made_melodies():
    c, d, fs, rest = (music.Note(60, 0, 4, 0), music.Note(62, 4, 4, 0), music.Note(66, 8, 2, 1),
                      music.Note(None, 10, 2, 1))
    assert music.in_scale_fraction([[c, d, fs, rest]]) == pytest.approx(2 / 3)  # rests excluded
    assert music.in_scale_fraction([[fs]], tonic=67) == 1.0
    assert music.ends_on_tonic_fraction([[d, c], [c, d], [c, rest], []]) == 0.5
    assert music.full_bar_fraction([[c, d, fs, rest]]) == 0.5  # bar 0 has 8 eighths, bar 1 has 4
    assert music.full_bar_fraction([]) == 0.0


def test_frequencies_follow_equal_temperament():
    assert music.midi_to_hz(69) == 440.0 and music.midi_to_hz(81) == 880.0
    assert music.midi_to_hz(60) == pytest.approx(261.6256, abs=1e-4)
    assert music.midi_to_hz(70) / music.midi_to_hz(69) == pytest.approx(2 ** (1 / 12))


@pytest.mark.parametrize("wave", ["sine", "triangle"])
def test_a_note_has_its_pitch_length_and_envelope(wave):
    rate = 16_000
    x = music.render_note(69, 0.5, rate, wave)  # (8000,)
    assert x.shape == (8000,) and np.abs(x).max() <= 1.0
    assert x[0] == 0.0 and abs(x[-1]) < 1e-3  # starts and ends in silence: no clicks
    spectrum = np.abs(np.fft.rfft(x))
    assert np.argmax(spectrum) * rate / len(x) == pytest.approx(440.0, abs=2.0)
    with pytest.raises(ValueError, match="wave must be 'sine' or 'triangle'"):
        music.render_note(69, 0.1, rate, "square")


def test_synthesis_places_notes_and_keeps_rests_silent():
    melody = [music.Note(60, 0, 2, 0), music.Note(None, 2, 2, 0), music.Note(67, 4, 4, 0)]
    rate, step = 8000, 0.25
    audio = music.synthesize(melody, rate, step)
    assert audio.shape == (round(8 * step * rate) + 1,)
    assert np.abs(audio).max() == pytest.approx(0.8)
    rest = audio[round(2 * step * rate) : round(4 * step * rate)]
    assert np.all(rest == 0.0) and np.abs(audio[: round(2 * step * rate)]).max() > 0.1
    assert np.array_equal(audio, music.synthesize(melody, rate, step))  # deterministic
    assert music.synthesize([], rate).shape == (1,)


def test_piano_roll_fits_the_notebook_and_marks_the_tonic(melodies):
    from matplotlib.patches import Rectangle

    fig = plot_piano_roll(melodies[0], title="a melody")
    assert fig.get_size_inches()[0] <= FIG_WIDTH
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() in ("note", "tonic")]
    sounding = [n for n in melodies[0] if n.pitch is not None]
    assert len(boxes) == len(sounding)  # one box per note, none for a rest
    on_c = [b for b, n in zip(boxes, sounding, strict=True) if n.pitch % 12 == 0]
    assert on_c and all(b.get_gid() == "tonic" for b in on_c)  # the tonic in its own colour
    assert {b.get_facecolor() for b in on_c}.isdisjoint(
        {b.get_facecolor() for b in boxes if b.get_gid() == "note"})
    assert [(b.get_x(), b.get_y() + 0.4) for b in boxes] == [(n.start, n.pitch) for n in sounding]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bar 1", "bar 2", "bar 3", "bar 4"]
    assert "C4" in [t.get_text() for t in ax.get_yticklabels()]
    assert ax.get_title() == "a melody"
    assert ax.get_legend() is not None
    fig2, axes = figure(2, 1, height=5.0)
    plot_piano_roll(melodies[1], ax=axes[0, 0])
    plot_piano_roll(melodies[2], ax=axes[1, 0], legend=False)
    assert len(fig2.axes) == 2 and axes[1, 0].get_legend() is None


def test_importing_music_needs_no_matplotlib():
    code = "import sys, helpers.music; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "False"
