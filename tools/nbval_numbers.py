"""A pytest plugin: nbval compares printed numbers by the project's rule (see README, "Tests").

Registered by name in pyproject.toml (`-p tools.nbval_numbers`); it changes only the cells nbval
collected, each through its own `sanitize`, so nothing else in nbval is touched.

Stored notebook outputs were computed on one CPU; other CPUs pick other float kernels (MKL,
ATen), which change the lowest bits of matrix products, softmax and LayerNorm. The rule:

    a printed decimal number may differ from the stored one by at most one unit in its last
    printed digit; everything else (text, integers, the count of numbers) must be equal.

So `-3.6643` against `-3.6644` passes, `-3.664` against `-3.667` fails, and `124,439,808` must
be exact. A value that moves by more than one unit across CPUs is printed with too many digits:
print fewer (or compute it in float64). Integers and words are never loosened.
"""

from __future__ import annotations

import math
import os
import re

NUMBER = re.compile(r"[-+]?\d+(?:\.(\d+))?(?:[eE]([-+]?\d+))?")


def _unit(match: re.Match) -> float | None:
    """One unit in the last printed digit of a decimal number; None for an integer."""
    decimals, exponent = match.group(1), match.group(2)
    if decimals is None and exponent is None:
        return None
    return 10.0 ** (-(len(decimals or "")) + int(exponent or 0))


def numbers_agree(stored: str, fresh: str) -> bool:
    """True when two outputs are equal under the one-unit-in-the-last-digit rule."""
    if stored == fresh:
        return True
    a, b = list(NUMBER.finditer(stored)), list(NUMBER.finditer(fresh))
    if len(a) != len(b) or NUMBER.split(stored)[::3] != NUMBER.split(fresh)[::3]:
        return False  # NUMBER has 2 groups, so split() interleaves them: [::3] is the text
    for x, y in zip(a, b, strict=True):
        if x.group(0) == y.group(0):
            continue
        ux, uy = _unit(x), _unit(y)
        if ux is None or uy is None or not math.isclose(ux, uy):
            return False  # an integer, or a different number of digits: must match exactly
        if abs(float(x.group(0)) - float(y.group(0))) > ux * 1.001:
            return False
    return True


class PrintedOutput(str):
    """A notebook output string compared with `numbers_agree` instead of `==`."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and numbers_agree(str(self), str(other))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def compare_numbers_by_the_rule(cell) -> None:
    """Make one nbval cell compare its outputs by `numbers_agree`: its sanitized strings (nbval
    sanitizes the stored and the fresh output alike, then compares them with `==`) become
    `PrintedOutput`s."""
    sanitize = cell.sanitize

    def sanitize_then_compare_numbers(s):
        s = sanitize(s)
        return PrintedOutput(s) if isinstance(s, str) else s

    cell.sanitize = sanitize_then_compare_numbers


def pytest_configure(config) -> None:
    # the notebooks' kernels inherit this: no progress bars (the stored outputs have none)
    os.environ.setdefault("TQDM_DISABLE", "1")


def pytest_collection_modifyitems(session, config, items) -> None:
    for item in items:
        if type(item).__name__ == "IPyNbCell":  # a notebook cell collected by nbval
            compare_numbers_by_the_rule(item)
