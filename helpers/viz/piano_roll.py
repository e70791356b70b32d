"""A melody as a piano roll (notebook 12): time across, pitch up, the scale and the tonic marked."""

from __future__ import annotations

from collections.abc import Sequence

from helpers.music import NOTE_NAMES, STEPS_PER_BAR, TONIC, Note, in_scale, pitch_name
from helpers.viz.style import KEPT_COLOR, figure, plot_words, styled


@styled
def plot_piano_roll(melody: Sequence[Note], title: str = "", ax=None, tonic: int = TONIC,
                    legend: bool = True):
    """A piano roll: time (bars) across, pitch up; rows of notes outside the scale shaded, notes
    on the tonic in a colour of their own, bar lines dashed. legend=False leaves the key out
    (for the second of two rolls stacked in one figure)."""
    from matplotlib.patches import Patch, Rectangle

    if ax is None:
        ax = figure(height=3.0)[1][0, 0]
    fig = ax.figure
    sounding = [n.pitch for n in melody if n.pitch is not None] or [tonic]
    low, high = min(min(sounding), tonic) - 1, max(max(sounding), tonic + 12) + 1
    end = max((n.start + n.duration for n in melody), default=STEPS_PER_BAR)
    for p in range(low, high + 1):  # shade the pitches outside the scale, as black keys are
        if not in_scale(p, tonic):
            ax.axhspan(p - 0.5, p + 0.5, color="#ececec", zorder=0, linewidth=0)
    tonic_color = "#e69f00"  # orange (Okabe-Ito), apart from the blue of the other notes
    for n in melody:
        if n.pitch is None:
            continue
        on_tonic = (n.pitch - tonic) % 12 == 0
        ax.add_patch(Rectangle((n.start, n.pitch - 0.4), n.duration - 0.08, 0.8,
                               facecolor=tonic_color if on_tonic else KEPT_COLOR,
                               edgecolor="black", linewidth=0.6, zorder=2,
                               gid="tonic" if on_tonic else "note"))
    for x in range(0, end + 1, STEPS_PER_BAR):
        ax.axvline(x, color="#6e6e6e", linestyle="--", linewidth=0.8, zorder=1)
    ax.set_xlim(0, max(end, STEPS_PER_BAR))
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_xticks([STEPS_PER_BAR * (b + 0.5) for b in range(-(-end // STEPS_PER_BAR))])
    ax.set_xticklabels([f"bar {b + 1}" for b in range(-(-end // STEPS_PER_BAR))])
    ticks = [p for p in range(low, high + 1) if (p - tonic) % 12 in (0, 7)]  # tonics, dominants
    ax.set_yticks(ticks)
    ax.set_yticklabels([pitch_name(p) for p in ticks])
    ax.set_ylabel(plot_words("pitch"))
    if legend:
        ax.legend(handles=[Patch(facecolor=KEPT_COLOR, edgecolor="black", label=plot_words("note")),
                           Patch(facecolor=tonic_color, edgecolor="black",
                                 label=plot_words("tonic ({name})", name=NOTE_NAMES[tonic % 12])),
                           Patch(facecolor="#ececec", label=plot_words("not in the scale"))],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if title:
        ax.set_title(title)
    return fig
