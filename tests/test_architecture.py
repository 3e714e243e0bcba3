"""The layout rules of docs/architecture.md, checked on the source with the standard library.

* no import cycle between modules of ``src/seqhealth``;
* engine below tasks below pipelines: the engine and the domain packages never import tasks,
  pipelines or Kedro; tasks never import pipelines or Kedro;
* one task, one definition: no code outside a task's own module names a task (docstrings and
  comments aside), so nothing can branch on task names;
* every custom Kedro dataset lives in ``seqhealth.datasets``; the package ships no test tooling.
"""

from __future__ import annotations

import ast
from pathlib import Path

from seqhealth.tasks.registry import TASKS

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "seqhealth"
CORE = ("engine", "genomics", "vitals", "batching", "models")  # plain Python, below the tasks


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Project modules ``path`` imports (anywhere in the file, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name.startswith("seqhealth"):
                found.add(name)
    return found


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def test_no_import_cycle_in_src():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _imports_anything(module: str, prefixes: tuple[str, ...]) -> set[str]:
    text = MODULES[module].read_text()
    tree = ast.parse(text)
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return {name for name in names if name.startswith(prefixes)}


def test_engine_below_tasks_below_pipelines():
    wrong = {}
    for module in MODULES:
        layer = module.split(".")[1] if "." in module else ""
        if layer in CORE:
            bad = _imports_anything(module, ("seqhealth.tasks", "seqhealth.pipelines", "seqhealth.datasets", "kedro"))
        elif layer == "tasks":
            bad = _imports_anything(module, ("seqhealth.pipelines", "seqhealth.datasets", "kedro"))
        else:
            continue
        if bad:
            wrong[module] = sorted(bad)
    assert not wrong, wrong


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    """String constants that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_code_outside_a_task_module_names_a_task():
    own_modules = {f"seqhealth.tasks.{name}" for name in TASKS}
    named = []
    for module, path in MODULES.items():
        if module in own_modules:
            continue
        for constant in _string_constants(ast.parse(path.read_text())):
            hits = [name for name in TASKS if name in constant.value]
            if hits:
                named.append(f"{path.relative_to(SRC)}:{constant.lineno} names {hits}")
    assert not named, "task names outside their own modules:\n" + "\n".join(named)


def test_custom_kedro_datasets_live_in_the_datasets_package_and_no_test_tooling_ships():
    outside = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        # Names bound by ``from kedro... import X``: a class deriving from one is a Kedro dataset.
        from_kedro = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                      and (node.module or "").startswith(("kedro.io", "kedro_datasets")) for alias in node.names}  # fmt: skip
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).split("[")[0].split(".")[0] in from_kedro for base in node.bases
            ) and not module.startswith("seqhealth.datasets"):
                outside.append(f"{module}.{node.name}")
    assert not outside, outside
    shipped = [m for m in MODULES if "test" in m.rsplit(".", 1)[-1] or m.endswith(("viz_check", "conftest"))]
    assert not shipped, shipped
    assert not any(_imports_anything(m, ("pytest",)) for m in MODULES)


def test_every_task_has_its_parameters_catalog_entry_and_a_complete_definition():
    conf = SRC.parent / "conf" / "base"
    catalog = (conf / "catalog.yml").read_text()
    for name, task in TASKS.items():
        assert (conf / f"parameters_{name}.yml").is_file(), name
        for raw in task.raw_inputs:
            assert f"{name}.{raw}:" in catalog, f"{name}.{raw} has no catalog entry"
        assert task.domain and task.summary and task.headline_metrics and task.request_columns
