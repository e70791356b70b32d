"""Explorers: ipywidgets controls that redraw a figure in place, and figures as pictures.

Kept apart from `helpers.viz` (which only draws) so the drawing code reads without IPython.
Nothing here imports matplotlib, IPython or ipywidgets until a function needs them.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

RETINA = 2  # a figure's PNG has 2 pixels per CSS pixel: sharp on high-DPI screens and zoomed in
DIGITS = re.compile(r"[0-9]")
BOX_CLASS = "helpers-interactive"  # marks a show_interactive box for the browser script below
RATIO_CLASS = "helpers-pixel-ratio"  # a box's hidden text field: the screen's device pixel ratio

# JupyterLab runs its command-mode shortcuts on every key pressed in a notebook that is not
# typed into a text field: with a dropdown, a slider or a button of a widget focused, ↑ and ↓
# moved the cell selection (and scrolled the notebook), A inserted a cell, and so on. Lumino
# (JupyterLab's toolkit) skips its shortcuts for a key event whose target carries the
# attribute `data-lm-suppress-shortcuts`; ipywidgets gives Python no way to put an attribute
# on the <select> or <button> inside a control, so this script marks the focused element when
# a key goes down in a show_interactive box (key chords such as Ctrl+S and Shift+Enter still
# reach JupyterLab). The browser then does what the control expects:
# a dropdown moves to the next option, a slider handle steps (noUiSlider handles its keys).
# Buttons and checkboxes have no arrow-key behaviour of their own, so the browser would scroll
# the notebook; here ↑/↓/←/→ pick the previous/next of a row of toggle buttons (as in a radio
# group) and flip a checkbox or a single toggle button, and the page does not scroll.
# It runs from a hidden Output widget in the box (ipywidgets' Output area is trusted, so
# JupyterLab runs it; the notebook file stores no script), its listeners once per page. Without
# it (another front end) the controls still work with the mouse, and figures come at RETINA.
BROWSER_SCRIPT = """
(() => {
  if (window.helpersInteractiveKeys) return;
  window.helpersInteractiveKeys = true;
  const STEP = {ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1};
  window.addEventListener('keydown', (event) => {
    const target = event.target;
    if (!(target instanceof Element) || !target.closest('.BOX_CLASS')) return;
    const chord = event.altKey || event.ctrlKey || event.metaKey
      || (event.shiftKey && event.key === 'Enter');  // Ctrl+S, Shift+Enter... still reach JupyterLab
    if (chord) target.removeAttribute('data-lm-suppress-shortcuts');
    else target.setAttribute('data-lm-suppress-shortcuts', 'true');
    if (chord || !Object.hasOwn(STEP, event.key)) return;
    const group = target.closest('.widget-toggle-buttons');
    if (group && target.tagName === 'BUTTON') {
      event.preventDefault();
      const buttons = [...group.querySelectorAll('button:not(:disabled)')];
      const now = buttons.findIndex((b) => b.classList.contains('mod-active'));
      const next = buttons[(Math.max(now, 0) + STEP[event.key] + buttons.length) % buttons.length];
      next.click();
      next.focus();
    } else if (target.matches('input[type=checkbox], button.widget-toggle-button')) {
      event.preventDefault();
      target.click();
    } else if (target.tagName === 'BUTTON') {
      event.preventDefault();
    }
  }, true);
  // The screen's pixels per CSS pixel (2 on a high-DPI laptop, 1 on most projectors; browser
  // zoom changes it), typed into each box's hidden text field as a learner would type, so that
  // ipywidgets sends it to the kernel and redraws come at the pixels the screen shows.
  const report = () => document.querySelectorAll('.RATIO_CLASS input').forEach((field) => {
    const ratio = String(window.devicePixelRatio || 1);
    if (field.value === ratio) return;
    field.value = ratio;
    field.dispatchEvent(new Event('input', {bubbles: true}));
    field.dispatchEvent(new Event('change', {bubbles: true}));
  });
  window.helpersReportPixelRatio = report;
  window.addEventListener('resize', report);  // zoom, or the window moved to another screen
})();
// each box runs this when shown: its field may appear a moment after this output
[0, 100, 500, 2000].forEach((ms) => setTimeout(window.helpersReportPixelRatio, ms));
""".replace("BOX_CLASS", BOX_CLASS).replace("RATIO_CLASS", RATIO_CLASS)


def enable_notebook_display() -> None:
    """In a Jupyter kernel, make a returned Figure show as a retina PNG (not just its text).

    pyplot's inline backend does this only once pyplot has drawn something; figures here are
    made without pyplot (so each shows once, as the cell's value), so register the format.
    A user's own choice of SVG, JPEG or PDF is left alone.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import retina_figure, select_figure_formats
    except ImportError:
        return
    from matplotlib.figure import Figure

    ip = get_ipython()
    if ip is None:
        return
    formatters = ip.display_formatter.formatters
    png = formatters["image/png"].type_printers.get(Figure)
    if getattr(png, "func", None) is retina_figure:
        return
    others = {fmt for fmt, mime in (("svg", "image/svg+xml"), ("jpeg", "image/jpeg"),
                                    ("pdf", "application/pdf"))
              if Figure in formatters[mime].type_printers}
    if png is None and others:
        return  # the user asked for other formats only
    select_figure_formats(ip, {"retina", *others})


def figure_png(fig, scale: int = RETINA) -> tuple[bytes, int]:
    """Render `fig` as PNG bytes at `scale` pixels per CSS pixel; returns (png, CSS width).

    Agg draws the figure once at the higher resolution and Pillow writes its pixels at zlib
    level 1: about 60 ms less than `savefig` for an explorer's figure here (savefig also
    prepares a saved file's colours and bounding box, which a picture on screen does not
    need), and about 25 ms less than Pillow's default level, for a somewhat larger file that a
    local browser reads at once."""
    png, width, _ = _render(fig, scale)
    return png, width


def _render(fig, scale: int = RETINA, fitted: tuple | None = None) -> tuple[bytes, int, tuple | None]:
    """figure_png, and for a redrawn figure (`fitted`: its layout_texts when its layout last
    fitted) its layout_texts now if its layout still fits, else None: the labels are the same
    or `layout_fits` says so, measured on the same drawing, so that no text is laid out twice.

    A figure already drawn by Agg keeps its canvas: its renderer, and with it matplotlib's
    cache of text sizes, serve the next drawing too (about 17 ms of 04's 180). The picture
    is written as RGB: a figure's background is opaque, and one channel less is 7 ms less."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    dpi = fig.dpi
    fig.set_dpi(dpi * scale)
    try:
        canvas = fig.canvas if type(fig.canvas) is FigureCanvasAgg else FigureCanvasAgg(fig)
        canvas.draw()
        texts = None if fitted is None else layout_texts(fig)
        if texts is not None and texts != fitted and not layout_fits(fig, canvas.get_renderer()):
            texts = None
        rgba = canvas.buffer_rgba()  # (H, W, 4) uint8
        height, width = rgba.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    finally:
        fig.set_dpi(dpi)
    return buffer.getvalue(), round(width / scale), texts


def layout_texts(fig) -> tuple:
    """What a frozen layout depends on: each axes' place and the text of every label a layout
    measures (titles, axis and tick labels, offsets, texts in the layout, legends), digits
    read as 0.
    When these are unchanged since the layout last fitted, it still fits: matplotlib's
    default font (DejaVu Sans) draws every digit equally wide, so 0.25 and 0.75 take the
    same room. Comparing them costs a few ms; measuring the labels again (`layout_fits`) 25."""
    from matplotlib.text import Text

    def shown(text: Text) -> tuple:
        return (DIGITS.sub("0", text.get_text()), text.get_fontsize(), text.get_visible())

    parts: list = []
    for ax in fig.axes:
        labels = [ax.get_title(loc) for loc in ("left", "center", "right")]
        parts.append((ax.get_visible(), ax.get_position().bounds,
                      *(DIGITS.sub("0", label) for label in labels + [ax.get_xlabel(), ax.get_ylabel()])))
        parts.extend(shown(t) for t in ax.get_xticklabels() + ax.get_yticklabels())
        parts.extend(shown(axis.get_offset_text()) for axis in (ax.xaxis, ax.yaxis))  # "1e6"
        parts.extend(shown(t) for t in ax.texts if t.get_in_layout())
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        parts.extend(shown(t) for t in legend.get_texts())
    # figure-level texts: a constrained layout makes room for the height of a suptitle (the
    # width of a supylabel) but never for their length, and for no other figure text
    parts.extend((t.get_text().count("\n"), t.get_fontsize(), t.get_visible())
                 for t in fig.texts if t.get_in_layout())
    return tuple(parts)


def layout_fits(fig, renderer=None) -> bool:
    """Whether every axes of `fig`, with its labels, lies inside the figure and clear of the
    others, and the legends and titles of the figure clear of every axes: true of a
    constrained layout, and still true of a figure redrawn into that layout unless its labels
    grew (a longer tick label, a new line in a title). A figure with no layout engine of its
    own is not checked."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        return True  # a layout engine places it at every draw ("none" leaves a place holder)
    renderer = renderer or fig.canvas.get_renderer()
    box = fig.bbox
    tight = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    tight = [b for b in tight if b is not None]
    legends = [legend.get_window_extent(renderer) for legend in fig.legends]
    legends += [t.get_window_extent(renderer) for t in fig.texts  # a suptitle, grown a line
                if t.get_in_layout() and t.get_visible() and t.get_text()]
    slack = 1.0  # pixels: rounding
    for b in tight + legends:
        if (b.x0 < box.x0 - slack or b.y0 < box.y0 - slack or b.x1 > box.x1 + slack
                or b.y1 > box.y1 + slack):
            return False
    boxes = tight + legends
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            if overlap_w > slack and overlap_h > slack:
                return False
    return True


class _Redraw:
    """Draws the figure for the controls' current values, one drawing at a time.

    The drawing runs inside the kernel's handling of the control's message, so the kernel is
    busy meanwhile, and ipywidgets' front end holds back that control's further changes and
    sends only the newest when the kernel is idle again: a drag or a held key costs one
    drawing per drawing time, of the latest value, never a queue of stale ones. A change of
    values already on screen (04's length slider also moving the query slider) draws nothing.
    A `draw` with a `fig` parameter gets the figure it returned last time (None at first), to
    update in place instead of building a new one.
    """

    def __init__(self, draw: Callable[..., Any], controls: dict, image, errors) -> None:
        self.draw, self.controls, self.image, self.errors = draw, controls, image, errors
        self.reuses = "fig" not in controls and "fig" in inspect.signature(draw).parameters
        self.figure = None  # the last figure drawn, handed back to a draw that reuses it
        self.fitted: tuple | None = ()  # its layout_texts when its layout last fitted
        self.busy = self.pending = False
        self.drawn: dict | None = None  # the values of the figure on screen
        self.scale = RETINA  # PNG pixels per CSS pixel: the screen's, once the browser says
        self.drawn_scale: int | None = None  # the scale of the picture on screen
        self.count = 0  # figures drawn (read by tests)
        self.seconds = 0.0  # how long the last one took: draw, encode and send the picture
        self.phases: dict[str, float] = {}  # its seconds to "draw", "render" and "send"

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def set_pixel_ratio(self, change: Any) -> None:
        """The browser's device pixel ratio arrived (a string such as "1" or "1.5"): draw at
        that many pixels per CSS pixel, rounded up, 1 to RETINA. On a screen of ratio 1 a 2x
        picture is drawn, encoded, sent and decoded for nothing (about a quarter of a redraw);
        a screen that needs more pixels than the picture has gets it redrawn at once."""
        try:
            ratio = float(change["new"])
        except (TypeError, ValueError):
            return  # not a number: keep the scale
        if not math.isfinite(ratio) or ratio <= 0:
            return
        self.scale = max(1, min(RETINA, math.ceil(ratio - 1e-6)))
        if self.drawn_scale is not None and self.scale > self.drawn_scale:
            self.request()

    def request(self, change: Any = None) -> None:
        """Draw the latest values (called when a control's value changes)."""
        if self.busy:  # a control moved while drawing (by draw itself): draw again after
            self.pending = True
            return
        self.busy = True
        try:
            self.pending = True
            while self.pending:
                self.pending = False
                self.render()
        finally:
            self.busy = False

    def render(self, raise_errors: bool = False) -> None:
        """Draw the figure for the current values and replace the picture in place."""
        values = self.values()
        if _same(values, self.drawn) and self.scale == self.drawn_scale:
            return  # e.g. a second control that moved with the first, already drawn
        start = time.perf_counter()
        try:
            with _one_torch_thread():
                reused = {"fig": self.figure} if self.reuses else {}
                self.figure = None  # until it is drawn whole: a failed update is not reused
                fig = _as_figure(self.draw(**values, **reused))
                drawn = time.perf_counter()
                png, width, texts = _render(fig, self.scale,
                                            fitted=self.fitted if self.reuses else None)
                if self.reuses and texts is None:  # redrawn into its old layout, it outgrew
                    fig.set_layout_engine("constrained")  # it (a wider tick label)
                    png, width = figure_png(fig, self.scale)  # laid out anew
                    texts = layout_texts(fig)
                self.fitted = texts
            if self.reuses:  # laid out when first shown; updated in place after that
                fig.set_layout_engine("none")
            self.figure = fig if self.reuses else None
            del fig
        except Exception:  # shown under the controls, as a cell would show it
            if raise_errors:
                raise
            import traceback

            self.errors.outputs = ()
            self.errors.append_stderr(traceback.format_exc())
            self.drawn = None
            return
        encoded = time.perf_counter()
        with self.image.hold_sync():  # one message: the picture and its display width
            self.image.value = png
            self.image.width = str(width)
        if self.errors.outputs:
            self.errors.outputs = ()
        self.drawn, self.drawn_scale = values, self.scale
        self.count += 1
        sent = time.perf_counter()
        self.seconds = sent - start
        self.phases = {"draw": drawn - start, "render": encoded - drawn, "send": sent - encoded}


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run a draw function's tensor work on one thread (then restore the count).

    A figure's tensors are tiny: a second thread speeds nothing up, but waking it costs a
    time slice of a busy core (measured on 2 busy cores: up to 8-12 ms for one 8 x 8
    softmax, and notebook 08's sampling explorer ten times slower). The series' explorers
    draw the same pixels either way."""
    torch = sys.modules.get("torch")  # a draw function without torch: nothing to do
    threads = torch.get_num_threads() if torch is not None else 1
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays as values: compare as different
        return False


def _as_figure(fig):
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"draw(**values) must return a matplotlib Figure, got {type(fig).__name__}")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and fig.canvas.manager is not None:
        pyplot.close(fig)  # made with pyplot: else the next cell would show every one of them
    return fig


def show_interactive(draw: Callable[..., Any], **controls):
    """Connect ipywidgets `controls` to `draw(**values) -> Figure`: returns a box (controls
    above the figure) whose picture is redrawn when a control moves.

    `ipywidgets.interactive_output` would call `draw` too; this adds what an explorer in a
    lesson needs: the figure is a picture replaced in place (an Output cleared and refilled
    makes the page jump), one drawing at a time for the latest value, a failed drawing shown
    under the controls, every control working from the keyboard (Tab to it, then the arrow
    keys) without moving JupyterLab's cell selection, and the figure kept between redraws: a
    `draw` with a `fig` parameter receives the figure it returned last time (None at first),
    laid out once when it was first shown, to update in place, e.g. with
    `helpers.viz.figure(..., reuse=fig)`; a draw that returns a new figure has it laid out.
    Redraws come at the screen's own pixel density, which the browser reports: a projector's
    picture is a quarter of the pixels of a high-DPI laptop's, and a quarter of the work."""
    import ipywidgets as widgets

    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets control with a value, "
                            f"e.g. widgets.IntSlider(...), got {type(control).__name__}")
    image = widgets.Image(format="png")
    errors = widgets.Output()
    script = widgets.Output(layout=widgets.Layout(display="none"))
    script.outputs = ({"output_type": "display_data", "metadata": {},
                       "data": {"application/javascript": BROWSER_SCRIPT,
                                "text/plain": "(the controls' keys and the screen's pixel ratio)"}},)
    pixel_ratio = widgets.Text(layout=widgets.Layout(display="none"))  # set by the script
    pixel_ratio.add_class(RATIO_CLASS)
    redraw = _Redraw(draw, controls, image, errors)
    redraw.render(raise_errors=True)  # before display, so the box appears with its figure
    for control in controls.values():
        control.observe(redraw.request, names="value")
    pixel_ratio.observe(redraw.set_pixel_ratio, names="value")
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([row, image, errors, script, pixel_ratio])
    box.add_class(BOX_CLASS)
    box.redraw = redraw  # for tests and for curious readers: box.redraw.count
    return box
