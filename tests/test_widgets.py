"""helpers.notebook.widgets: figures as retina pictures, and explorers that redraw in place."""

import pytest
import torch
from matplotlib.figure import Figure

from helpers import causal_mask
from helpers.notebook import figure_png
from helpers.viz import figure, plot_mask, plot_mask_stages, styled

TOKENS = ["The", "robot", "must", "obey"]


def test_figure_png_is_the_figure_at_twice_its_pixels():
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig = plot_mask_stages(torch.randn(4, 4, generator=torch.Generator().manual_seed(0)),
                           causal_mask(4), TOKENS, query=1)
    png, width = figure_png(fig)
    assert width == round(fig.bbox.width)
    image = Image.open(io.BytesIO(png))
    assert image.size[0] == 2 * width  # retina: two pixels per CSS pixel
    twin = plot_mask_stages(torch.randn(4, 4, generator=torch.Generator().manual_seed(0)),
                            causal_mask(4), TOKENS, query=1)
    twin.set_dpi(2 * twin.dpi)  # the same figure at retina size, by matplotlib's canvas
    canvas = FigureCanvasAgg(twin)
    canvas.draw()
    assert (np.asarray(canvas.buffer_rgba()) == np.asarray(image.convert("RGBA"))).all()


def test_show_interactive_draws_on_one_torch_thread():
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive

    threads_before, seen = torch.get_num_threads(), []

    def draw(T=3):
        seen.append(torch.get_num_threads())
        return plot_mask(causal_mask(T))

    box = show_interactive(draw, T=widgets.IntSlider(value=3, min=1, max=5))
    box.children[0].children[0].value = 4
    assert seen == [1, 1] and torch.get_num_threads() == threads_before  # restored after


def test_show_interactive_hands_a_draw_that_takes_fig_its_previous_figure():
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive

    received, plain_calls = [], []

    def draw(T=3, fig=None):
        received.append(fig)
        if T == 2:
            raise ValueError("a drawing that fails")
        return fig if fig is not None else plot_mask(causal_mask(T))

    def plain(T=3):
        plain_calls.append(T)
        return plot_mask(causal_mask(T))

    box = show_interactive(draw, T=widgets.IntSlider(value=3, min=1, max=5))
    slider = box.children[0].children[0]
    slider.value = 4
    assert received[0] is None and isinstance(received[1], Figure) and received[1] is box.redraw.figure
    slider.value = 2  # fails: its error is shown, and the next drawing starts from scratch
    slider.value = 5
    assert received[2] is received[1] and received[3] is None
    show_interactive(plain, T=widgets.IntSlider(value=3, min=1, max=5)).children[0].children[0].value = 4
    assert plain_calls == [3, 4]  # a draw without fig is called as before


@styled
def _bars(values, title, fig=None):
    """A small explorer figure: bars, a title, a figure legend."""
    from matplotlib.patches import Patch

    fig, axes = figure(1, 2, height=3.0, reuse=fig)
    for ax, v in zip(axes[0], values, strict=True):
        ax.bar(["a", "b", "c"], v)
        ax.set_ylim(0, 1)
        ax.set_title(title)
    fig.legend(handles=[Patch(label="kept")], loc="outside lower center")
    return fig


def test_a_reused_figure_is_cleared_and_draws_what_a_new_one_draws():
    import numpy as np
    from PIL import Image

    def pixels(fig):
        import io

        return np.asarray(Image.open(io.BytesIO(figure_png(fig)[0])).convert("RGBA"))

    first = _bars([[0.2, 0.5, 0.9], [0.1, 0.1, 0.1]], "first")
    pixels(first)  # shown: laid out
    first.set_layout_engine("none")  # as show_interactive freezes it
    again = _bars([[0.9, 0.3, 0.1], [0.4, 0.8, 0.2]], "second", fig=first)
    assert again is first and len(again.legends) == 1 and len(again.axes[0].patches) == 3
    fresh = _bars([[0.9, 0.3, 0.1], [0.4, 0.8, 0.2]], "second")
    assert (pixels(again) == pixels(fresh)).all()  # nothing of the first drawing is left


def test_figure_reuses_only_its_own_figure_of_the_same_grid_and_size():
    fig, axes = figure(1, 2, height=3.0)
    cb_axes = fig.colorbar(axes[0, 0].imshow([[0, 1]]), ax=axes[0, 0]).ax
    same, grid = figure(1, 2, height=3.0, reuse=fig)
    assert same is fig and grid is axes and cb_axes in fig.axes  # the colour bar is kept
    assert figure(1, 2, height=4.0, reuse=fig)[0] is not fig  # another size: a new figure
    assert figure(2, 1, height=3.0, reuse=fig)[0] is not fig  # another grid
    assert figure(1, 2, height=3.0, reuse=Figure())[0] is not None  # a foreign figure: new


