"""pytest set-up for the whole repository: nbval compares printed numbers by the project's rule
(`tools/nbval_numbers.py`): a decimal may differ by one unit in its last printed digit."""

from __future__ import annotations

import os

from tools.nbval_numbers import numbers_agree

# the notebooks' kernels inherit this: no progress bars (the stored outputs have none)
os.environ.setdefault("TQDM_DISABLE", "1")


class PrintedOutput(str):
    """A notebook output string compared with `numbers_agree` instead of `==`."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and numbers_agree(str(self), str(other))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def _install() -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to adjust
        return
    sanitize = IPyNbCell.sanitize

    def sanitize_and_compare_numbers(self, s):
        s = sanitize(self, s)
        return PrintedOutput(s) if isinstance(s, str) else s

    IPyNbCell.sanitize = sanitize_and_compare_numbers


_install()
