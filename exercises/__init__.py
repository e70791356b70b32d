"""Checks for the notebooks' exercises: one module per notebook (`exercises.nb04`, ...).

A learner cell holds a placeholder (`...`, or a function whose body is `...`). The check cell
after it calls `check.exercise_N(answer)`, which prints one line and returns:
    None   "not answered yet" (the placeholder is still there; Run All carries on),
    True   the answer is right,
    False  the answer is wrong, with a hint that does not give the answer away.
Checks recompute what they compare against, so a hard-coded value cannot pass.
The worked solutions are in notebooks/solutions/, and call the same checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch


class Wrong(Exception):
    """Raised inside a check with a hint for the learner."""


class NotAnswered(Exception):
    """Raised inside a check when the learner's cell still holds its placeholder."""


class LearnersCodeRaised(Exception):
    """The learner's function raised: shown as a hint. (An error in a check itself is a bug
    in the check and is not caught.)"""


def is_placeholder(value: Any) -> bool:
    """`...` and None are what an unanswered cell holds (or returns)."""
    return value is ... or value is None


def call(fn: Callable, *args, **kwargs):
    """Call the learner's function; a `...` body (it returns None) means not answered yet."""
    if is_placeholder(fn):
        raise NotAnswered
    if not callable(fn):
        raise Wrong(f"expected a function, got {type(fn).__name__}")
    try:
        result = fn(*args, **kwargs)
    except Exception as e:
        raise LearnersCodeRaised(f"{type(e).__name__}: {e}") from e
    if is_placeholder(result):
        raise NotAnswered
    return result


class ReadyMade(Exception):
    """Raised by a torch function that an exercise asks the learner to write themselves."""


# where a torch function can be reached from, and how the hint names it
_TORCH_OWNERS = ((torch, "torch."), (torch.nn.functional, "F."),
                 (torch.special, "torch.special."), (torch.Tensor, "Tensor."))


@contextmanager
def _refusing(names: tuple[str, ...], hint: str) -> Iterator[None]:
    """Inside: every torch function in `names` (as torch.f, F.f, torch.special.f and the method
    Tensor.f) raises ReadyMade; outside, even after an error, the originals are back."""
    def refuse(label: str) -> Callable:
        def refused(*args, **kwargs):
            raise ReadyMade(f"{label} does the work for you: {hint}")
        return refused

    targets = [(owner, name, f"{prefix}{name}") for owner, prefix in _TORCH_OWNERS
               for name in names if hasattr(owner, name)]
    saved = [getattr(owner, name) for owner, name, _ in targets]
    for owner, name, label in targets:
        setattr(owner, name, refuse(label))
    try:
        yield
    finally:
        for (owner, name, _), original in zip(targets, saved, strict=True):
            setattr(owner, name, original)


def call_refusing(fn: Callable, *args, refuse: tuple[str, ...], hint: str, **kwargs):
    """`call(fn, ...)` with torch's own `refuse` functions switched off, so the learner's formula
    is what runs (e.g. refuse=("softmax",) for "write the softmax yourself"); calling one of
    them makes the answer wrong, with the hint "torch.softmax does the work for you: <hint>"."""
    with _refusing(refuse, hint):
        try:
            return call(fn, *args, **kwargs)
        except LearnersCodeRaised as e:
            if isinstance(e.__cause__, ReadyMade):
                raise Wrong(str(e.__cause__)) from None
            raise


def require(condition: bool, hint: str) -> None:
    """Fail the check with `hint` unless `condition` holds."""
    if not condition:
        raise Wrong(hint)


def exercise(notebook: str, number: int) -> Callable:
    """Turn `check(answer, ...)` into a learner-facing check that prints one verdict line."""
    solutions = f"solutions/{notebook}_solutions.ipynb"

    def decorate(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*args, **kwargs) -> bool | None:
            name = f"Exercise {number}"
            if args and is_placeholder(args[0]):
                print(f"{name}: not answered yet. Write your answer in the cell above, then run "
                      f"this cell again (worked solution: {solutions}).")
                return None
            try:
                check(*args, **kwargs)
            except NotAnswered:
                print(f"{name}: not answered yet. Replace the `...` in the cell above, then run "
                      f"this cell again (worked solution: {solutions}).")
                return None
            except Wrong as e:
                print(f"{name}: not right yet. {e}")
                return False
            except LearnersCodeRaised as e:  # shown as a hint, not a crash
                print(f"{name}: your code raised {e}")
                return False
            print(f"{name}: correct.")
            return True

        return run

    return decorate
