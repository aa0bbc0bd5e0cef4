"""The house plan, checked: imports point down only (ui -> eval -> rag -> ingest -> store), counting imports
inside functions, and no module imports itself back through others (no cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

LAYERS = ["store", "ingest", "rag", "eval", "ui"]  # each may import only the ones before it (and itself)


def modules() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for p in (REPO / layer).rglob("*.py"):
            parts = p.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere in it (top level or inside functions)."""
    found = set()
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != name:
                found.add(n)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports_of(p, m, set(mods)) for m, p in mods.items()}


def test_imports_point_down_only():
    bad = []
    for m, deps in graph().items():
        rank = LAYERS.index(m.split(".")[0])
        bad += [f"{m} -> {d}" for d in deps if LAYERS.index(d.split(".")[0]) > rank]
    assert not bad, "upward imports: " + ", ".join(sorted(bad))


def test_no_import_cycles():
    g = graph()
    # a package's __init__ importing its own submodules is how it re-exports them, not a cycle
    g = {m: {d for d in deps if not (d.startswith(m + "."))} for m, deps in g.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
            elif d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
