"""The package's import structure: no module imports a module that imports it back, and no module
reaches into another module's private (underscore) names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "lamini_lm"


def _module_name(path: Path) -> str:
    parts = ("lamini_lm", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in PACKAGE_ROOT.rglob("*.py")}


def _imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) for every ``lamini_lm`` import anywhere in the module."""
    package = name if any(m.startswith(name + ".") for m in known) else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("lamini_lm")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("lamini_lm"):
                continue
            names = [a.name for a in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            found += [(s, []) for s in submodules]
            others = [n for n in names if f"{target}.{n}" not in known]
            if others or not submodules:  # `from pkg import submodule` is no dependency on pkg/__init__
                found.append((target, others))
    return found


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for name, tree in modules.items():
        for target, names in _imports(name, tree, known):
            if target in known and target != name:
                graph[name].add(target)
            private += [f"{name} imports {target}.{n}" for n in names if n.startswith("_") and n != "__version__"]
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_a_module_that_imports_it_back():
    graph, _ = _graph()
    assert len(graph) > 50, "the walk found too few modules: is PACKAGE_ROOT right?"
    assert _cycles(graph) == []


def test_no_module_imports_another_modules_private_names():
    _, private = _graph()
    assert private == []
