"""Every exercise check of every notebook, driven by the table in tests/exercise_cases.py.

The worked solutions are read from their one source, notebooks/solutions/NN_solutions.ipynb:
the harness runs that notebook's code cells in a fresh namespace, up to the cell that defines
the last object the table names (IPython magics left out, and the notebook's own
`check.exercise_N(...)` calls too, since the tests make those calls), and looks the
solutions up by name. Each notebook runs once, on first use, in the module's `solutions`
fixture; autograd, the default dtype, the thread count, the print options, the random state and
the working folder are put back afterwards.

Per row of the table:
- the worked solution passes (CORRECT, "correct."), leaving the random state as it was, in pytest's default torch state and again in
  the state the notebook leaves (no autograd in 05-08, 10, 11; float64 in 03, 04);
- every placeholder is "not answered yet" (None): `...` in place of each answer, and a function
  whose body is `...` in place of each answer that is a function;
- every wrong answer is rejected (WRONG), with its hint in the printed line;
- every other right answer passes.
After every check call, torch's functions are the originals.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import exercises.i18n as i18n
from exercises import CORRECT, WRONG

from exercise_cases import CASES, NOTEBOOKS, SOLUTIONS, Answer, Case, Later

CJK = re.compile(r"[\u4e00-\u9fff]")
SOLUTIONS_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


# --- running a solutions notebook ----------------------------------------------------------


@dataclass(frozen=True)
class TorchState:
    """What a notebook switches for every cell after it: autograd and the default dtype."""

    grad_enabled: bool
    dtype: torch.dtype

    @classmethod
    def now(cls) -> TorchState:
        return cls(torch.is_grad_enabled(), torch.get_default_dtype())

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        before = TorchState.now()
        self.apply()
        try:
            yield
        finally:
            before.apply()

    def apply(self) -> None:
        torch.set_grad_enabled(self.grad_enabled)
        torch.set_default_dtype(self.dtype)


@dataclass
class SolutionsNotebook:
    notebook: str
    namespace: dict[str, Any]
    state: TorchState  # the state its cells leave behind

    def values(self, names: tuple[str, ...]) -> list[Any]:
        return [getattr(SOLUTIONS[self.notebook], name) for name in names]


def _defined_names(tree: ast.Module) -> set[str]:
    """The names a cell defines at its top level (def, class, assignment, import)."""
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return names


def _is_check_call(stmt: ast.stmt) -> bool:
    """A top-level `check.exercise_N(...)` or `assert check.exercise_N(...)`."""
    value = stmt.value if isinstance(stmt, ast.Expr) else stmt.test if isinstance(stmt, ast.Assert) else None
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name) and value.func.value.id == "check"
            and value.func.attr.startswith("exercise_"))


def _code_cells(path: Path) -> list[tuple[int, ast.Module]]:
    cells = []
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        # an IPython magic becomes an empty line, so the line numbers stay the notebook's
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
        cells.append((index, ast.parse(source, filename=f"{path.name}, cell {index}")))
    return cells


def run_solutions_notebook(notebook: str, needed: set[str]) -> SolutionsNotebook:
    """Run the code cells of notebooks/solutions/{notebook}_solutions.ipynb in a fresh
    namespace, in the notebook's folder, up to the cell that defines the last of `needed`."""
    path = SOLUTIONS_DIR / f"{notebook}_solutions.ipynb"
    cells = _code_cells(path)
    # (a name no cell defines fails in the rows that use it, when they look it up)
    last = max((i for i, (_, tree) in enumerate(cells) if _defined_names(tree) & needed), default=-1)
    namespace: dict[str, Any] = {"__name__": f"solutions_{notebook}"}
    before, threads, cwd = TorchState.now(), torch.get_num_threads(), os.getcwd()
    try:
        with torch.random.fork_rng(), contextlib.redirect_stdout(io.StringIO()):
            os.chdir(SOLUTIONS_DIR)
            for index, tree in cells[: last + 1]:
                tree.body = [stmt for stmt in tree.body if not _is_check_call(stmt)]
                exec(compile(tree, f"{path.name}, cell {index}", "exec"), namespace)
            after = TorchState.now()
    finally:
        os.chdir(cwd)
        before.apply()
        torch.set_num_threads(threads)
        torch.set_printoptions(profile="default")
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    return SolutionsNotebook(notebook, namespace, after)


@pytest.fixture(scope="module")
def solutions() -> Iterator[Callable[[str], SolutionsNotebook]]:
    """solutions("04"): notebook 04's executed solutions notebook, run once, on first use."""
    loaded: dict[str, SolutionsNotebook | Exception] = {}

    def get(notebook: str) -> SolutionsNotebook:
        if notebook not in loaded:
            needed = {name for case in CASES if case.notebook == notebook
                      for name in (*case.solution, *case.given)}
            try:
                loaded[notebook] = run_solutions_notebook(notebook, needed)
            except Exception as e:  # run it once: the other rows fail without running it again
                loaded[notebook] = e
                raise
            SOLUTIONS[notebook].attach(loaded[notebook].namespace)
        if isinstance(loaded[notebook], Exception):
            raise RuntimeError(f"{notebook}_solutions.ipynb failed to run") from loaded[notebook]
        return loaded[notebook]

    yield get
    for notebook in loaded:
        SOLUTIONS[notebook].attach(None)


