"""The package's shape: three layers in three places, no import cycle, public APIs only, and
`import helpers` that only imports."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
# layer of each place: 1 the model and its training, 2 pictures, 3 notebook glue
LAYERS = {"helpers": 1, "helpers.viz": 2, "helpers.notebook": 3}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """1, 2 or 3 by the folder a module sits in: helpers/, helpers/viz/, helpers/notebook/."""
    parts = module.split(".")
    return LAYERS.get(".".join(parts[:2]), 1) if len(parts) > 1 else 1


def imports_of(path: Path) -> set[str]:
    """Every helpers module `path` imports, at the top or inside a function."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            for alias in node.names:  # from helpers import viz -> helpers.viz, else the module
                sub = Path(*f"{node.module}.{alias.name}".split("."))
                is_module = (ROOT / sub).is_dir() or (ROOT / sub).with_suffix(".py").exists()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative imports are not used
            found.add(package)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers")}
    return found


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in HELPERS.rglob("*.py")}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """'a imports b' for every import of a higher layer by a lower one."""
    return [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
            for a, deps in sorted(graph.items()) for b in sorted(deps)
            if layer_of(b) > layer_of(a)]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules that import each other in a ring, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if state.get(nxt) is None:
                cycle = visit(nxt, path + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(path) - {name} for name, path in modules().items()}


def test_a_lower_layer_never_imports_a_higher_one():
    assert layer_violations(import_graph()) == []


def test_the_layer_check_sees_a_model_module_that_draws():
    graph = import_graph()
    graph["helpers.model"] = graph["helpers.model"] | {"helpers.viz.style"}
    graph["helpers.viz.heatmap"] = graph["helpers.viz.heatmap"] | {"helpers.notebook.widgets"}
    assert layer_violations(graph) == [
        "helpers.model (layer 1) imports helpers.viz.style (layer 2)",
        "helpers.viz.heatmap (layer 2) imports helpers.notebook.widgets (layer 3)"]


def test_no_module_imports_a_module_that_imports_it_back():
    graph = {name: deps for name, deps in import_graph().items() if name != "helpers"}
    for name, deps in graph.items():
        assert "helpers" not in deps, f"{name} imports the package itself; import the module"
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_model_does_not_import_what_uses_it():
    graph = import_graph()
    for dependant in ("helpers.train", "helpers.checkpoint", "helpers.sampling", "helpers.tokenizer"):
        assert dependant not in graph["helpers.model"]
    assert "helpers.train" not in graph["helpers.checkpoint"]  # loading needs no trainer


# a private name of PyTorch or matplotlib: torch._C, torch.ops.mkldnn._linear..., ax._children,
# matplotlib._api, from matplotlib._x import ..., getattr(obj, "_private")
PRIVATE = re.compile(r"\b(?:torch|matplotlib|mpl|plt|F|nn)(?:\.\w+)*\._[A-Za-z]\w*"
                     r"|from (?:torch|matplotlib)[\w.]*\._\w+"
                     r"|from (?:torch|matplotlib)[\w.]* import [^\n]*\b_[A-Za-z]\w*"
                     r"|\.(?:_children|_axstack|_layoutgrid|_cachedRenderer|_get_renderer|_renderer)\b"
                     r"|getattr\([^)\n]*[\"']_[A-Za-z]\w*[\"']")


def private_uses(source: str) -> list[str]:
    """The private names of PyTorch or matplotlib that `source` uses (comments and docstrings
    excluded)."""
    code = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue
    lines = [ln.split("#", 1)[0] for ln in source.splitlines()]
    stripped = "\n".join(lines)
    for node in ast.walk(ast.parse(source)):  # drop docstrings
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                stripped = stripped.replace(doc, "")
    code.extend(m.group(0) for m in PRIVATE.finditer(stripped))
    return code


def test_helpers_uses_no_private_name_of_pytorch_or_matplotlib():
    found = {name: private_uses(path.read_text(encoding="utf-8")) for name, path in modules().items()}
    assert {name: uses for name, uses in found.items() if uses} == {}


@pytest.mark.parametrize("source", [
    "torch.ops.mkldnn._linear_pointwise(x, w, b)",
    "wrapped = torch._C._functorch.is_functorch_wrapped_tensor",
    "from matplotlib._api import check_in_list",
    "from torch.nn.modules.module import _addindent",
    "n = len(ax._children)",
    "r = getattr(fig.canvas, '_renderer', None)",
])
def test_the_private_name_check_catches_each_kind(source):
    assert private_uses(source)


def test_the_private_name_check_leaves_our_own_and_public_names_alone():
    assert private_uses("import torch\nx = torch.nn.functional.scaled_dot_product_attention\n"
                        "y = style._scale  # our own module\nz = self._mask(3, 3, 'cpu')\n") == []


def test_every_module_of_the_model_and_the_glue_has_its_test_file():
    tests = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    missing = [name for name in modules() if layer_of(name) != 2 and name.count(".") >= 1
               and f"test_{name.rsplit('.', 1)[1]}" not in tests
               and not name.endswith("__init__") and name not in LAYERS]
    assert missing == []


def test_import_helpers_only_imports():
    """No IPython hook, no figure format, no thread count: importing changes nothing."""
    code = ("import sys, torch; n = torch.get_num_threads(); import IPython\n"
            "shell = IPython.core.interactiveshell.InteractiveShell.instance()\n"
            "before = len(shell.events.callbacks['post_run_cell'])\n"
            "import helpers\n"
            "print(len(shell.events.callbacks['post_run_cell']) == before, torch.get_num_threads() == n,"
            " [m for m in ('matplotlib', 'transformers', 'ipywidgets', 'tokenizers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["True", "True", "[]"]