def test_show_interactive_lays_a_reused_figure_out_once():
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive

    positions = []

    def draw(t=0.5, fig=None):
        fig = _bars([[t, t, t], [t, 0, t]], f"t = {t}", fig=fig)
        positions.append(fig.axes[0].get_position().bounds)
        return fig

    box = show_interactive(draw, t=widgets.FloatSlider(value=0.5, min=0, max=1))
    first = box.redraw.figure
    assert first.get_layout_engine().__class__.__name__ != "ConstrainedLayoutEngine"
    box.children[0].children[0].value = 0.9
    assert box.redraw.figure is first and box.redraw.count == 2
    assert positions[1] == first.axes[0].get_position().bounds  # the layout stayed put


@styled
def _line(top, fig=None):
    """A line whose y tick labels grow wider with `top` (1 -> '1.0', 100000 -> '100000')."""
    fig, axes = figure(1, 2, height=3.0, reuse=fig)
    for ax in axes[0]:
        ax.plot([0, 1], [0, top])
    return fig


def test_a_redraw_whose_labels_outgrow_the_layout_is_laid_out_anew(monkeypatch):
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive
    from helpers.notebook import widgets as explorer

    box = show_interactive(_line, top=widgets.FloatSlider(value=1.0, min=1.0, max=1e6))
    fig = box.redraw.figure
    box.children[0].children[0].value = 1e6  # labels like 1000000: wider than the layout's room
    assert box.redraw.figure is fig and explorer.layout_fits(fig)
    assert (_pixels(box.redraw.image.value) == _pixels(figure_png(_line(1e6))[0])).all()

    monkeypatch.setattr(explorer, "layout_fits", lambda fig, renderer=None: True)  # no check
    box = show_interactive(_line, top=widgets.FloatSlider(value=1.0, min=1.0, max=1e6))
    box.children[0].children[0].value = 1e6
    monkeypatch.undo()
    assert not explorer.layout_fits(box.redraw.figure)  # the labels would be cut off


def _pixels(png):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_a_redraw_with_the_same_labels_is_not_measured_again(monkeypatch):
    """layout_fits measures every label (about 25 ms for 04's figure); a redraw whose labels
    read the same, digits aside, keeps a layout that fitted, and is not measured."""
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive
    from helpers.notebook import widgets as explorer

    measured = []
    original = explorer.layout_fits
    monkeypatch.setattr(explorer, "layout_fits",
                        lambda fig, renderer=None: measured.append(1) or original(fig, renderer))

    def draw(t=0.5, fig=None):  # the title's number changes, its width does not
        return _bars([[t, t, t], [t, 0, t]], f"t = {t:.2f}", fig=fig)

    box = show_interactive(draw, t=widgets.FloatSlider(value=0.5, min=0, max=1))
    before = len(measured)
    box.children[0].children[0].value = 0.75
    assert box.redraw.count == 2 and len(measured) == before  # same labels: not measured
    box.children[0].children[0].value = 0.0  # a title of the same length, still not
    assert box.redraw.count == 3 and len(measured) == before


def test_a_suptitle_keeps_the_layout_unless_it_gains_a_line(monkeypatch):
    """A constrained layout makes room for a suptitle's height, not its length: 06's explorer
    names the initialisation in its suptitle, and a toggle must not measure every label
    again. A suptitle with another line lays the figure out anew, as a new figure would."""
    widgets = pytest.importorskip("ipywidgets")
    from helpers.notebook import show_interactive
    from helpers.notebook import widgets as explorer

    measured = []
    original = explorer.layout_fits
    monkeypatch.setattr(explorer, "layout_fits",
                        lambda fig, renderer=None: measured.append(1) or original(fig, renderer))

    def draw(name="a", fig=None):
        fig = _bars([[0.5, 0.5, 0.5], [0.5, 0, 0.5]], "t", fig=fig)
        fig.suptitle(name)
        return fig

    names = ["short", "a much longer suptitle", "two\nlines"]
    box = show_interactive(draw, name=widgets.Dropdown(options=names, value="short"))
    before = len(measured)
    box.children[0].children[0].value = names[1]
    assert box.redraw.count == 2 and len(measured) == before  # one line still: not measured
    box.children[0].children[0].value = names[2]
    assert box.redraw.count == 3
    fresh = draw(names[2])
    assert (_pixels(box.redraw.image.value) == _pixels(figure_png(fresh)[0])).all()


def test_every_digit_is_equally_wide_in_the_series_font():
    """layout_texts reads every digit as 0: true of matplotlib's default font, DejaVu Sans."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, axes = figure(1, 1, height=2.0)
    renderer = FigureCanvasAgg(fig).get_renderer()
    widths = {axes[0, 0].text(0, 0, f"{d}.{d}").get_window_extent(renderer).width
              for d in "0123456789"}
    assert len(widths) == 1, widths
