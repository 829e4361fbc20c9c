"""``hotline db upgrade`` and ``hotline db backup PATH``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from console.commands import print_json

if TYPE_CHECKING:
    from console.cli import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="database: migrate the schema, back up the SQLite file")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    upgrade = actions.add_parser("upgrade", help="migrate the store to the newest schema; print the revision")
    upgrade.add_argument("--json", action="store_true", help='print {"revision": ...}')
    upgrade.set_defaults(handler=run_upgrade)

    backup = actions.add_parser("backup", help="a consistent copy of the live SQLite store (online backup)")
    backup.add_argument("path", type=Path, help="the file to write (must not exist)")
    backup.add_argument("--json", action="store_true", help="print what was written as JSON")
    backup.set_defaults(handler=run_backup)


def run_upgrade(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.db import current_revision

    revision = current_revision(ctx.store.engine)  # opening the store migrates it
    if args.json:
        print_json({"revision": revision})
    else:
        print(revision)
    return 0


def run_backup(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.backup import backup_sqlite

    result = backup_sqlite(ctx.config.store.url or None, args.path)
    if args.json:
        print_json(
            {
                "source": str(result.source),
                "path": str(result.dest),
                "bytes": result.bytes,
                "pages": result.pages,
                "seconds": round(result.seconds, 3),
            }
        )
    else:
        print(f"backup written: {result.dest} ({result.bytes} bytes, {result.seconds:.2f} s)")
    return 0
