"""The exercise checks' machinery and nbval's rule for printed numbers."""

import json

import torch

from exercises import call, call_refusing, exercise, require
from tools.nbval_numbers import numbers_agree


@exercise("99", 1)
def _check_square(fn):
    for x in (2, 3, -4):
        require(call(fn, x) == x * x, f"square({x}) should be {x}·{x}")


def test_a_check_says_not_answered_right_or_wrong(capsys):
    assert _check_square(...) is None
    assert "Exercise 1: not answered yet" in capsys.readouterr().out

    def stub(x):
        ...

    assert _check_square(stub) is None  # a function whose body is still `...`
    assert _check_square(lambda x: x * x) is True
    assert capsys.readouterr().out.strip().endswith("Exercise 1: correct.")
    assert _check_square(lambda x: 4) is False  # right for 2 only: a hard-coded answer fails
    assert "not right yet. square(3) should be 3·3" in capsys.readouterr().out
    assert _check_square(lambda x: x.nope) is False  # the learner's error is a hint, not a crash
    assert "your code raised AttributeError" in capsys.readouterr().out

    @exercise("99", 2)
    def broken_check(fn):
        call(fn, 1)
        raise KeyError("a bug in the check itself")

    import pytest

    with pytest.raises(KeyError):  # a check's own bug is not blamed on the learner
        broken_check(lambda x: x)
    assert "solutions/99_solutions.ipynb" in (_check_square(...), capsys.readouterr().out)[1]


@exercise("99", 3)
def _check_own_softmax(fn):
    s = torch.tensor([1.0, 2.0, 3.0])
    got = call_refusing(fn, s, refuse=("softmax", "logsumexp"), hint="use exp and a sum")
    require(torch.allclose(got, torch.softmax(s, dim=0)), "not the softmax")


def test_a_check_can_refuse_torch_s_own_functions_and_puts_them_back(capsys):
    original = torch.softmax, torch.nn.functional.softmax, torch.Tensor.softmax
    assert _check_own_softmax(lambda s: s.exp() / s.exp().sum()) is True
    for ready_made in (lambda s: torch.softmax(s, 0), lambda s: s.softmax(0),
                       lambda s: torch.nn.functional.softmax(s, dim=0),
                       lambda s: (s - torch.logsumexp(s, 0)).exp()):
        capsys.readouterr()
        assert _check_own_softmax(ready_made) is False
        assert "does the work for you: use exp and a sum" in capsys.readouterr().out
    assert _check_own_softmax(lambda s: s.nope) is False  # other errors stay the learner's
    assert "your code raised AttributeError" in capsys.readouterr().out
    assert (torch.softmax, torch.nn.functional.softmax, torch.Tensor.softmax) == original
    assert torch.allclose(torch.tensor([0.0, 0.0]).softmax(0), torch.tensor([0.5, 0.5]))


def test_printed_numbers_may_differ_by_one_unit_in_their_last_digit():
    assert numbers_agree("loss -3.6643 at step 4", "loss -3.6644 at step 4")
    assert numbers_agree("p = 0.002989", "p = 0.002988")
    assert numbers_agree("9.99", "10.00")
    assert numbers_agree("1.2e-05", "1.3e-05")
    assert not numbers_agree("loss -3.664", "loss -3.667")  # two units: print fewer digits
    assert not numbers_agree("124,439,808", "124,439,809")  # integers are exact
    assert not numbers_agree("0.1", "0.10")  # a different number of digits
    assert not numbers_agree("loss 1.5", "gain 1.5")  # words are exact
    assert not numbers_agree("1.5 2.5", "1.5")


def test_the_cleaner_joins_a_print_the_kernel_sent_in_pieces():
    from tools.clean_notebook import join_streams

    pieces = [{"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
              {"output_type": "stream", "name": "stdout", "text": ["c\n"]},
              {"output_type": "stream", "name": "stderr", "text": ["w\n"]},
              {"output_type": "display_data", "data": {}, "metadata": {}},
              {"output_type": "stream", "name": "stdout", "text": ["d\n"]}]
    joined = join_streams(pieces)
    assert [o.get("name") for o in joined] == ["stdout", "stderr", None, "stdout"]
    assert joined[0]["text"] == ["a\n", "bc\n"]


def test_make_execute_runs_a_notebook_in_its_folder_in_order_and_stores_it_tidy(tmp_path):
    import nbformat

    from tools.execute_notebooks import execute

    (tmp_path / "beside.txt").write_text("found\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = open('beside.txt').read().strip()"),  # the notebook's folder
        nbformat.v4.new_code_cell("print(x)\nprint(len(x))"),
    ])
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    seconds = execute(path)
    stored = json.loads(path.read_text())
    cells = stored["cells"]
    assert [c["execution_count"] for c in cells] == [1, 2]
    assert cells[1]["outputs"][0]["text"] == ["found\n", "5\n"]
    assert all("execution" not in c["metadata"] for c in cells)  # run timestamps dropped
    assert 0 < seconds < 120


def test_nbval_cells_compare_printed_numbers_by_the_rule():
    """The plugin gives each nbval cell the rule through its own sanitize (the stored and the
    fresh output are both sanitized, then compared with ==)."""
    from tools.nbval_numbers import compare_numbers_by_the_rule

    class Cell:  # nbval's IPyNbCell.sanitize, as far as the plugin sees it
        def sanitize(self, s):
            return s.replace("0x7f00", "ADDRESS")

    cell = Cell()
    compare_numbers_by_the_rule(cell)
    assert cell.sanitize("loss -3.6643 at 0x7f00") == cell.sanitize("loss -3.6644 at 0x7f00")
    assert cell.sanitize("loss -3.664") != cell.sanitize("loss -3.667")
    assert Cell().sanitize("loss -3.6643") != Cell().sanitize("loss -3.6644")  # without: exact
