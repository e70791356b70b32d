"""The exercise checks' machinery and nbval's rule for printed numbers."""

from exercises import call, exercise, require
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
