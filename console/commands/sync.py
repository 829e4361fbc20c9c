"""``hotline sync [--once | --status | --retry-attention]``: the outbox worker as a command.

``build_sync_thread(store, config)`` is the same worker for the console process (``[sync] enabled``):
the app starts it, calls ``notify()`` after each save and ``stop()`` on exit.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import TYPE_CHECKING, Any

from console.commands import print_json

if TYPE_CHECKING:
    from console.cli import CommandContext
    from console.config import Config
    from store.db import Store
    from store.sync import SyncThread, SyncWorker


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("sync", help="send the outbox to the city backend and apply its updates")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="send what is ready, read the feed, then exit")
    mode.add_argument("--status", action="store_true", help="backlog, entries needing attention, breaker")
    mode.add_argument(
        "--retry-attention",
        action="store_true",
        help="queue the entries needing attention again (after fixing their tickets)",
    )
    parser.add_argument("--json", action="store_true", help="JSON output (--once, --status)")
    parser.set_defaults(handler=run_sync)


def build_worker(store: Store, config: Config) -> SyncWorker:
    """A worker over ``store`` speaking Open311 to ``[backend] url`` with the ``[sync]`` settings."""
    from console.cli import CommandError
    from store.open311_client import Open311Client
    from store.sync import SyncSettings, SyncWorker

    if not config.backend.url:
        raise CommandError("sync: set [backend] url (or HOTLINE_BACKEND__URL) to the city backend")
    client = Open311Client(
        config.backend.url,
        config.backend.api_key.get_secret_value(),
        timeout=config.backend.timeout,
        jurisdiction_id=config.backend.jurisdiction_id,
        ca_file=config.backend.ca_file,
    )
    settings = SyncSettings(**config.sync.model_dump(exclude={"enabled"}))
    return SyncWorker(store, client, settings)


def build_sync_thread(store: Store, config: Config) -> SyncThread | None:
    """The worker thread for the console when ``[sync] enabled`` (else None); call ``start()``."""
    from store.sync import SyncThread

    if not config.sync.enabled:
        return None
    return SyncThread(build_worker(store, config))


def run_sync(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.sync import attention_entries, retry_attention, sync_status

    store = ctx.existing_store if args.status else ctx.store  # a status report never creates a store
    if args.status:
        with store.read() as session:
            status = sync_status(session, ctx.config.sync.attention_after_attempts)
            attention = attention_entries(session)
        shown: dict[str, Any] = {
            k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in vars(status).items()
        }
        if args.json:
            print_json({**shown, "attention_entries": attention})
        else:
            print("  ".join(f"{k}={v}" for k, v in shown.items()))
            for entry in attention:
                print(f"  #{entry['id']} {entry['number']} {entry['kind']}: {entry['error']}")
        return 0
    if args.retry_attention:
        with store.session() as session:
            print(f"queued again: {retry_attention(session)}")
        return 0
    worker = build_worker(store, ctx.config)
    try:
        if args.once:
            result = worker.run_until_idle()
            summary = {k: getattr(result, k) for k in ("sent", "attention", "failed", "applied", "pulled")}
            summary["errors"] = result.errors[:10]
            print_json(summary) if args.json else print("  ".join(f"{k}={v}" for k, v in summary.items()))
            return 1 if result.failed or result.errors else 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker.run(stop)
        return 0
    finally:
        worker.close()
        worker.client.close()
