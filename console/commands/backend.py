"""``hotline backend``: run the reference Open311 city backend on uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("backend", help="run the reference Open311 city backend")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8311)
    parser.add_argument(
        "--db", default="sqlite:///citybackend.sqlite3", help="SQLAlchemy URL of its own tables"
    )
    parser.add_argument("--api-key", action="append", default=[], dest="api_keys", help="repeatable")
    parser.add_argument("--keys-file", type=Path, help="one api key a line")
    parser.add_argument("--cert", help="TLS certificate (PEM)")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.set_defaults(handler=run_backend)


def run_backend(args: argparse.Namespace, ctx: CommandContext) -> int:
    from citybackend.server import read_keys_file, serve

    keys = list(args.api_keys)
    if args.keys_file:
        keys += read_keys_file(args.keys_file)
    if not keys:
        print("hotline backend: give at least one --api-key or --keys-file")
        return 2
    if bool(args.cert) != bool(args.key):
        print("hotline backend: --cert and --key go together")
        return 2
    serve(args.host, args.port, args.db, keys, args.cert, args.key)
    return 0
