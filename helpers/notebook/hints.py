"""Cells run out of order: a NameError in a notebook says which earlier cell defines the name.

After a kernel restart, running a cell in the middle of a notebook fails with
`NameError: name 'model' is not defined`. In JupyterLab the kernel knows its notebook's file
(`JPY_SESSION_NAME`), so the error can add where `model` is defined: the code cell's number,
its first line and the section it sits in. `helpers.notebook.setup()` installs it, in IPython only.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path


def defined_names(source: str) -> set[str]:
    """Names a cell's code binds at top level or below: assignments, defs, classes, imports,
    loop and with targets. A cell that does not parse (IPython magics) binds nothing we see."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def where_defined(notebook: dict, name: str) -> str | None:
    """'code cell 7 (`model = ...`) in section "The shipped model"' for the first code cell
    of `notebook` (nbformat JSON) that binds `name`, or None."""
    section, number = None, 0
    for cell in notebook.get("cells", []):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            headings = [ln.lstrip("#").strip() for ln in source.splitlines() if ln.startswith("#")]
            section = headings[-1] if headings else section
        elif cell.get("cell_type") == "code":
            number += 1
            if name in defined_names(source):
                first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
                where = f"code cell {number} (`{first[:60]}`)"
                return where + (f' in section "{section}"' if section else "")
    return None


def hint(name: str, notebook_path: str | None) -> str:
    """What to tell a learner whose cell used `name` before the cell defining it ran."""
    generic = (f"'{name}' is defined in an earlier cell that has not run since the kernel "
               "started: run the cells above this one (Run > Run All Above Selected Cell)")
    if not notebook_path or not Path(notebook_path).is_file():
        return generic
    try:
        notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return generic
    where = where_defined(notebook, name)
    if where is None:  # not defined anywhere: a typo, not an order problem
        return ""
    return (f"'{name}' is defined in {where}, which has not run since the kernel started: "
            "run it (or Run > Run All Above Selected Cell) and then this cell again")


def _after_cell(result) -> None:
    """IPython's post_run_cell hook: below a NameError's traceback, say which cell to run."""
    error = getattr(result, "error_in_exec", None)
    if isinstance(error, NameError) and getattr(error, "name", None):
        advice = hint(error.name, os.environ.get("JPY_SESSION_NAME"))
        if advice:
            print(f"How to fix it: {advice}", file=sys.stderr)


def install_cell_hints() -> None:
    """Add `hint` to NameErrors in an IPython kernel; nothing happens outside IPython."""
    if "IPython" not in sys.modules:  # a script or a test: leave Python's errors alone
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None and _after_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _after_cell)
