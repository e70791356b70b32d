"""Checks for the notebooks' exercises: one module per notebook (`exercises.nb04`, ...).

A learner cell holds a placeholder (`...`, or a function whose body is `...`). The check cell
after it calls `check.exercise_N(answer)`, which prints one line and returns:
    None     "not answered yet" (the placeholder is still there; Run All carries on),
    CORRECT  the answer is right (true in an `if`),
    WRONG    the answer is wrong, with a hint that does not give the answer away (false).
Neither shows as the cell's value: the printed line is the verdict.
Checks recompute what they compare against, so a hard-coded value cannot pass; their own
reference answers refuse to run inside the learner's code (`reference`), a forbidden torch
function is refused however it is reached (`call_refusing`), an input changed in place (a
tensor, or a model's weights) is caught, and the learner's random generators are left as they were.
The worked solutions are in notebooks/solutions/, and call the same checks. In the Chinese
edition every printed line is in Chinese (exercises.i18n, one catalog; no second copy of a check).
"""

from __future__ import annotations

import contextlib
import contextvars
import dis
import functools
import inspect
import numbers
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


class Wrong(Exception):
    """Raised inside a check with a hint for the learner."""


class NotAnswered(Exception):
    """Raised inside a check when the learner's cell still holds its placeholder."""


class LearnersCodeRaised(Exception):
    """The learner's function raised: shown as a hint. (An error in a check itself is a bug
    in the check and is not caught.)"""


class Verdict:
    """What a check returns once answered: true when the answer is right. As a cell's last
    value it shows nothing, since the check has printed its line already."""

    def __init__(self, correct: bool) -> None:
        self.correct = correct

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return "CORRECT" if self.correct else "WRONG"

    def _ipython_display_(self) -> None:
        """IPython's hook for an object that displays itself: here, as nothing."""


CORRECT, WRONG = Verdict(True), Verdict(False)


def is_placeholder(value: Any) -> bool:
    """`...` and None are what an unanswered cell holds (or returns)."""
    return value is ... or value is None


def _has_empty_body(fn: Callable) -> bool:
    """A function whose body is only `...` or `pass` (a docstring aside): the placeholder.
    Its bytecode only returns None."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    steps = [(i.opname, i.argval) for i in dis.get_instructions(code)
             if i.opname not in ("RESUME", "NOP")]
    return steps in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


_learner_running = contextvars.ContextVar("learner_running", default=False)


def reference(fn: Callable) -> Callable:
    """Mark a check's own solution: it refuses to run inside the learner's code, so passing it
    (or a function that calls it) as the answer is not accepted."""
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        if _learner_running.get():
            raise ReadyMade("that is the check's own reference answer; write your own")
        return fn(*args, **kwargs)

    return guarded


def call(fn: Callable, *args, **kwargs):
    """Call the learner's function and hand back its result. A `...` body means not answered
    yet; a body that returns None forgot its `return`; a tensor argument changed in place, a
    module argument whose weights changed, or a call of the check's own reference, makes the
    answer wrong."""
    if is_placeholder(fn):
        raise NotAnswered
    if not callable(fn):
        raise Wrong(f"expected a function, got {type(fn).__name__}")
    name = getattr(fn, "__name__", "your function")
    given = [*args, *kwargs.values()]
    inputs = [(k, a, a.detach().clone()) for k, a in enumerate(given) if isinstance(a, torch.Tensor)]
    models = [(a, _weights(a)) for a in given if isinstance(a, torch.nn.Module)]
    running = _learner_running.set(True)
    try:
        result = fn(*args, **kwargs)
    except ReadyMade as e:
        raise Wrong(str(e)) from None
    except Wrong:  # raised by what the check handed in (e.g. a table not to loop over)
        raise
    except Exception as e:
        raise LearnersCodeRaised(f"{type(e).__name__}: {e}") from e
    finally:
        _learner_running.reset(running)
    for k, given, before in inputs:
        if not torch.equal(torch.nan_to_num(given.detach()), torch.nan_to_num(before)):
            raise Wrong(f"{name} changed its input in place (argument {k + 1}, shape "
                        f"{tuple(given.shape)}): the caller's tensor must come back as it went "
                        "in. Work on a copy (x = x.clone()) or use an operation that returns a "
                        "new tensor (masked_fill, not masked_fill_)")
    for model, before in models:
        after = _weights(model)
        changed = [n for n in {*before, *after}
                   if n not in before or n not in after or not _same(after[n], before[n])]
        if changed:
            raise Wrong(f"{name} changed the model's weights in place: {', '.join(sorted(changed)[:3])}. "
                        "The caller's model must come back as it went in: compute with its "
                        "parts, and do not assign to its parameters (nor to their .data)")
    if result is ... or (result is None and _has_empty_body(fn)):
        raise NotAnswered
    if result is None:
        raise Wrong(f"{name} returned None: does it end with `return ...` of its answer?")
    return result


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of a module's parameters and buffers (those with data), to compare after a call."""
    return {n: t.detach().clone() for n, t in model.state_dict().items() if not t.is_meta}


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal shapes and values (a NaN equal to a NaN)."""
    if a.is_floating_point() and b.is_floating_point():
        a, b = torch.nan_to_num(a), torch.nan_to_num(b)
    return a.shape == b.shape and torch.equal(a, b)


class ReadyMade(Exception):
    """Raised by a torch function that an exercise asks the learner to write themselves."""


class _Refusing(TorchFunctionMode):
    """While active, any torch function or Tensor method named in `names` (however it was
    reached: torch.softmax, F.softmax, x.softmax, nn.Softmax, an alias imported earlier) raises
    ReadyMade, and so does any torch call made while one of the `callers` (ready-made functions
    of the series, such as helpers.self_attention) is running. PyTorch routes every call with a
    tensor argument through the active mode."""

    def __init__(self, names: tuple[str, ...], hint: str,
                 callers: tuple[Callable, ...] = ()) -> None:
        super().__init__()
        # also torch._softmax and torch.special.softmax (named special_softmax)
        self.names = {*names, *(f"_{name}" for name in names), *(f"special_{n}" for n in names)}
        self.hint = hint
        # a method is named by its class: MultiHeadSelfAttention.forward -> MultiHeadSelfAttention;
        # a decorated function by its own code, not the decorator's wrapper (torch.no_grad's is
        # shared by every function it decorates, the learner's included)
        self.callers = {inspect.unwrap(fn).__code__: fn.__qualname__.split(".")[0]
                        for fn in callers}

    def _ready_made_caller(self) -> str | None:
        """The name of a refused caller that is running (on the stack), if any."""
        frame = inspect.currentframe()
        while frame is not None:
            if frame.f_code in self.callers:
                return self.callers[frame.f_code]
            frame = frame.f_back
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        shown = self._ready_made_caller() if self.callers else None
        if shown is None and name in self.names:
            shown = name.removeprefix("special_").lstrip("_")
        if shown is not None:
            raise ReadyMade(f"{shown} does the work for you: {self.hint}")
        return func(*args, **(kwargs or {}))


def call_refusing(fn: Callable, *args, refuse: tuple[str, ...], hint: str,
                  callers: tuple[Callable, ...] = (), **kwargs):
    """`call(fn, ...)` with torch's own `refuse` functions switched off, so the learner's formula
    is what runs (e.g. refuse=("softmax",) for "write the softmax yourself"); calling one of
    them makes the answer wrong, with the hint "softmax does the work for you: <hint>". The
    `callers`, functions of the series that do the exercise's work (helpers.self_attention),
    are refused the same way: any torch call made inside them."""
    with _Refusing(refuse, hint, callers):
        return call(fn, *args, **kwargs)


def as_bool(got: Any, name: str) -> bool:
    """The learner's yes/no answer: a bool, a NumPy bool or a one-element bool tensor."""
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.dtype == torch.bool:
        return bool(got)
    numpy = sys.modules.get("numpy")
    if isinstance(got, bool) or (numpy is not None and isinstance(got, numpy.bool_)):
        return bool(got)
    raise Wrong(f"{name} should return True or False, got {got!r}")


