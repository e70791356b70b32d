"""Notebook glue (the third layer): explorers, hints for cells run out of order, and the
set-up every notebook's first cell calls. Imports the layers below; nothing imports it.

    import helpers.notebook
    helpers.notebook.setup()   # figures as sharp pictures; a NameError names the cell to run
    helpers.notebook.setup(language="zh")   # the same, in the Chinese edition (中文版)
"""

from helpers.language import set_language
from helpers.notebook.environment import environment_report
from helpers.notebook.hints import install_cell_hints
from helpers.notebook.widgets import enable_notebook_display, figure_png, show_interactive

__all__ = ["setup", "install_cell_hints", "enable_notebook_display", "figure_png", "show_interactive",
           "environment_report"]


def setup(language: str = "en") -> None:
    """What a notebook of the series turns on in its first cell: the edition's language (the
    checks' verdicts and the diagrams' labels), and, in IPython only, a returned Figure shown as
    a retina PNG and a NameError that says which earlier cell defines the missing name.
    `import helpers` changes nothing by itself."""
    set_language(language)
    if language == "zh":  # Chinese words in any figure, the notebook's own code's included
        from helpers.viz.style import use_cjk_font

        use_cjk_font()
    enable_notebook_display()
    install_cell_hints()