# --- running a check -----------------------------------------------------------------------


def check_of(case: Case) -> Callable:
    return getattr(importlib.import_module(f"exercises.nb{case.notebook}"), f"exercise_{case.number}")


_TORCH_OWNERS = (torch, torch.nn.functional, torch.special, torch.Tensor)
# An optimizer's first step imports torch's compiler stack, which rewraps torch.manual_seed once
# per process: take that change before any check is watched, so no test depends on the order.
_warm = torch.zeros(1, requires_grad=True)
_warm.grad = torch.zeros(1)
torch.optim.AdamW([_warm]).step()


def verdict(case: Case, args: list[Any], capsys) -> tuple[bool | None, str]:
    """The check's return value and the line it printed; torch's functions must be the same
    objects afterwards (a check that refuses some puts them back)."""
    capsys.readouterr()
    before = [dict(vars(owner)) for owner in _TORCH_OWNERS]
    result = check_of(case)(*args)
    out = capsys.readouterr().out
    for owner, saved in zip(_TORCH_OWNERS, before, strict=True):
        now = vars(owner)
        replaced = [f"{owner.__name__}.{name}" for name, value in saved.items() if now.get(name) is not value]
        assert not replaced, f"after {case.id}'s check, {', '.join(replaced)} is not torch's own"
    return result, out


def built(value: Any) -> Any:
    return value.build() if isinstance(value, Later) else value


def arguments(nb: SolutionsNotebook, case: Case, answer: Answer | None = None) -> list[Any]:
    """The check's arguments: the worked solution's answers (one replaced by `answer`), then
    the fixed ones."""
    answers = nb.values(case.solution)
    if answer is not None:
        answers[answer.slot] = built(answer.value)
    return [*answers, *nb.values(case.given)]


def described(case: Case, kind: str, index: int, answer: Answer) -> str:
    """'nb04-ex2, wrong answer 5 (tests/exercise_cases.py:236)', to find the row."""
    code = getattr(answer.value.build if isinstance(answer.value, Later) else answer.value,
                   "__code__", None)
    where = f"tests/exercise_cases.py:{code.co_firstlineno}" if code else repr(answer.value)
    return f"{case.id}, {kind} answer {index + 1} ({where})"


def unanswered(*args, **kwargs):
    """A learner's function whose body is still `...`."""


def placeholder_calls(answers: list[Any]) -> list[list[Any]]:
    """Every answer `...`; then each answer alone `...` and, if it is a function, `unanswered`."""
    calls = [[...] * len(answers)]
    for i, value in enumerate(answers):
        if len(answers) > 1:
            calls.append([*answers[:i], ..., *answers[i + 1:]])
        if inspect.isfunction(value):
            calls.append([*answers[:i], unanswered, *answers[i + 1:]])
    return calls


BY_CASE = [pytest.param(case, id=case.id) for case in CASES]
WRONG_ANSWERS = [pytest.param(case, i, id=f"{case.id}-wrong{i + 1}") for case in CASES
         for i in range(len(case.wrong))]
RIGHT = [pytest.param(case, i, id=f"{case.id}-right{i + 1}") for case in CASES
         for i in range(len(case.right))]


# --- the table's tests ---------------------------------------------------------------------


def test_the_table_has_a_row_for_every_check():
    checks = {(nb, int(name.removeprefix("exercise_")))
              for nb in NOTEBOOKS for name in vars(importlib.import_module(f"exercises.nb{nb}"))
              if re.fullmatch(r"exercise_\d+", name)}
    rows = [(case.notebook, case.number) for case in CASES]
    assert len(rows) == len(set(rows)), "a check has two rows"
    assert sorted(set(rows) - checks) == [], "rows for checks that do not exist"
    assert sorted(checks - set(rows)) == [], "checks without a row in tests/exercise_cases.py"
    assert all(case.wrong for case in CASES), "a row without wrong answers protects nothing"
    assert all((SOLUTIONS_DIR / f"{nb}_solutions.ipynb").exists() for nb, _ in rows)


@pytest.mark.parametrize("case", BY_CASE)
def test_the_worked_solution_passes(case, solutions, capsys):
    nb = solutions(case.notebook)
    args = arguments(nb, case)
    torch.manual_seed(123)
    next_numbers = torch.rand(3)
    torch.manual_seed(123)
    for state in dict.fromkeys([TorchState.now(), nb.state]):  # pytest's, the notebook's if other
        with state.applied():
            result, out = verdict(case, args, capsys)
        assert result is CORRECT, f"{case.id} with {state}: the check printed {out!r}"
        assert out == f"Exercise {case.number}: correct.\n"
        assert torch.equal(torch.rand(3), next_numbers), "the check moved the random state"
        torch.manual_seed(123)


