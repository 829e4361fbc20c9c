"""The console half of ``hotline demo``: demo calls, the backend on loopback, the app with a demo operator.

Not a command module itself (the leading underscore keeps the command loader away from it).
"""

from __future__ import annotations

import argparse
import random
import secrets
import socket
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.cli import CommandContext
    from store.db import Store
    from telephony.sim import ScriptedCall, SimLine

DEMO_USER, DEMO_PASSWORD, DEMO_NAME = "demo", "demo", "演示话务员"
FIRST_RING = 3.0  # seconds after start: the demo operator is logged in by then


def demo_script(
    repeat_numbers: Sequence[str], count: int = 200, seed: int = 7, first_ring: float = FIRST_RING
) -> list[ScriptedCall]:
    """Calls every 8-20 s: a third from numbers with history, a quarter hang up while it rings."""
    from telephony.sim import ScriptedCall

    rng = random.Random(seed)
    names = ("", "", "", "张先生", "李女士", "王阿姨", "刘师傅")
    out: list[ScriptedCall] = []
    at = first_ring
    for i in range(max(0, count)):
        if repeat_numbers and rng.random() < 0.35:
            number = rng.choice(list(repeat_numbers))
        elif rng.random() < 0.2:
            number = f"0412{rng.randint(2000000, 8999999)}"  # an Anshan landline
        else:
            number = f"1{rng.choice('35789')}{rng.randint(100000000, 999999999)}"
        gives_up = i > 0 and rng.random() < 0.25  # the first call always waits to be answered
        hangup = rng.uniform(5, 12) if gives_up else rng.uniform(120, 300)
        out.append(
            ScriptedCall(caller=number, display_name=rng.choice(names), ring_at=at, hangup_after=hangup)
        )
        at += rng.uniform(8, 20)
    return out


def demo_line(repeat_numbers: Sequence[str], count: int = 200) -> SimLine:
    """A SimLine in real time ringing ``demo_script`` calls."""
    from telephony.sim import SimLine, ThreadScheduler

    return SimLine(demo_script(repeat_numbers, count), ThreadScheduler())


def repeat_numbers(store: Store, limit: int = 40) -> list[str]:
    """Numbers with tickets in the store (national digits), for repeat callers."""
    from sqlalchemy import select

    from store.models import Caller, Ticket

    with store.read() as s:
        rows = (
            s.execute(
                select(Caller.phone).join(Ticket, Ticket.caller_id == Caller.id).distinct().limit(limit)
            )
            .scalars()
            .all()
        )
    return [p.removeprefix("+86") for p in rows if p]


def demo_operator(store: Store) -> None:
    from store import users
    from store.db import utcnow

    with store.session() as s:
        if users.find_user(s, DEMO_USER) is None:
            users.add_user(s, DEMO_USER, "operator", DEMO_PASSWORD, utcnow(), display_name=DEMO_NAME)


@dataclass
class LoopbackBackend:
    """The reference city backend on 127.0.0.1 in a thread of this process."""

    url: str
    api_key: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def start_backend(folder: Path, taxonomy: Any) -> LoopbackBackend:
    import uvicorn

    from citybackend.app import BackendSettings, build_app
    from citybackend.services import services_from_taxonomy
    from citybackend.tables import create_engine

    key = secrets.token_urlsafe(16)
    settings = BackendSettings(
        engine=create_engine(f"sqlite:///{folder / 'citybackend.sqlite3'}"),
        services=services_from_taxonomy(taxonomy),
        api_keys=[key],
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config None: uvicorn must not print on the terminal the console draws on
    server = uvicorn.Server(
        uvicorn.Config(build_app(settings), log_config=None, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="citybackend", daemon=True)
    thread.start()
    return LoopbackBackend(f"http://127.0.0.1:{port}", key, server, thread)


def run_demo_ui(args: argparse.Namespace, ctx: CommandContext) -> int:
    from pydantic import SecretStr

    from console.commands.console_cmd import prepare_terminal, quiet_logging
    from console.commands.seed import _taxonomy_leaves
    from store.db import open_store
    from store.seed import seed
    from taxonomy.model import load_taxonomy

    config = ctx.config
    prepare_terminal(config)
    quiet_logging(config)
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    print(
        f"hotline demo: store {url}; operator {DEMO_USER}/{DEMO_PASSWORD}; starting the console…", flush=True
    )
    store = open_store(url)
    backend: LoopbackBackend | None = None
    sync = None
    try:
        taxonomy = load_taxonomy(config.taxonomy.path)
        seed(
            store,
            tickets=1000 if args.tickets is None else args.tickets,
            days=30,
            seed=7,
            policy=config.deadlines,
            prefix=config.store.ticket_prefix,
            **_taxonomy_leaves(config),
        )
        demo_operator(store)
        if not args.no_backend:
            backend = start_backend(folder, taxonomy)
            config = config.model_copy(
                update={
                    "backend": config.backend.model_copy(
                        update={"url": backend.url, "api_key": SecretStr(backend.api_key)}
                    ),
                    "sync": config.sync.model_copy(update={"enabled": True, "interval": 2.0}),
                }
            )
        sync = _sync_thread(store, config)
        line = demo_line(repeat_numbers(store), 200 if args.calls is None else args.calls)
        _run_app(config, store, line, taxonomy, sync)
    finally:
        if sync is not None:
            sync.stop(5)
        if backend is not None:
            backend.stop()
        store.close()
    print(f"The demo store stays in {folder}; try: HOTLINE_STORE__URL={url} hotline tickets list")
    return 0


def _sync_thread(store: Store, config: Any) -> Any:
    from console.commands.sync import build_sync_thread

    thread = build_sync_thread(store, config)
    if thread is not None:
        thread.start()
    return thread


def _run_app(config: Any, store: Store, line: Any, taxonomy: Any, sync: Any) -> None:
    from console import wiring
    from console.app import HotlineApp

    app = HotlineApp(
        config,
        store,
        line,
        auto_login=DEMO_USER,
        form_factory=wiring.ticket_form,
        worklists=wiring.worklists,
        taxonomy=taxonomy,
        sync=sync,
    )
    app.run()
    app.shutdown()
