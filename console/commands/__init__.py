"""The subcommands of ``hotline``, one module each, discovered at start-up.

Each module exposes ``register(subparsers) -> None``: it adds its subcommand(s) with
``parser.set_defaults(handler=...)``, a handler being ``handler(args, ctx) -> int`` (an exit code),
``ctx`` a ``console.cli.CommandContext`` (``ctx.config``, ``ctx.store``, both opened lazily; a command
that only reads takes ``ctx.existing_store``, which refuses a SQLite file that does not exist).
Keep module-level imports light (import the store inside handlers) so ``hotline --help`` stays fast.
A module that fails to import or register is skipped and reported; the other commands keep working.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class SkippedModule:
    """A command module that could not be loaded, and why (one line)."""

    name: str
    error: str


def command_module_names() -> list[str]:
    """Every module shipped in this package, sorted (so ``--help`` lists them in a stable order)."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def import_command_module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def register_all(subparsers: argparse._SubParsersAction) -> list[SkippedModule]:  # type: ignore[type-arg]
    """Register every command module; return the ones that failed (their commands are missing)."""
    skipped: list[SkippedModule] = []
    for name in command_module_names():
        try:
            import_command_module(name).register(subparsers)
        except Exception as exc:  # a broken module must not take the other commands down
            skipped.append(SkippedModule(name, f"{type(exc).__name__}: {exc}".splitlines()[0]))
    return skipped


# --- output helpers shared by the command modules ------------------------------------------------


def print_json(value: object) -> None:
    """Stable JSON on stdout: UTF-8 text, not \\u escapes; one document."""
    import json

    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def format_table(rows: list[dict[str, object]], columns: list[str]) -> str:
    """A plain text table; CJK characters count double so columns line up in a terminal."""
    from rich.cells import cell_len

    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([cell_len(c), *(cell_len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - cell_len(v)) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def local_times(row: dict[str, object]) -> dict[str, object]:
    """ISO UTC strings → 'YYYY-MM-DD HH:MM' on the Anshan wall clock, for people (JSON output stays UTC)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    out = dict(row)
    for key, value in row.items():
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                continue
            out[key] = parsed.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    return out
