"""Reuse a figure's constrained layout when nothing it depends on has changed.

An explorer (`helpers.widgets.show_interactive`) draws a new figure for every move of a control,
and matplotlib's constrained layout (which places the axes so that no label is cut off) is
40-50% of drawing one: it measures every tick label, title and legend twice. Most moves change
only what is inside the axes (a bar's height, a cell's colour), not the labels around them,
so the layout comes out the same. This module computes a cheap *signature* of what the layout
reads (the figure's size, the grid of axes, their limits and scales, the text, font and place of
every tick label, title, axis label, legend and unclipped text, the spines and ticks, the colour
bars and suptitles) and, when a new figure's signature equals one already laid out, puts its
axes where that layout put them instead of running the layout again: the same pixels, sooner.

A figure with anything the signature does not describe (sub-figures, an axes locator, an
unclipped line or patch, a layout engine other than constrained) is laid out as usual.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

MAX_LAYOUTS = 64  # layouts kept per explorer (a few kB each): the latest ones
FIGURE_TITLES = ("_suptitle", "_supxlabel", "_supylabel")  # the layout places these too


class _Unsupported(Exception):
    """The figure holds something the signature does not describe: lay it out as usual."""


def _box(t) -> tuple | None:
    """The box drawn around a text (its style and padding), if any."""
    patch = t.get_bbox_patch()
    return None if patch is None else (
        type(patch.get_boxstyle()).__name__, tuple(sorted(vars(patch.get_boxstyle()).items())),
        patch.get_linewidth(), patch.get_mutation_scale(), patch.get_mutation_aspect())


def _text(t) -> tuple:
    """What a Text's extent depends on: its string, font, alignment, box and place."""
    if t is None:
        return ()
    xy = tuple(t.get_transform().transform(t.get_unitless_position()).tolist())
    return (t.get_visible(), t.get_in_layout(), t.get_text(), hash(t.get_fontproperties()),
            t.get_rotation(), t.get_horizontalalignment(), t.get_verticalalignment(),
            t.get_rotation_mode(), t._linespacing, t.get_wrap(), t.get_usetex(),
            t.get_parse_math(), t.get_transform_rotates_text(), _box(t), xy)


def _collapsed(t, along: str, renderer) -> tuple:
    """A title's or an axis label's part in the layout, which counts only its extent across
    `along` ("x": the height of a title or an x label) and its centre along it: a new title
    of the same height reuses the layout (its width and its words do not matter)."""
    if not (t.get_visible() and t.get_text()) or renderer is None:
        return _text(t)
    box = t.get_window_extent(renderer)
    if along == "x":
        extent = (round((box.x0 + box.x1) / 2, 6), box.y0, box.y1)
    else:
        extent = (round((box.y0 + box.y1) / 2, 6), box.x0, box.x1)
    return ("collapsed", t.get_in_layout(), extent, _box(t))


def _legend(leg) -> tuple:
    """A legend's texts, handles and the parameters that size and place its box."""
    handles = []
    for h in leg.legend_handles:
        kind = type(h).__name__
        if kind == "Line2D":
            handles.append((kind, h.get_marker() if isinstance(h.get_marker(), str) else repr(
                h.get_marker()), h.get_markersize(), h.get_linewidth(), h.get_markeredgewidth()))
        else:
            handles.append((kind, getattr(h, "get_linewidth", lambda: None)()))
    anchor = leg.get_bbox_to_anchor()
    return (leg.get_visible(), leg.get_in_layout(), tuple(_text(t) for t in leg.texts),
            _text(leg.get_title()), tuple(handles), leg._get_loc(), getattr(leg, "_outside_loc", None),
            leg._ncols, leg._mode, leg.get_frame_on(), leg.borderpad, leg.labelspacing,
            leg.handlelength, leg.handleheight, leg.handletextpad, leg.borderaxespad,
            leg.columnspacing, leg.markerscale, leg._fontsize,
            None if anchor is None else tuple(anchor.bounds))


def _axis(axis, renderer) -> tuple:
    """Ticks that will be drawn (places and labels), tick sizes, the axis label, offset text."""
    ticks = []
    for tick in axis._update_ticks():  # the ticks draw() will draw, labels formatted
        ticks.append((float(tick.get_loc()), _text(tick.label1), _text(tick.label2),
                      tick.tick1line.get_visible(), tick.tick2line.get_visible(),
                      tick.tick1line.get_markersize(), tick._base_pad, tick._tickdir))
    return (axis.get_visible(), axis.get_scale(), tuple(ticks),
            _collapsed(axis.label, axis.axis_name, renderer),
            axis.get_label_position(), _text(axis.offsetText),
            repr(sorted(axis._major_tick_kw.items())), repr(sorted(axis._minor_tick_kw.items())))


def _clipped_to(artist, ax) -> bool:
    """Whether `artist` is drawn only inside `ax`'s box: clipped to it, or to a box equal to it
    up to rounding (bars are clipped to the axes' box computed another way), so it cannot
    widen the axes' tight bounding box (the layout counts it, but within the box)."""
    import numpy as np
    from matplotlib.transforms import TransformedPatchPath

    box, path = artist.get_clip_box(), artist.get_clip_path()
    if not artist.get_clip_on() or (box is None and path is None):
        return False
    if path is not None and not (isinstance(path, TransformedPatchPath) and path._patch is ax.patch):
        return False
    return box is None or bool(np.allclose(box.extents, ax.bbox.extents, rtol=0.0, atol=1e-6))


