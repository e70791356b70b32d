"""Tidy an executed notebook before it is committed: drop widget outputs and widget state,
and run timestamps, and join a print that the kernel sent in several pieces.

Stored widgets show only as "Loading widget..." or their Python repr outside a live kernel,
and their saved state (a snapshot of every slider and figure) bloats the file; every widget has
a static figure beside it, so the stored notebook does without them.

    python tools/clean_notebook.py notebooks/04_masked_self_attention.ipynb [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WIDGET = "application/vnd.jupyter.widget-view+json"


def join_streams(outputs: list[dict]) -> list[dict]:
    """One stdout (or stderr) output for consecutive pieces of it: how a busy kernel splits
    a print depends on timing, and the stored notebook should not."""
    joined: list[dict] = []
    for out in outputs:
        last = joined[-1] if joined else None
        if (out.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last["name"] == out["name"]):
            text = "".join(last["text"]) + "".join(out["text"])
            last["text"] = text.splitlines(keepends=True)
        else:
            joined.append(out)
    return joined


def clean(path: Path) -> None:
    """Rewrite `path` without widget outputs, widget state and execution timestamps."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            outputs = [o for o in cell["outputs"] if WIDGET not in o.get("data", {})]
            cell["outputs"] = join_streams(outputs)
            cell["metadata"].pop("execution", None)  # run timestamps: noise in every diff
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        clean(Path(arg))
