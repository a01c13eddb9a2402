"""The shape of the package: no import cycles, no private names across modules, layers kept.

The import graph is read from the source (every ``import`` statement, including those inside
functions and under ``TYPE_CHECKING``: a lazy import is still a dependency), so a cycle fails
here before it can fail at run time. Strongly connected components come from SciPy's graph
routines rather than a hand-written search.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

PACKAGE = Path(__file__).resolve().parents[1] / "deepsort_lib"


@dataclass(frozen=True)
class ImportedName:
    """``module`` imports ``name`` (``None``: the whole module) from ``target``, at ``line``."""

    module: str
    target: str
    name: str | None
    line: int


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(dotted: str, modules: dict[str, Path]) -> str | None:
    """The package module ``dotted`` names, or the nearest module above it."""
    while dotted and dotted not in modules:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def imports_of(module: str, modules: dict[str, Path]) -> Iterator[ImportedName]:
    """Every name ``module`` imports from inside the package."""
    path = modules[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _owner(alias.name, modules)
                if target is not None:
                    yield ImportedName(module, target, None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:  # ``from package import module``
                    yield ImportedName(module, submodule, None, node.lineno)
                    continue
                target = _owner(base, modules)
                if target is not None:
                    yield ImportedName(module, target, alias.name, node.lineno)


def import_cycles(modules: dict[str, Path]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop."""
    names = sorted(modules)
    index = {name: i for i, name in enumerate(names)}
    edges = {
        (index[found.module], index[found.target])
        for module in names
        for found in imports_of(module, modules)
        if found.target != module
    }
    if not edges:
        return []
    rows, cols = np.array(sorted(edges)).T
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    count, labels = connected_components(graph, directed=True, connection="strong")
    groups = [[names[i] for i in np.flatnonzero(labels == c)] for c in range(count)]
    return [group for group in groups if len(group) > 1]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(modules: dict[str, Path]) -> list[str]:
    """``module:line imports _name from target`` for each private name taken from another
    module (a private module of a sibling, such as ``pkg._common``, counts too)."""
    found = []
    for module in sorted(modules):
        for item in imports_of(module, modules):
            if item.target == module:
                continue
            private_module = any(_is_private(part) for part in item.target.split("."))
            private_name = item.name is not None and _is_private(item.name)
            if private_module or private_name:
                what = item.name or item.target
                found.append(f"{module}:{item.line} imports {what} from {item.target}")
    return found


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return module_files()


def test_the_package_has_no_import_cycle(modules: dict[str, Path]) -> None:
    assert import_cycles(modules) == []


def test_no_module_imports_another_modules_private_names(modules: dict[str, Path]) -> None:
    assert private_imports(modules) == []


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("deepsort_lib.distributed", "deepsort_lib.cli"),
        ("deepsort_lib.run", "deepsort_lib.cli"),
        ("deepsort_lib.run", "deepsort_lib.distributed"),
        ("deepsort_lib.tracking", "deepsort_lib.streams"),
        ("deepsort_lib.tracking", "deepsort_lib.pipeline"),
        ("deepsort_lib.tracking", "deepsort_lib.io"),
        ("deepsort_lib.tracking", "deepsort_lib.models"),
    ],
)
def test_lower_layers_never_import_upper_ones(
    modules: dict[str, Path], lower: str, upper: str
) -> None:
    wrong = [
        f"{item.module}:{item.line} imports {item.target}"
        for module in modules
        if module == lower or module.startswith(lower + ".")
        for item in imports_of(module, modules)
        if item.target == upper or item.target.startswith(upper + ".")
    ]
    assert wrong == []


# -- the checks themselves catch what they are for ------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(root)


def test_a_lazy_import_loop_is_a_cycle(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "a.py": "from pkg.b import thing\n",
            "b.py": "def thing():\n    from pkg import c\n",
            "c.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg.a import x\n",
            "d.py": "import pkg.a\n",
        },
    )
    assert import_cycles(modules) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_relative_and_private_imports_are_seen(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "sub/__init__.py": "",
            "sub/_common.py": "x = 1\n",
            "sub/one.py": "from ._common import x\nfrom .two import _hidden\n",
            "sub/two.py": "_hidden = 2\n",
        },
    )
    assert private_imports(modules) == [
        "pkg.sub.one:1 imports x from pkg.sub._common",
        "pkg.sub.one:2 imports _hidden from pkg.sub.two",
    ]