def _axes(ax, index: dict, renderer) -> tuple:
    """Everything of one axes that its tight bounding box and its place in the grid read."""
    from matplotlib.collections import Collection
    from matplotlib.spines import Spine
    from matplotlib.text import Annotation, Text

    if ax.get_axes_locator() is not None and not hasattr(ax, "_colorbar_info"):
        raise _Unsupported("axes locator")
    spec = ax.get_subplotspec()
    cb = getattr(ax, "_colorbar_info", None)  # a colour bar: placed beside its parents
    if spec is None and cb is None:
        raise _Unsupported("axes outside a grid")
    grid = None if spec is None else spec.get_gridspec()
    place = None if grid is None else (
        spec.rowspan, spec.colspan, grid.get_geometry(), tuple(grid.get_width_ratios() or ()),
        tuple(grid.get_height_ratios() or ()), grid.wspace, grid.hspace)
    extra = []
    for artist in ax.get_default_bbox_extra_artists():
        kind = type(artist).__name__
        if artist is ax.patch or _clipped_to(artist, ax):
            continue  # inside the axes' own box, which the layout counts anyway
        if isinstance(artist, Collection) and not artist.get_paths():
            continue  # nothing to draw, no extent (a colour bar's dividers without edges)
        if isinstance(artist, Annotation):
            if artist.arrow_patch is not None:
                raise _Unsupported("annotation with an arrow")
            extra.append((_text(artist), repr(artist.xy), repr(artist.xyann),
                          repr(artist.xycoords), repr(artist._textcoords)))
        elif isinstance(artist, Text):
            extra.append(_text(artist))
        elif kind == "Legend":
            extra.append(_legend(artist))
        elif isinstance(artist, Spine):
            extra.append((kind, artist.get_visible(), repr(getattr(artist, "_position", None)),
                          artist.get_linewidth(), artist.spine_type, artist._bounds))
        else:  # an unclipped line, patch, inset axes...: not described, so not cached
            raise _Unsupported(kind)
    colorbar = None if cb is None else (
        cb["location"], cb["fraction"], cb["shrink"], cb["aspect"], cb["pad"], repr(cb["anchor"]),
        repr(cb["panchor"]), tuple(index[id(p)] for p in cb["parents"]))
    return (ax.get_visible(), ax.get_in_layout(), ax.axison, ax.get_frame_on(),
            tuple(ax.get_position(original=True).bounds), place,
            ax.get_aspect(), ax.get_adjustable(), repr(ax.get_anchor()), ax.get_box_aspect(),
            ax.get_xlim(), ax.get_ylim(),
            tuple(_axis(a, renderer) for a in ax._axis_map.values()),
            tuple(_collapsed(t, "x", renderer) for t in (ax.title, ax._left_title, ax._right_title)),
            ax._autotitlepos, colorbar, tuple(extra))


def signature(fig, renderer=None) -> tuple | None:
    """What `fig`'s constrained layout depends on, or None when it cannot be described
    (another layout engine, sub-figures, an artist the signature does not cover).
    `renderer`: the one `fig` will be drawn with, to measure its titles and axis labels (only
    their height or width counts); without it they are compared word for word."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine) or fig.subfigs:
        return None
    index = {id(ax): k for k, ax in enumerate(fig.axes)}
    try:
        axes = tuple(_axes(ax, index, renderer) for ax in fig.axes)
    except _Unsupported:
        return None
    titles = tuple(_text(getattr(fig, name, None)) for name in FIGURE_TITLES)
    return (tuple(fig.get_size_inches()), fig.dpi, repr(sorted(engine.get().items())),
            axes, titles, tuple(_legend(leg) for leg in fig.legends))


def _placement(fig) -> dict[str, Any]:
    """Where the layout put things: each axes' position (and a colour bar's anchor and box
    aspect, which the layout sets too) and the suptitles' positions."""
    return {
        "axes": [(tuple(ax.get_position(original=True).bounds), ax.get_anchor(), ax.get_box_aspect())
                 for ax in fig.axes],
        "titles": [None if getattr(fig, n, None) is None else
                   (getattr(fig, n).get_position(), getattr(fig, n).get_verticalalignment())
                   for n in FIGURE_TITLES],
    }


class LayoutCache:
    """The layouts an explorer has computed, by signature (the latest MAX_LAYOUTS)."""

    def __init__(self) -> None:
        self._layouts: OrderedDict[tuple, dict] = OrderedDict()
        self.hits = self.misses = 0  # for tests and the benchmark

    def prepare(self, fig, renderer=None) -> tuple | None:
        """Before `fig` is drawn (by `renderer`, at the dpi it is drawn at): place it as an
        equal figure was placed and freeze its layout (returns None), or return its signature
        for `store` after the draw (or None)."""
        key = signature(fig, renderer)
        if key is None:
            return None
        placed = self._layouts.get(key)
        if placed is None:
            self.misses += 1
            return key
        self.hits += 1
        self._layouts.move_to_end(key)
        fig.set_layout_engine("none")  # placed below as constrained layout would place it
        for ax, (bounds, anchor, box_aspect) in zip(fig.axes, placed["axes"], strict=True):
            ax._set_position(bounds, which="both")
            ax.set_anchor(anchor)
            ax.set_box_aspect(box_aspect)
        for name, title in zip(FIGURE_TITLES, placed["titles"], strict=True):
            if title is not None:
                getattr(fig, name).set_position(title[0])
                getattr(fig, name).set_verticalalignment(title[1])
        return None

    def store(self, key: tuple | None, fig) -> None:
        """After `fig` (whose signature was `key`) was drawn, keep where its layout put things."""
        if key is None:
            return
        self._layouts[key] = _placement(fig)
        while len(self._layouts) > MAX_LAYOUTS:
            self._layouts.popitem(last=False)
