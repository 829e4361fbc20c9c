"""The console half of ``hotline demo``: the demo folder and store, the backend on loopback holding
the seeded history, the app with a demo operator (the calls it rings are ``console.demo_script``).

Not a command module itself (the leading underscore keeps the command loader away from it).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa
    import uvicorn

    from console.cli import CommandContext
    from console.config import Config
    from store.db import Store
    from store.seed import SeedReport
    from taxonomy.model import Taxonomy

DEMO_STORE = "demo.sqlite3"
DEMO_DEPARTMENTS = "departments.tsv"
# our ticket statuses → the backend's request statuses (citybackend.records), for the seeded history
BACKEND_STATUS = {
    "已受理": "open",
    "已派单": "dispatched",
    "已签收": "accepted",
    "办理中": "in_progress",
    "已答复": "replied",
    "已退单": "returned",
}


@dataclass(frozen=True)
class DemoFolder:
    """Where one demo keeps its store and its backend's database; ``kept``: given with --data-dir."""

    path: Path
    kept: bool

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path / DEMO_STORE}"

    def farewell(self) -> str:
        """The line printed when the demo ends: how to query the store, or that it is gone."""
        if self.kept:
            return f"The demo store stays in {self.path}; query it with: HOTLINE_STORE__URL={self.url} hotline tickets list"
        return (
            f"The demo store was temporary and {self.path} is deleted; "
            "keep it next time with: hotline demo --data-dir DIR"
        )


@contextmanager
def demo_folder(data_dir: Path | None) -> Iterator[DemoFolder]:
    """``data_dir`` (created if needed, kept), else a new temporary folder deleted on exit."""
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield DemoFolder(data_dir, kept=True)
        return
    path = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    try:
        yield DemoFolder(path, kept=False)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def has_tickets(store: Store) -> bool:
    """Whether the store already holds tickets (a demo folder used again is not seeded twice)."""
    from sqlalchemy import select

    from store.models import Ticket

    with store.read() as session:
        return session.scalars(select(Ticket.id).limit(1)).first() is not None


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


def write_demo_departments(folder: Path) -> Path:
    """The shipped departments file with the demo's made-up transfer numbers
    (``store.seed_data.DEMO_DEPARTMENT_PHONES``), written into ``folder``; returns its path."""
    from store.seed_data import DEMO_DEPARTMENT_PHONES
    from taxonomy.model import DEFAULT_DEPARTMENTS_PATH

    lines = []
    for raw in DEFAULT_DEPARTMENTS_PATH.read_text(encoding="utf-8").splitlines():
        cols = raw.split("\t")
        if raw.strip() and not raw.lstrip().startswith("#") and cols[0] in DEMO_DEPARTMENT_PHONES:
            cols = [*cols, "", ""][:4]
            cols[3] = cols[3].strip() or DEMO_DEPARTMENT_PHONES[cols[0]]
            raw = "\t".join(cols)
        lines.append(raw)
    path = folder / DEMO_DEPARTMENTS
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def with_demo_settings(config: Config, departments: Path, *, busy: bool) -> Config:
    """``config`` with the demo's departments file (transfer numbers) and, if ``busy``, the stress pace."""
    update: dict[str, object] = {"taxonomy": config.taxonomy.model_copy(update={"departments": departments})}
    if busy:
        update["demo"] = config.demo.model_copy(update={"busy": True})
    return config.model_copy(update=update)


@dataclass
class LoopbackBackend:
    """The reference city backend on 127.0.0.1 in a thread of this process."""

    url: str
    api_key: str
    server: uvicorn.Server
    thread: threading.Thread
    engine: sa.Engine | None = None  # its database, for putting the seeded history there

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def start_backend(folder: Path, taxonomy: Taxonomy) -> LoopbackBackend:
    import uvicorn

    from citybackend.app import BackendSettings, build_app
    from citybackend.services import services_from_taxonomy
    from citybackend.tables import create_engine

    key = secrets.token_urlsafe(16)
    engine = create_engine(f"sqlite:///{folder / 'citybackend.sqlite3'}")
    settings = BackendSettings(
        engine=engine,
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
    return LoopbackBackend(f"http://127.0.0.1:{port}", key, server, thread, engine)


def publish_history(store: Store, engine: sa.Engine) -> int:
    """Put the tickets the backend has never seen (the seeded history) straight into its database,
    and record their backend ids (``link_backend`` events), so that a later change of a seeded ticket
    (a 回访, a 重办) is sent like any other instead of waiting for a backend id forever. Returns how
    many tickets were linked."""
    import sqlalchemy as sa

    from citybackend.tables import requests
    from store.seed import link_seeded, unsent_tickets

    tickets = unsent_tickets(store)
    if not tickets:
        return 0
    with engine.begin() as conn:
        known = {row[0] for row in conn.execute(sa.select(requests.c.client_request_id))}
        rows = [
            {
                "client_request_id": t.client_request_id,
                "service_code": t.leaf_code or "",
                "status": BACKEND_STATUS.get(t.status, "closed"),
                "description": t.description,
                "address": t.address,
                "attributes": {},
                "requested_datetime": t.created_at,
                "updated_datetime": t.updated_at,
            }
            for t in tickets
            if t.client_request_id not in known
        ]
        if rows:
            conn.execute(sa.insert(requests), rows)
        found = conn.execute(sa.select(requests.c.client_request_id, requests.c.service_request_id))
        ids = {client_id: srid for client_id, srid in found}  # not dict(found): a Result has keys()
    links = {t.ticket_id: str(ids[t.client_request_id]) for t in tickets if t.client_request_id in ids}
    return link_seeded(store, links)


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
    with demo_folder(args.data_dir) as folder:
        print(
            f"hotline demo: store {folder.url}; operator {DEMO_USER}/{DEMO_PASSWORD}; starting the console…",
            flush=True,
        )
        store = open_store(folder.url)
        backend: LoopbackBackend | None = None
        try:
            taxonomy = load_taxonomy(config.taxonomy.path)
            if not has_tickets(store):
                seed_demo_store(store, config, taxonomy, 1000 if args.tickets is None else args.tickets)
            demo_operator(store)
            config = with_demo_settings(config, write_demo_departments(folder.path), busy=args.busy)
            if not args.no_backend:
                backend = start_backend(folder.path, taxonomy)
                assert backend.engine is not None
                publish_history(store, backend.engine)
                config = with_backend(config, backend)
            with store.read() as s:
                repeat = numbers_with_tickets(s)
            line = bootstrap.make_line(
                config,
                sim=True,
                repeat_numbers=repeat,
                calls=DEMO_CALLS if args.calls is None else args.calls,
            )
            bootstrap.run_app(config, store, line, auto_login=DEMO_USER, taxonomy=taxonomy)
        finally:
            if backend is not None:
                backend.stop()
                if backend.engine is not None:
                    backend.engine.dispose()
            store.close()
    print(folder.farewell())
    return 0
