"""Notebook 00's environment check (helpers.notebook.environment)."""

from pathlib import Path


def test_the_environment_check_compares_with_the_pins(tmp_path):
    """00's environment check: in this clone the six packages are the pinned ones; with a
    constraints.txt that pins another torch it names the difference; outside a clone it says
    it cannot compare."""
    from importlib.metadata import version

    from helpers.notebook import environment_report

    here = environment_report(Path(__file__).resolve().parent)
    assert "helpers from this clone: True" in here
    assert "versions: the pinned ones of constraints.txt" in here
    (tmp_path / "constraints.txt").write_text(f"torch==1.0.0\nnumpy=={version('numpy')}\n")
    other = environment_report(tmp_path)
    assert "helpers from this clone: False" in other
    assert any(line.startswith("versions: not the pinned ones") and "'torch'" in line and "numpy" not in line
               for line in other)
    nowhere = environment_report(Path("/"))
    assert nowhere[-1].startswith("constraints.txt not found")
