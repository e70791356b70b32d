"""Notebook glue (the third layer): explorers, hints for cells run out of order, and the
set-up every notebook's first cell calls. Imports the layers below; nothing imports it.

    import helpers.notebook
    helpers.notebook.setup()   # figures as sharp pictures; a NameError names the cell to run
"""

from helpers.notebook.hints import install_cell_hints
from helpers.notebook.widgets import enable_notebook_display, figure_png, show_interactive

__all__ = ["setup", "install_cell_hints", "enable_notebook_display", "figure_png", "show_interactive"]


def setup() -> None:
    """What a notebook of the series turns on in its first cell, and only in IPython: a
    returned Figure shows as a retina PNG, and a NameError says which earlier cell defines the
    missing name. `import helpers` changes nothing by itself."""
    enable_notebook_display()
    install_cell_hints()
