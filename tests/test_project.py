"""The project's promises about itself: light import, pinned environments that agree."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_helpers_is_light():
    code = ("import sys, helpers; heavy = [m for m in ('transformers', 'tokenizers', "
            "'matplotlib', 'ipywidgets', 'bertviz') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "[]"


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.fullmatch(r"\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s]+)\s*", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from_pyproject = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    from_conda = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert from_pyproject, "no pinned packages found in pyproject.toml"
    assert from_conda == from_pyproject
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_constraints_agree_with_pyproject():
    locked = _pins((ROOT / "constraints.txt").read_text().splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for name, version in _pins(project["dependencies"]).items():
        assert locked.get(name) == version, name


NOTEBOOKS = [path for edition in ("", "zh/") for folder in ("", "solutions/")
             for path in sorted((ROOT / "notebooks").glob(f"{edition}{folder}*.ipynb"))]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebooks_are_executed_in_order_in_the_projects_python(notebook):
    import json

    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), "run it top to bottom: make execute NB=..."
    assert nb["metadata"]["language_info"]["version"].startswith("3.11"), "execute it in .venv"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    expected = [c for c in code if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(errors) <= len(expected), "only cells tagged raises-exception may store an error"
    for cell in code:
        source = "".join(cell["source"])
        assert "NBVAL_" not in source, "nbval markers are cell tags, not comments in teaching code"
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            assert cell["metadata"].get("nbval_ignore_reason"), "an ignored output needs a reason"
        text = json.dumps(cell["outputs"])
        assert "/work/" not in text and "/home/" not in text, "a stored output shows a local path"

