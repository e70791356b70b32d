"""How long every interactive figure of the series takes to redraw, control by control.

Runs each notebook that has an explorer (`show_interactive`) in a Jupyter kernel (nbclient),
up to its last explorer, with `helpers.notebook.show_interactive` wrapped so that, after
each explorer is built, every control is moved through up to 6 values and back; each move
redraws the figure exactly as in JupyterLab (the notebook's draw function, the PNG at the
screen's pixel ratio, the message to the front end), timed by `box.redraw`. Prints a table of
medians and maxima per control. It is not a test (timings vary with the machine's load, printed
with the results). The browser tests measure key press to picture.

    .venv/bin/python benchmarks/bench_widgets.py [notebooks/04_....ipynb ...]
    BENCH_PIXEL_RATIO=1 .venv/bin/python benchmarks/bench_widgets.py   # a projector's screen
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("draw", "render", "send")  # helpers.notebook.widgets._Redraw.phases

# runs first in the kernel: wrap show_interactive to sweep its controls and record the times
PROBE = r'''
import json as _json, sys as _sys
_sys.path.insert(0, ROOT)  # a fresh clone: helpers importable without installing the project
import helpers.notebook.widgets as _w
_original = _w.show_interactive
def _sweep(control):
    if hasattr(control, "options") and control.options:
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        values = values[:: max(1, len(values) // 6)][:6]
    elif hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        values = [lo + (hi - lo) * k / 5 for k in range(6)]
        if isinstance(control.value, int) and not isinstance(control.value, bool):
            values = sorted({int(round(v)) for v in values})
    elif isinstance(control.value, bool):
        values = [not control.value, control.value]
    else:
        values = []
    return values + values[::-1]  # there and back: each value drawn twice, after others
def show_interactive(draw, **controls):
    box = _original(draw, **controls)
    box.children[4].value = PIXEL_RATIO  # what the browser reports: 2 (a laptop), 1 (a projector)
    redraw, records = box.redraw, []
    render = redraw.render
    def timed_render(*args, **kwargs):  # every drawing, also one a control triggers in another
        before = redraw.count
        render(*args, **kwargs)
        if redraw.count > before:
            records.append({"seconds": redraw.seconds, **redraw.phases})
    redraw.render = timed_render
    for name, control in controls.items():
        start_value, records[:] = control.value, []
        for value in _sweep(control):
            control.value = value
        control.value = start_value
        with open(OUT, "a") as f:
            f.write(_json.dumps({"draw": getattr(draw, "__name__", "?"), "control": name,
                                 "records": records}) + "\n")
    redraw.render = render
    return box
_w.show_interactive = show_interactive
import helpers.notebook as _n
_n.show_interactive = show_interactive  # the name the notebooks import
'''


def explorer_notebooks() -> list[Path]:
    """The series' notebooks that build an explorer, in order."""
    return [nb for nb in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
            if "show_interactive(" in nb.read_text(encoding="utf-8")]


def run(notebook: Path) -> list[dict]:
    """Execute `notebook` up to its last explorer with the probe; one record per control."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    code = [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "show_interactive(" in c.source]
    if not code:
        return []
    nb.cells = nb.cells[: code[-1] + 1]  # the cells after the last explorer change nothing here
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.jsonl"
        out.touch()
        setup = (f"OUT = {str(out)!r}\nROOT = {str(ROOT)!r}\n"
                 f"PIXEL_RATIO = {os.environ.get('BENCH_PIXEL_RATIO', '2')!r}\n")
        nb.cells.insert(0, nbformat.v4.new_code_cell(setup + PROBE))
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        client.allow_errors = True
        client.execute()
        for cell in nb.cells:  # a failing cell may leave an explorer unmeasured: say so
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    print(f"  {notebook.name}: {output['ename']}: {output['evalue'][:120]}")
        return [json.loads(line) for line in out.read_text().splitlines()]


def main(argv: list[str]) -> int:
    """Run the explorers of the notebooks in `argv` (default: all), print the table."""
    try:
        import nbclient  # noqa: F401
    except ImportError:
        print("needs the project's environment: .venv/bin/python benchmarks/bench_widgets.py")
        return 2
    os.environ.setdefault("TQDM_DISABLE", "1")
    notebooks = [Path(a).resolve() for a in argv] or explorer_notebooks()
    began, load_before = time.perf_counter(), os.getloadavg()
    rows = []
    for nb in notebooks:
        for rec in run(nb):
            recs = rec["records"]
            if recs:
                ms = {key: [1000 * r.get(key, 0.0) for r in recs] for key in ("seconds", *PHASES)}
                rows.append((nb.name[:2], rec["draw"], rec["control"], len(recs),
                             statistics.median(ms["seconds"]), max(ms["seconds"]),
                             *(statistics.median(ms[k]) for k in PHASES)))
    elapsed, load_after = time.perf_counter() - began, os.getloadavg()
    print("\nredraw of each explorer, per control, in ms (median and max of every redraw; medians "
          "of its phases: draw = the notebook's draw function, render = layout, Agg and PNG, "
          "send = to the front end)")
    print(f"{'nb':<3} {'explorer':<13} {'control':<12} {'moves':>5} {'median':>7} {'max':>6} "
          + " ".join(f"{k:>6}" for k in PHASES))
    for nb, draw, control, n, med, mx, *phases in rows:
        print(f"{nb:<3} {draw:<13} {control:<12} {n:>5} {med:>7.0f} {mx:>6.0f} "
              + " ".join(f"{v:>6.0f}" for v in phases))
    if not rows:
        print("no explorer was measured")
        return 1
    slowest = max(rows, key=lambda row: row[4])
    print(f"\nslowest median: {slowest[4]:.0f} ms ({slowest[0]} {slowest[1]}, control {slowest[2]})")
    print(f"pixel ratio {os.environ.get('BENCH_PIXEL_RATIO', '2')} (BENCH_PIXEL_RATIO); "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} "
          f"after (1 min); benchmark ran {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