def as_int(got: Any, name: str) -> int:
    """The learner's whole number: an int, a NumPy integer or a one-element integer tensor."""
    if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_floating_point() \
            and got.dtype != torch.bool:
        return int(got)
    if isinstance(got, numbers.Integral) and not isinstance(got, bool):
        return int(got)
    raise Wrong(f"{name} should return a whole number, got {got!r}")


def require(condition: bool, hint: str) -> None:
    """Fail the check with `hint` unless `condition` holds."""
    if not condition:
        raise Wrong(hint)


@contextlib.contextmanager
def _random_state_kept() -> Iterator[None]:
    """Run a check without moving the learner's random generators (torch's, Python's, and
    NumPy's if imported): the notebook's next random numbers are the ones it would have had."""
    numpy = sys.modules.get("numpy")
    python_state = random.getstate()
    numpy_state = numpy.random.get_state() if numpy is not None else None
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            if numpy_state is not None:
                numpy.random.set_state(numpy_state)


def exercise(notebook: str, number: int) -> Callable:
    """Turn `check(answer, ...)` into a learner-facing check that prints one verdict line."""
    solutions = f"solutions/{notebook}_solutions.ipynb"

    def decorate(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*args, **kwargs) -> Verdict | None:
            from exercises import progress  # here: `python -m exercises.progress` runs it fresh
            from exercises.i18n import say, space  # in the edition's language (helpers.language)

            name = f"Exercise {number}"
            if args and is_placeholder(args[0]):
                print(say(f"{name}: not answered yet. Write your answer in the cell above, then run "
                      f"this cell again (worked solution: {solutions})."))
                return None
            try:
                with _random_state_kept():
                    check(*args, **kwargs)
            except NotAnswered:
                print(say(f"{name}: not answered yet. Replace the `...` in the cell above, then run "
                      f"this cell again (worked solution: {solutions})."))
                return None
            except Wrong as e:
                print(say(f"{name}: not right yet.") + space() + say(str(e)))
                progress.record(notebook, number, solved=False)
                return WRONG
            except LearnersCodeRaised as e:  # shown as a hint, not a crash
                print(say(f"{name}: your code raised") + space() + str(e))
                progress.record(notebook, number, solved=False)
                return WRONG
            print(say(f"{name}: correct."))
            progress.record(notebook, number, solved=True)
            return CORRECT

        return run

    return decorate
