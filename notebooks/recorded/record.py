"""Record a notebook's timings: run it top to bottom, then save its `timings` dict as JSON.

Notebooks 09 and 10 time a few things live (those cells' outputs are ignored by the tests,
since they depend on the machine) and draw a static twin of each timing figure from a run
recorded here, with the machine named:

    .venv/bin/python notebooks/recorded/record.py notebooks/10_the_kv_cache.ipynb
    .venv/bin/python notebooks/recorded/record.py --threads 1 notebooks/...   # one thread

writes notebooks/recorded/10_the_kv_cache.json. On a machine shared with other jobs, one thread
gives steadier numbers (threads that wait for each other lose the most when cores are busy).
The notebook is executed in a fresh kernel (its stored outputs are not touched); the JSON holds
the machine, torch's version and thread count, the load average before and after the run, and
the notebook's `timings`.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

RECORDED = Path(__file__).resolve().parent

COLLECT = """
import json as _json, os as _os, platform as _platform, torch as _torch
print(_json.dumps({"timings": timings, "torch": _torch.__version__,
                   "threads": _torch.get_num_threads()}))
"""


def cpu_model() -> str:
    """The processor's name, as the kernel reports it (empty where it does not)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def record(notebook: Path, threads: int | None = None) -> Path:
    """Execute `notebook` in a fresh kernel (torch using `threads` threads, default: all
    cores) and write RECORDED/<its name>.json."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(COLLECT))
    load_before = os.getloadavg()
    start = time.perf_counter()
    os.environ.setdefault("TQDM_DISABLE", "1")
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # read by the kernel's torch at start
    NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(notebook.parent)}}).execute()
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    collected = json.loads(text)
    version = collected["torch"].split("+")[0]
    used = "" if collected["threads"] == os.cpu_count() else f" ({collected['threads']} thread)"
    machine = (f"{os.cpu_count()}-core {platform.machine().replace('_', '-')}{used}, "
               f"torch {version} CPU")
    out = {
        "notebook": notebook.name,
        "machine": machine,
        "cpu": cpu_model(),
        "torch": collected["torch"],
        "torch_threads": collected["threads"],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "notebook_seconds": round(seconds, 1),
        "recorded": time.strftime("%Y-%m-%d"),
        "timings": collected["timings"],
    }
    path = RECORDED / (notebook.stem + ".json")
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    args = sys.argv[1:]
    n_threads = None
    if args[:1] == ["--threads"]:
        n_threads, args = int(args[1]), args[2:]
    for arg in args:
        print(f"recorded {record(Path(arg).resolve(), n_threads)}")
