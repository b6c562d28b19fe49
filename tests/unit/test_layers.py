"""The import contract: `service -> worker -> sim`, sim free of Dask/Zarr/FastAPI, worker free of FastAPI, and
no import cycle between modules (lazy imports inside functions count; imports for type checking do not)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sim", "worker", "service")
FORBIDDEN = {
    "sim": ("worker", "service", "dask", "distributed", "zarr", "fastapi", "starlette", "xarray"),
    "worker": ("service", "fastapi", "starlette", "uvicorn"),
    "service": (),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules `path` imports at run time (module level or inside functions), resolved to known modules."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {_known(name, modules) for name in found} - {None}  # type: ignore[misc]


def _known(name: str, modules: set[str]) -> str | None:
    """The name itself if it is one of our modules (`from pkg import submodule` too), else its own package
    for third-party names (kept to check the forbidden list), else None."""
    if name in modules:
        return name
    head = name.split(".")[0]
    return None if head in PACKAGES else head


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


GRAPH = _graph()


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_import_only_downwards(package):
    bad = {
        (module, target)
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] in FORBIDDEN[package]
    }
    assert not bad, f"{package} must not import these: {sorted(bad)}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges to a package's __init__ count as edges to what it re-exports only through itself."""
    return {m: {t for t in ts if t != m and not m.startswith(f"{t}.")} for m, ts in graph.items()}


def test_no_import_cycles():
    cycles = _cycles(_package_edges(GRAPH))
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
