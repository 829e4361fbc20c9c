"""The direction of imports of DESIGN.md, checked on the source and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
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


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


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