@pytest.mark.parametrize("case", BY_CASE)
def test_placeholders_are_not_answered_yet(case, solutions, capsys):
    nb = solutions(case.notebook)
    given = nb.values(case.given)
    for answers in placeholder_calls(nb.values(case.solution)):
        with case.under():
            result, out = verdict(case, [*answers, *given], capsys)
        assert result is None, f"{case.id} with answers {answers}: {out!r}"
        assert f"Exercise {case.number}: not answered yet" in out


@pytest.mark.parametrize(("case", "index"), WRONG_ANSWERS)
def test_a_wrong_answer_is_rejected(case, index, solutions, capsys):
    answer = case.wrong[index]
    args = arguments(solutions(case.notebook), case, answer)
    with case.under():
        result, out = verdict(case, args, capsys)
    where = described(case, "wrong", index, answer)
    assert result is WRONG, f"{where}: the check returned {result!r} and printed {out!r}"
    assert answer.hint is None or answer.hint in out, f"{where}: no {answer.hint!r} in {out!r}"
    assert answer.absent is None or answer.absent not in out, f"{where}: {answer.absent!r} in {out!r}"
    if "not right yet." in out:  # the Chinese edition prints every word of the hint in Chinese
        hint = out.strip().split("not right yet. ", 1)[1]
        assert CJK.search(i18n.translate(hint, strict=True)), f"{where}: {hint!r} stays English"


@pytest.mark.parametrize(("case", "index"), RIGHT)
def test_another_right_answer_passes(case, index, solutions, capsys):
    answer = case.right[index]
    args = arguments(solutions(case.notebook), case, answer)
    with case.under():
        result, out = verdict(case, args, capsys)
    assert result is CORRECT, f"{described(case, 'right', index, answer)}: the check printed {out!r}"


# --- what does not fit the table -----------------------------------------------------------


def test_torch_s_own_functions_work_again_after_a_check_refused_them():
    from exercises import nb03, nb09

    assert nb03.exercise_2(lambda s: torch.softmax(s, dim=0)) is WRONG
    assert nb09.exercise_2(lambda lg, t: F.cross_entropy(lg.flatten(0, 1), t.flatten())) is WRONG
    assert torch.allclose(torch.softmax(torch.zeros(2), dim=0), torch.full((2,), 0.5))
    assert torch.allclose(torch.zeros(2).softmax(0), torch.full((2,), 0.5))
    assert torch.allclose(torch.log_softmax(torch.zeros(2), 0).exp(), torch.full((2,), 0.5))
    assert torch.allclose(torch.zeros(2).logsumexp(0), torch.log(torch.tensor(2.0)))
    assert torch.isclose(F.cross_entropy(torch.zeros(1, 2), torch.tensor([0])),
                         torch.log(torch.tensor(2.0)), rtol=1e-6)
    assert torch.zeros(2).log_softmax(0).shape == (2,)


def test_nb04_checks_under_float64_default(solutions):
    """Notebook 04 runs with torch.set_default_dtype(torch.float64): the checks must too."""
    from exercises import nb04 as check

    nb = solutions("04")
    with TorchState(torch.is_grad_enabled(), torch.float64).applied():
        assert check.exercise_1(*nb.values(("strict_past_mask",))) is CORRECT
        assert check.exercise_2(*nb.values(("chunked_mask", "is_causal"))) is CORRECT
        assert check.exercise_3(*nb.values(("logits_of_prefixes",))) is CORRECT
        assert check.exercise_3(lambda model, ids: model(ids)) is WRONG
        assert check.exercise_4(*nb.values(("batch_mask",))) is CORRECT


def test_nb08_exercise_4_cases_are_ones_where_greedy_and_beam_search_miss_the_best_sequence():
    from exercises import nb08 as check
    from helpers import beam_search, generate, sequence_logprob

    misses = 0
    for seed, V, T, n in check.CASES_4:
        model = check._tiny_gpt(seed, V)
        idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(seed))
        greedy = generate(model, idx, n, do_sample=False)
        best = check._exhaustive(model, idx, n).max()
        misses += bool(best > sequence_logprob(model, greedy, T)[0] + 0.05)
    assert misses == 4
    seed, V, T, n = check.CASES_4[-1]  # the case where every beam of 2 .. V - 1 misses
    model = check._tiny_gpt(seed, V)
    idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(seed))
    best = check._exhaustive(model, idx, n).max()
    for num_beams in range(2, V):
        beam = beam_search(model, idx, n, num_beams=num_beams)
        assert best > sequence_logprob(model, beam, T)[0] + 1e-4, num_beams
