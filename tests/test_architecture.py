"""Guard rails of the architecture: the import layers, and no module-level mutable state.

The top-level packages are layers; a module imports only its own package and the layers below::

    core ← pricing ← usage ← billing ← (optimizer, scenarios) ← planning ← commitopt

``optimizer`` and ``scenarios`` sit side by side and do not import each other: the planning
layer composes them. Module-level mutable state (a list, dict or set a module keeps and mutates,
a ``global`` statement) makes results depend on what ran before; state lives in objects instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent
LAYER_OF_PACKAGE: Final = {
    "core": 0,
    "pricing": 1,
    "usage": 2,
    "billing": 3,
    "optimizer": 4,
    "scenarios": 4,
    "planning": 5,
    "commitopt": 6,
}
"""The rank of each top-level package: a package imports only packages of a lower rank (and
itself)."""
MUTABLE_FACTORIES: Final = frozenset(
    {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque"}
)


def _modules() -> Iterator[tuple[str, Path]]:
    for package in LAYER_OF_PACKAGE:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def _imported_packages(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``tree``, however nested."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_every_package_is_a_layer() -> None:
    """A new top-level package must be given its place among the layers."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks", "notebooks", "examples", "scripts"} <= set(
        LAYER_OF_PACKAGE
    ), "add the new package to LAYER_OF_PACKAGE (and to pyproject.toml's package lists)"


def test_imports_flow_down_the_layers() -> None:
    violations = []
    for package, path in _modules():
        rank = LAYER_OF_PACKAGE[package]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, imported in _imported_packages(tree):
            if imported not in LAYER_OF_PACKAGE or imported == package:
                continue
            if LAYER_OF_PACKAGE[imported] >= rank:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


MUTATING_METHODS: Final = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "remove",
     "discard", "clear", "sort", "reverse", "__setitem__"}
)  # fmt: skip


def _is_container(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        function = value.func
        name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
        return name in MUTABLE_FACTORIES
    return False


def _is_final(annotation: ast.expr) -> bool:
    """``Final`` or ``Final[...]``."""
    node = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return (isinstance(node, ast.Name) and node.id == "Final") or (
        isinstance(node, ast.Attribute) and node.attr == "Final"
    )


def _module_containers(tree: ast.Module) -> dict[str, tuple[int, bool]]:
    """Module-level names bound to a list, dict or set: name → (line, declared ``Final``)."""
    containers = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_container(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    containers[target.id] = (node.lineno, False)
        elif (
            isinstance(node, ast.AnnAssign)
            and _is_container(node.value)
            and isinstance(node.target, ast.Name)
        ):
            containers[node.target.id] = (node.lineno, _is_final(node.annotation))
    return containers


def _mutations(tree: ast.Module, names: set[str]) -> Iterator[tuple[int, str]]:
    """(line, name) of every statement that changes one of the module-level ``names``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                isinstance(owner, ast.Name)
                and owner.id in names
                and node.func.attr in MUTATING_METHODS
            ):
                yield node.lineno, owner.id
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id in names
            ):
                yield node.lineno, target.value.id


def test_no_module_level_mutable_state() -> None:
    """Module-level tables are constants: declared ``Final`` and never changed; no ``global``."""
    violations = []
    for _, path in _modules():
        where = path.relative_to(ROOT)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        containers = _module_containers(tree)
        for name, (line, final) in containers.items():
            if not final and name != "__all__":
                violations.append(f"{where}:{line} {name} is not declared Final")
        for line, name in _mutations(tree, set(containers)):
            violations.append(f"{where}:{line} changes the module-level {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                violations.append(f"{where}:{node.lineno} global {', '.join(node.names)}")
    assert not violations, "module-level mutable state:\n" + "\n".join(violations)


@pytest.mark.parametrize("package", sorted(LAYER_OF_PACKAGE))
def test_layer_has_a_docstring(package: str) -> None:
    """Each layer says what it holds, so the layout reads as the architecture."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{package}/__init__.py needs a docstring"
