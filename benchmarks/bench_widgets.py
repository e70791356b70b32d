"""How long every interactive figure of the series takes to redraw, control by control.

Runs each notebook in a Jupyter kernel (nbclient), with `helpers.widgets.show_interactive`
wrapped so that, after each explorer is built, every control is moved through several values;
each move redraws the figure exactly as in JupyterLab (the notebook's draw function, then the
retina PNG), and `box.redraw.seconds` is that time. Prints a table and the slowest callback;
the target is under 200 ms on 2 cores. The browser tests measure the same from key press to
picture on screen.

    python benchmarks/bench_widgets.py [notebooks/04_masked_self_attention.ipynb ...]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs first in the kernel: wrap show_interactive to sweep its controls and record the times
PROBE = r'''
import json as _json, helpers.widgets as _w
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
    return values
def show_interactive(draw, **controls):
    box = _original(draw, **controls)
    for name, control in controls.items():
        start_value, times = control.value, []
        for value in _sweep(control):
            before = box.redraw.count
            control.value = value
            if box.redraw.count > before:
                times.append(box.redraw.seconds)
        control.value = start_value
        with open(OUT, "a") as f:
            f.write(_json.dumps({"draw": getattr(draw, "__name__", "?"), "control": name,
                                 "times": times}) + "\n")
    return box
_w.show_interactive = show_interactive
'''


def run(notebook: Path) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.jsonl"
        out.touch()
        probe = nbformat.v4.new_code_cell(f"OUT = {str(out)!r}\n" + PROBE)
        nb.cells.insert(0, probe)
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        client.allow_errors = True
        client.execute()
        return [json.loads(line) for line in out.read_text().splitlines()]


def main(argv: list[str]) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    notebooks = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    rows = []
    for nb in notebooks:
        for rec in run(nb):
            if rec["times"]:
                rows.append((nb.name[:2], rec["draw"], rec["control"], statistics.median(rec["times"]),
                             max(rec["times"]), len(rec["times"])))
    print(f"{'nb':<3} {'draw function':<28} {'control':<14} {'median':>8} {'max':>8} {'moves':>5}")
    for nb, draw, control, med, mx, n in rows:
        print(f"{nb:<3} {draw:<28} {control:<14} {med * 1000:>6.0f}ms {mx * 1000:>6.0f}ms {n:>5}")
    if rows:
        slowest = max(rows, key=lambda r: r[4])
        print(f"\nslowest redraw: {slowest[4] * 1000:.0f} ms ({slowest[0]} {slowest[1]}, "
              f"{slowest[2]}); target: under 200 ms on 2 cores")


if __name__ == "__main__":
    main(sys.argv[1:])
