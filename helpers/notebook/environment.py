"""Notebook 00's environment check: which versions run, and whether they are the pinned ones
the stored outputs were made with (constraints.txt, at the root of a clone)."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import version
from pathlib import Path

PINNED = ("torch", "numpy", "matplotlib", "transformers", "tokenizers", "ipywidgets")


def environment_report(start: Path | None = None) -> list[str]:
    """Lines for the learner: Python, torch and matplotlib; whether `helpers` comes from the clone
    the notebook runs in; and whether six packages match constraints.txt. `start`: the folder to
    search upwards from for constraints.txt (the notebook's own, by default)."""
    lines = [f"Python {platform.python_version()}", f"torch {version('torch')}",
             f"matplotlib {version('matplotlib')}"]
    here = (start or Path.cwd()).resolve()
    clone = next((p for p in (here, *here.parents) if (p / "constraints.txt").exists()), None)
    if clone is None:
        return lines + ["constraints.txt not found above this folder: not run from a clone of the "
                        "repository, so the versions cannot be compared with the pinned ones"]
    package = Path(__file__).resolve().parents[1]  # the helpers folder this module belongs to
    lines.append(f"helpers from this clone: {package.is_relative_to(clone)}")
    pinned = dict(line.strip().split("==", 1) for line in
                  (clone / "constraints.txt").read_text(encoding="utf-8").splitlines()
                  if "==" in line and not line.startswith("#"))
    differ = {name: f"{version(name)} (pinned {pinned[name]})" for name in PINNED
              if name in pinned and version(name).split("+")[0] != pinned[name]}  # 2.13.0+cpu
    lines.append("versions: the pinned ones of constraints.txt" if not differ else
                 f"versions: not the pinned ones (make lab installs them): {differ}")
    if sys.version_info[:2] != (3, 11):  # the notebooks run, but were stored with Python 3.11
        lines.append(f"Note: this is Python {platform.python_version()}; the series is pinned to "
                     "3.11 (make lab), so a few printed numbers may differ in their last digit")
    return lines
