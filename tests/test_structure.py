"""The package's shape: no import cycle at any depth, one job per module, light imports."""

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def _imports(path: Path) -> set[str]:
    """Every helpers module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            if node.module == "helpers":  # from helpers import style -> helpers.style
                found |= {f"helpers.{a.name}" for a in node.names if (HELPERS / f"{a.name}.py").exists()}
                if any(not (HELPERS / f"{a.name}.py").exists() for a in node.names):
                    found.add("helpers")
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers")}
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in HELPERS.glob("*.py"):
        name = "helpers" if path.stem == "__init__" else f"helpers.{path.stem}"
        graph[name] = _imports(path) - {name}
    return graph


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


def test_no_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    graph.pop("helpers")  # the package's __init__ only gathers the public names
    for name, deps in graph.items():
        assert "helpers" not in deps, f"{name} imports the package itself; import the module"
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_model_does_not_import_its_dependants():
    graph = import_graph()
    for dependant in ("helpers.train", "helpers.checkpoint", "helpers.sampling", "helpers.tokenizer"):
        assert dependant not in graph["helpers.model"]
    assert "helpers.train" not in graph["helpers.checkpoint"]  # loading needs no trainer


def test_one_job_per_module_none_over_about_350_lines():
    for path in HELPERS.glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 360, f"{path.name} has {lines} lines: split it by idea"
