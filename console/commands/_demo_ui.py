"""The console half of ``hotline demo``: the demo store, the backend on loopback, the app with a demo
operator (the calls it rings are ``console.demo_script``).

Not a command module itself (the leading underscore keeps the command loader away from it).
"""

from __future__ import annotations

import argparse
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from console.cli import CommandContext
    from console.config import Config
    from store.db import Store
    from store.seed import SeedReport
    from taxonomy.model import Taxonomy


def seed_demo_store(store: Store, config: Config, taxonomy: Taxonomy, tickets: int) -> SeedReport:
    """A month of simulated history on ``taxonomy``'s leaves (seeded: every demo has the same one)."""
    from store.seed import seed
    from store.seed_data import leaves_from_taxonomy
    from taxonomy.model import load_departments

    departments = {d.id: d.name for d in load_departments().values()}
    return seed(
        store,
        tickets=tickets,
        days=30,
        seed=7,
        policy=config.deadlines,
        prefix=config.store.ticket_prefix,
        leaves=leaves_from_taxonomy(taxonomy.leaves(), departments),
        taxonomy_version=taxonomy.version,
    )


def demo_operator(store: Store) -> None:
    from console.demo_script import DEMO_NAME, DEMO_PASSWORD, DEMO_USER
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
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def start_backend(folder: Path, taxonomy: Taxonomy) -> LoopbackBackend:
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


def with_backend(config: Config, backend: LoopbackBackend) -> Config:
    """``config`` sending the tickets to ``backend`` every 2 s."""
    from pydantic import SecretStr

    return config.model_copy(
        update={
            "backend": config.backend.model_copy(
                update={"url": backend.url, "api_key": SecretStr(backend.api_key)}
            ),
            "sync": config.sync.model_copy(update={"enabled": True, "interval": 2.0}),
        }
    )


def run_demo_ui(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console import bootstrap
    from console.demo_script import DEMO_CALLS, DEMO_PASSWORD, DEMO_USER
    from store.callers import numbers_with_tickets
    from store.db import open_store
    from taxonomy.model import load_taxonomy

    config = ctx.config
    bootstrap.prepare_terminal(config)
    bootstrap.quiet_logging(config)
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    print(
        f"hotline demo: store {url}; operator {DEMO_USER}/{DEMO_PASSWORD}; starting the console…", flush=True
    )
    store = open_store(url)
    backend: LoopbackBackend | None = None
    try:
        taxonomy = load_taxonomy(config.taxonomy.path)
        seed_demo_store(store, config, taxonomy, 1000 if args.tickets is None else args.tickets)
        demo_operator(store)
        if not args.no_backend:
            backend = start_backend(folder, taxonomy)
            config = with_backend(config, backend)
        with store.read() as s:
            repeat = numbers_with_tickets(s)
        line = bootstrap.make_line(
            config, sim=True, repeat_numbers=repeat, calls=DEMO_CALLS if args.calls is None else args.calls
        )
        bootstrap.run_app(config, store, line, auto_login=DEMO_USER, taxonomy=taxonomy)
    finally:
        if backend is not None:
            backend.stop()
        store.close()
    print(f"The demo store stays in {folder}; try: HOTLINE_STORE__URL={url} hotline tickets list")
    return 0
