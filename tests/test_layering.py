"""The direction of imports of DESIGN.md, checked on the source and at run time.

Source checks read every import statement of our packages with ``ast``: module level, inside
functions and under ``if TYPE_CHECKING:`` alike, since a cycle or a wrong-way import hidden in a
lazy import is still one. Relative imports are resolved to absolute names. Imports built at run time
(``importlib.import_module`` of a computed name) are not seen.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"console", "telephony", "taxonomy", "store", "citybackend"}
ALLOWED = {
    "telephony": set(),
    "taxonomy": set(),
    "store": {"taxonomy"},
    "console": {"telephony", "taxonomy", "store", "citybackend"},
    # the reference city backend stands apart from the store: its own tables, only the taxonomy's data
    "citybackend": {"taxonomy"},
}
# the console's services hold the desk's logic without its look: no Textual, no screens or widgets
SERVICES_FORBIDDEN = ("textual", "console.screens", "console.widgets")


@dataclass(frozen=True)
class Import:
    """One name an import statement loads: ``from a.b import c`` loads ``a.b`` and ``a.b.c``."""

    name: str
    line: int


def _module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules(root: Path = ROOT, packages: set[str] = OURS) -> dict[str, Path]:
    return {
        _module_name(path, root): path
        for package in sorted(packages)
        if (root / package).is_dir()
        for path in sorted((root / package).rglob("*.py"))
    }


def _imports(path: Path, module: str) -> Iterator[Import]:
    """Every absolute name the file imports, wherever the statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            yield Import(base, node.lineno)
            for alias in node.names:
                if alias.name != "*":
                    yield Import(f"{base}.{alias.name}", node.lineno)


def _imported_roots(path: Path) -> set[str]:
    return {i.name.split(".")[0] for i in _imports(path, _module_name(path)) if i.name}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_design(package: str) -> None:
    bad = []
    if not (ROOT / package).is_dir():
        pytest.skip(f"{package}/ does not exist yet")
    for path in sorted((ROOT / package).rglob("*.py")):
        roots = _imported_roots(path)
        forbidden = (roots & OURS) - ALLOWED[package] - {package}
        if package != "console" and "textual" in roots:
            forbidden.add("textual")
        if forbidden:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(forbidden)}")
    assert not bad, "\n".join(bad)


def test_console_services_import_no_ui() -> None:
    bad = []
    for module, path in _modules().items():
        if module != "console.services" and not module.startswith("console.services."):
            continue
        for imp in _imports(path, module):
            if any(imp.name == f or imp.name.startswith(f + ".") for f in SERVICES_FORBIDDEN):
                bad.append(f"{path.relative_to(ROOT)}:{imp.line} imports {imp.name}")
    assert not bad, "\n".join(sorted(set(bad)))


# --- import cycles ---------------------------------------------------------------------------------


def _import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {module it imports: first line}. A name that is no module counts as its nearest
    enclosing module (``from store import calls`` loads ``store`` too); a module's own packages are
    left out, since Python runs them before the module whichever way it is imported."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    for module, path in modules.items():
        for imp in _imports(path, module):
            target = resolve(imp.name)
            if target is None or target == module or module.startswith(target + "."):
                continue
            graph[module].setdefault(target, imp.line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def test_the_cycle_finder_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg import a\n", encoding="utf-8")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n", encoding="utf-8"
    )
    (pkg / "b.py").write_text("def f() -> None:\n    from pkg.a import f\n", encoding="utf-8")
    (pkg / "c.py").write_text("import pkg.a\n", encoding="utf-8")
    graph = _import_graph(_modules(tmp_path, {"pkg"}))
    assert graph["pkg.a"] == {"pkg.b": 3} and graph["pkg.b"] == {"pkg.a": 2}
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]  # pkg -> pkg.a is no cycle: pkg runs first anyway
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycles_between_our_modules() -> None:
    graph = _import_graph(_modules())
    cycles = _cycles(graph)
    lines = []
    for component in cycles:
        members = set(component)
        lines.append("cycle: " + " ".join(component))
        for module in component:
            for target, line in sorted(graph[module].items()):
                if target in members:
                    lines.append(f"    {module}:{line} -> {target}")
    assert not cycles, "\n".join(lines)


def test_lower_packages_do_not_load_textual_at_run_time() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "for pkg in ('telephony', 'taxonomy', 'store'):\n"
        "    m = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(m.__path__, pkg + '.'):\n"
        "        if '.migrations' in info.name: continue\n"
        "        importlib.import_module(info.name)\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
