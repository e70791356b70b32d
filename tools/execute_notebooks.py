"""Re-execute notebooks in place, tidy them (tools/clean_notebook.py) and print each one's time.

The time printed is what "Restart Kernel and Run All Cells" costs a learner: starting the
kernel and running every cell. One process runs every notebook and stops each kernel at once
after its last cell (no notebook leaves work for exit time), so neither a Python start-up per
notebook nor a kernel's graceful shutdown is counted, or waited for.

    python tools/execute_notebooks.py notebooks/04_masked_self_attention.ipynb [...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clean_notebook import clean  # noqa: E402

os.environ.setdefault("GPT2_STEP_BY_STEP_PROGRESS", "off")  # the kernels record no verdicts


def execute(path: Path) -> float:
    """Run every cell of `path` in a fresh kernel started in its folder, write the outputs
    back and tidy the file; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    clean(path)
    return seconds


def main(paths: list[str]) -> None:
    total = 0.0
    for name in paths:
        seconds = execute(Path(name))
        total += seconds
        print(f"{seconds:6.1f} s  {name}", flush=True)
    print(f"{total:6.1f} s  in all")


if __name__ == "__main__":
    main(sys.argv[1:])
