"""helpers.notebook.widgets: figures as retina pictures, and explorers that redraw in place."""

import pytest
import torch
from matplotlib.figure import Figure

from helpers import causal_mask
from helpers.notebook import figure_png
from helpers.viz import plot_mask, plot_mask_stages

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
