"""The exercise checks' machinery and nbval's rule for printed numbers."""

import json

import torch

from exercises import CORRECT, WRONG, as_bool, as_int, call, call_refusing, exercise, reference, require
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
    assert _check_square(lambda x: x * x) is CORRECT
    assert capsys.readouterr().out.strip().endswith("Exercise 1: correct.")
    assert _check_square(lambda x: 4) is WRONG  # right for 2 only: a hard-coded answer fails
    assert "not right yet. square(3) should be 3·3" in capsys.readouterr().out
    assert _check_square(lambda x: x.nope) is WRONG  # the learner's error is a hint, not a crash
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
    assert _check_own_softmax(lambda s: s.exp() / s.exp().sum()) is CORRECT
    for ready_made in (lambda s: torch.softmax(s, 0), lambda s: s.softmax(0),
                       lambda s: torch.nn.functional.softmax(s, dim=0),
                       lambda s: (s - torch.logsumexp(s, 0)).exp()):
        capsys.readouterr()
        assert _check_own_softmax(ready_made) is WRONG
        assert "does the work for you: use exp and a sum" in capsys.readouterr().out
    assert _check_own_softmax(lambda s: s.nope) is WRONG  # other errors stay the learner's
    assert "your code raised AttributeError" in capsys.readouterr().out
    assert (torch.softmax, torch.nn.functional.softmax, torch.Tensor.softmax) == original
    assert torch.allclose(torch.tensor([0.0, 0.0]).softmax(0), torch.tensor([0.5, 0.5]))


def _ready_made_double(t):  # a function of "the series" that does the exercise's work
    return t * 2


@exercise("99", 4)
def _check_own_double(fn):
    t = torch.tensor([1.0, 2.0])
    got = call_refusing(fn, t, refuse=(), callers=(_ready_made_double,), hint="multiply it")
    require(torch.equal(got, t * 2), "not twice")


def test_a_check_can_refuse_a_ready_made_function_of_the_series_however_it_is_reached(capsys):
    assert _check_own_double(lambda t: t + t) is CORRECT
    assert _ready_made_double(torch.ones(1)).item() == 2.0  # outside a check it works
    for ready_made in (_ready_made_double, lambda t: _ready_made_double(t),
                       lambda t: [_ready_made_double(u) for u in [t]][0]):
        capsys.readouterr()
        assert _check_own_double(ready_made) is WRONG
        assert "_ready_made_double does the work for you: multiply it" in capsys.readouterr().out
    assert _ready_made_double(torch.ones(1)).item() == 2.0


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


# --- the kinds of weakness a check must not have (each test fails without its defence) -------


@exercise("99", 4)
def _check_normalise(fn):
    x = torch.tensor([1.0, 3.0, 4.0])
    require(torch.allclose(call(fn, x), x / x.sum()), "divide by the sum")


def test_an_answer_that_changes_its_input_in_place_is_caught(capsys):
    assert _check_normalise(lambda x: x / x.sum()) is CORRECT
    assert _check_normalise(lambda x: x.div_(x.sum())) is WRONG  # right values, input spoiled
    assert "changed its input in place (argument 1" in capsys.readouterr().out


@exercise("99", 7)
def _check_scaled_output(fn):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, w = torch.randn(4, 3), torch.randn(2, 3)
    want = x @ w.T + model.bias  # computed before the learner's code runs
    require(torch.allclose(call(fn, model, x, w), want), "use w, with the model's bias")


def test_an_answer_that_changes_a_model_s_weights_is_caught(capsys):
    assert _check_scaled_output(lambda m, x, w: x @ w.T + m.bias) is CORRECT

    def assign(m, x, w):  # right numbers, but the caller's model now holds w
        m.weight = torch.nn.Parameter(w.clone())
        return m(x)

    def through_data(m, x, w):
        m.weight.data = w.clone()
        return m(x)

    def put_back(m, x, w):  # changed and restored: the model comes back as it went in
        kept = m.weight.data.clone()
        m.weight.data = w.clone()
        out = m(x)
        m.weight.data = kept
        return out

    for spoils in (assign, through_data):
        capsys.readouterr()
        assert _check_scaled_output(spoils) is WRONG
        assert "changed the model's weights in place: weight." in capsys.readouterr().out
    assert _check_scaled_output(put_back) is CORRECT


def test_a_forbidden_function_is_refused_however_it_was_reached(capsys):
    from torch.nn.functional import softmax as imported_before  # bound before the check runs

    for ready_made in (lambda s: imported_before(s, 0), lambda s: torch.special.softmax(s, 0),
                       lambda s: torch._softmax(s, 0, False)):
        capsys.readouterr()
        assert _check_own_softmax(ready_made) is WRONG
        assert "softmax does the work for you" in capsys.readouterr().out
    assert torch.allclose(imported_before(torch.zeros(2), 0), torch.tensor([0.5, 0.5]))


@reference
def _squared(x):
    return x * x


def test_a_check_s_own_reference_is_no_answer(capsys):
    assert _squared(3) == 9  # the check itself may call it
    for borrowed in (_squared, lambda x: _squared(x) + 0):
        capsys.readouterr()
        assert _check_square(borrowed) is WRONG
        assert "the check's own reference answer" in capsys.readouterr().out


@exercise("99", 5)
def _check_is_even(fn):
    for n in (2, 3, 10):
        require(as_bool(call(fn, n), "is_even") == (n % 2 == 0), f"{n}")


@exercise("99", 6)
def _check_count(fn):
    require(as_int(call(fn, [1, 2, 3]), "count") == 3, "three items")


def test_a_right_answer_is_not_rejected_for_its_type():
    import numpy as np

    assert _check_is_even(lambda n: np.bool_(n % 2 == 0)) is CORRECT
    assert _check_is_even(lambda n: torch.tensor(n % 2 == 0)) is CORRECT
    assert _check_count(lambda xs: np.int64(len(xs))) is CORRECT
    assert _check_count(lambda xs: torch.tensor(len(xs))) is CORRECT
    assert _check_count(lambda xs: float(len(xs))) is WRONG  # 3.0 is not a count
    assert _check_is_even(lambda n: n % 2) is WRONG  # 0/1 is not True/False


def test_a_function_that_forgets_return_is_told_so(capsys):
    def forgot(x):
        x * x  # noqa: B018  (computed, never returned)

    def placeholder(x):
        """Square x."""
        ...

    assert _check_square(forgot) is WRONG
    out = capsys.readouterr().out
    assert "forgot returned None" in out and "`return" in out
    assert _check_square(placeholder) is None
    assert "not answered yet" in capsys.readouterr().out


def test_a_check_leaves_the_random_generators_as_it_found_them():
    import random

    import numpy as np

    def noisy(x):
        torch.rand(5), random.random(), np.random.rand()  # the learner's code draws numbers
        return x * x

    torch.manual_seed(7), random.seed(7), np.random.seed(7)
    expected = torch.rand(2), random.random(), np.random.rand()
    torch.manual_seed(7), random.seed(7), np.random.seed(7)
    assert _check_square(noisy) is CORRECT
    after = torch.rand(2), random.random(), np.random.rand()
    assert torch.equal(after[0], expected[0]) and after[1:] == expected[1:]


def test_a_verdict_shows_nothing_as_a_cell_s_value():
    from IPython.core.formatters import DisplayFormatter

    assert bool(CORRECT) and not bool(WRONG)
    assert DisplayFormatter().format(CORRECT) == ({}, {})  # no stray "True" under the cell
    assert DisplayFormatter().format(True)[0]  # what a bool would show
