"""The notebook glue: figures that display as pictures, and controls that redraw a figure.

Kept apart from `helpers.viz` (which only draws) so the drawing code reads without IPython.
"""

from __future__ import annotations


def enable_notebook_display() -> None:
    """In a Jupyter kernel, make a returned Figure show as a PNG picture (not just its text).

    pyplot's inline backend does this only once pyplot has drawn something; figures here are
    made without pyplot (so each shows once, as the cell's value), so register the format.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    from matplotlib.figure import Figure

    ip = get_ipython()
    if ip is not None and Figure not in ip.display_formatter.formatters["image/png"].type_printers:
        select_figure_formats(ip, {"png"})  # leaves an inline backend already set up alone



def show_interactive(draw, **controls):
    """Connect ipywidgets `controls` to `draw(**values) -> Figure`; the figure is redrawn in
    an Output widget whenever a control moves. Returns the widget box to display."""
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()

    def update(**values):
        fig = draw(**values)
        with out:
            out.clear_output(wait=True)
            display(fig)

    widgets.interactive_output(update, controls)
    return widgets.VBox([widgets.HBox(list(controls.values())), out])
