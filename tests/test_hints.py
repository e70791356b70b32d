"""A NameError in a notebook names the earlier cell that defines the missing name."""

import json
import sys

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from helpers.notebook.hints import defined_names, hint, where_defined


def notebook() -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Notebook\n## Set-up"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport helpers\nimport helpers.notebook\nimport torch.nn as nn"),
        nbformat.v4.new_markdown_cell("## The shipped model"),
        nbformat.v4.new_code_cell("model = helpers.load_default_model()\nfor i, blk in []:\n    pass"),
        nbformat.v4.new_code_cell("def show(x):\n    return x\nwith open('f') as handle:\n    pass"),
    ]
    return json.loads(nbformat.writes(nb))


def test_defined_names_finds_every_way_to_bind_a_name():
    source = "import a.b as c\nfrom d import e\nx, y = 1, 2\nfor i in []: pass\ndef f(): z = 1"
    assert {"c", "e", "x", "y", "i", "f", "z"} <= defined_names(source)
    assert defined_names("%timeit x = 1\nx = 2") == {"x"}  # magics are skipped
    assert defined_names("def broken(:") == set()


def test_where_defined_gives_cell_number_first_line_and_section():
    nb = notebook()
    assert where_defined(nb, "model") == ('code cell 2 (`model = helpers.load_default_model()`) '
                                          'in section "The shipped model"')
    assert where_defined(nb, "nn").startswith("code cell 1 (`%matplotlib inline`)")
    assert where_defined(nb, "handle").startswith("code cell 3")
    assert where_defined(nb, "nowhere") is None


def test_hint_without_the_notebook_file_is_generic_and_a_typo_gets_none(tmp_path):
    assert "run the cells above this one" in hint("model", None)
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook()))
    assert hint("modle", str(path)) == ""  # defined nowhere: a typo, not an order problem
    assert "code cell 2" in hint("model", str(path))


@pytest.mark.timeout(120)
def test_a_kernel_started_by_jupyterlab_names_the_cell_to_run(tmp_path):
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(notebook()))
    km, kc = start_new_kernel(kernel_name="python3", env={"JPY_SESSION_NAME": str(path),
                                                          "PYTHONPATH": ":".join(sys.path)})
    try:
        outputs = []
        kc.execute_interactive("import helpers", timeout=60)  # importing alone installs nothing
        reply = kc.execute_interactive("print(model)", timeout=60, output_hook=outputs.append)
        assert not [m for m in outputs if m["msg_type"] == "stream"]
        setup = "import helpers.notebook\nhelpers.notebook.setup()"
        kc.execute_interactive(setup, timeout=60)
        kc.execute_interactive(setup, timeout=60)  # installed once, not twice
        outputs = []
        reply = kc.execute_interactive("print(model)", timeout=60, output_hook=outputs.append)
        assert reply["content"]["status"] == "error"  # Run All still stops here
        error = next(m for m in outputs if m["msg_type"] == "error")
        assert error["content"]["ename"] == "NameError"
        text = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream")
        assert text == ("How to fix it: 'model' is defined in code cell 2 (`model = "
                        "helpers.load_default_model()`) in section \"The shipped model\", which "
                        "has not run since the kernel started: run it (or Run > Run All Above "
                        "Selected Cell) and then this cell again\n")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
