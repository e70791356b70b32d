"""How long every interactive figure of the series takes to redraw, control by control.

Runs each notebook that has an explorer (`show_interactive`) in a Jupyter kernel (nbclient),
up to its last explorer, with `helpers.widgets.show_interactive` wrapped so that, after each
explorer is built, every control is moved through up to 6 values and back; each move redraws
the figure exactly as in JupyterLab (the notebook's draw function, the retina PNG, the message
to the front end), timed by `box.redraw`. Prints a table, the slowest callback and whether
each meets the target: under 200 ms on 2 cores. It is not a test (timings vary with the
machine's load, printed with the results). The browser tests measure key press to picture.

    .venv/bin/python benchmarks/bench_widgets.py [--check-layout] [notebooks/04_....ipynb ...]

--check-layout also draws every figure anew, laid out from scratch, and says whether its
pixels equal the picture the explorer showed (which may have reused an earlier layout).
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
TARGET_MS = 200.0
PHASES = ("draw", "render", "send", "free")  # helpers.widgets._Redraw.phases

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
    redraw, records = box.redraw, []
    render = redraw.render
    def timed_render(*args, **kwargs):  # every drawing, also one a control triggers in another
        before, reused = redraw.count, redraw.layouts.hits
        render(*args, **kwargs)
        if redraw.count > before:
            record = {"seconds": redraw.seconds, **redraw.phases,
                      "reused": redraw.layouts.hits > reused}  # an earlier redraw's layout
            if CHECK:  # the same values drawn anew, laid out from scratch: the same pixels?
                png, _ = _w.figure_png(_w._as_figure(draw(**redraw.values())))
                record["same"] = png == redraw.image.value
            records.append(record)
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
'''


def explorer_notebooks() -> list[Path]:
    """The series' notebooks that build an explorer, in order."""
    return [nb for nb in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
            if "show_interactive(" in nb.read_text(encoding="utf-8")]


def run(notebook: Path, check: bool = False) -> list[dict]:
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
        setup = f"OUT = {str(out)!r}\nROOT = {str(ROOT)!r}\nCHECK = {check}\n"
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
    check = "--check-layout" in argv  # also draw each figure anew and compare the pixels
    notebooks = [Path(a).resolve() for a in argv if a != "--check-layout"] or explorer_notebooks()
    began, load_before = time.perf_counter(), os.getloadavg()
    rows, by_layout = [], {True: [], False: []}  # redraw ms, by whether a layout was reused
    for nb in notebooks:
        for rec in run(nb, check):
            recs = rec["records"]
            if recs:
                ms = {key: [1000 * r.get(key, 0.0) for r in recs] for key in ("seconds", *PHASES)}
                rows.append((nb.name[:2], rec["draw"], rec["control"], len(recs),
                             sum(r["reused"] for r in recs), statistics.median(ms["seconds"]),
                             max(ms["seconds"]), *(statistics.median(ms[k]) for k in PHASES)))
                for r in recs:
                    by_layout[r["reused"]].append(1000 * r["seconds"])
                differ = [r for r in recs if not r.get("same", True)]
                if differ:
                    print(f"  {nb.name[:2]} {rec['draw']} {rec['control']}: {len(differ)} of "
                          f"{len(recs)} pictures differ from a figure laid out anew")
                elif check:
                    print(f"  {nb.name[:2]} {rec['draw']} {rec['control']}: all {len(recs)} "
                          "pictures equal a figure drawn and laid out anew")
    elapsed, load_after = time.perf_counter() - began, os.getloadavg()
    print(f"\nredraw of each explorer, per control, in ms (median and max of every redraw; "
          f"medians of its phases: draw = the notebook's draw function, render = layout, Agg "
          f"and PNG, send = to the front end, free = the figure's garbage; reused = redraws "
          f"that reused an earlier redraw's layout); target < "
          f"{TARGET_MS:.0f} ms")
    print(f"{'nb':<3} {'explorer':<13} {'control':<12} {'moves':>5} {'reused':>6} {'median':>7} {'max':>6} "
          + " ".join(f"{k:>6}" for k in PHASES) + "  verdict")
    for nb, draw, control, n, reused, med, mx, *phases in rows:
        verdict = "pass" if mx < TARGET_MS else "FAIL (max)" if med < TARGET_MS else "FAIL"
        print(f"{nb:<3} {draw:<13} {control:<12} {n:>5} {reused:>6} {med:>7.0f} {mx:>6.0f} "
              + " ".join(f"{v:>6.0f}" for v in phases) + f"  {verdict}")
    if not rows:
        print("no explorer was measured")
        return 1
    slowest = max(rows, key=lambda row: row[6])
    passed = sum(row[6] < TARGET_MS for row in rows)
    print(f"\nslowest callback: {slowest[6]:.1f} ms ({slowest[0]} {slowest[1]}, control "
          f"{slowest[2]}; its median {slowest[5]:.0f} ms); target: under {TARGET_MS:.0f} ms "
          f"on 2 cores -> {'PASS' if slowest[6] < TARGET_MS else 'FAIL'}")
    print(f"{passed} of {len(rows)} controls pass (every redraw under the target)")
    if by_layout[True] and by_layout[False]:
        print(f"redraws that reused an earlier layout: {len(by_layout[True])}, median "
              f"{statistics.median(by_layout[True]):.0f} ms; that computed one: "
              f"{len(by_layout[False])}, median {statistics.median(by_layout[False]):.0f} ms")
    print(f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} "
          f"after (1 min); benchmark ran {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
