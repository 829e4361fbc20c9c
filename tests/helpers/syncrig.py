"""Real processes for the sync proofs: ``hotline backend`` and ``hotline sync``, each killable (-9).

Every process is started with a bounded start-up wait and stopped by ``Procs.close()`` (called from
a fixture finalizer), whatever the test did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sync-test-key"
# leaves of the default taxonomy (the backend's services)
LEAVES = ("101001", "101002", "101003")


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value (returned) or fail after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def base_env(tmp: Path, store_url: str, backend_url: str, **sync: str) -> dict[str, str]:
    config = tmp / "config.toml"
    config.touch()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOTLINE_CONFIG": str(config),
        "HOTLINE_STORE__URL": store_url,
        "HOTLINE_LOGGING__FILE": str(tmp / "hotline.log"),
        "HOTLINE_BACKEND__URL": backend_url,
        "HOTLINE_BACKEND__API_KEY": API_KEY,
        "HOTLINE_BACKEND__TIMEOUT": "1",
        "HOTLINE_SYNC__INTERVAL": "0.2",
        "HOTLINE_SYNC__BACKOFF_BASE": "0.1",
        "HOTLINE_SYNC__BACKOFF_MAX": "1",
        "HOTLINE_SYNC__BREAKER_FAILURES": "3",
        "HOTLINE_SYNC__BREAKER_RESET": "1",
        "HOTLINE_SYNC__BATCH_SIZE": "10",
    }
    env.update({f"HOTLINE_SYNC__{k.upper()}": v for k, v in sync.items()})
    return env


@dataclass
class Procs:
    """The processes of one test."""

    tmp: Path
    env: Mapping[str, str]
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        out = open(self.tmp / f"{name}.out", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", *args],
            cwd=self.tmp,
            env=dict(self.env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.running.append(proc)
        return proc

    def kill9(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@dataclass
class Backend:
    """``hotline backend`` on a fixed free port (kept across restarts)."""

    procs: Procs
    port: int
    db_url: str
    proc: subprocess.Popen[bytes] | None = None
    _http: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = self.procs.spawn(
            "backend", "--port", str(self.port), "--db", self.db_url, "--api-key", API_KEY, name="backend"
        )

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "the backend exited"
            try:
                return httpx.get(f"{self.url}/discovery.json", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, 30, "the backend to answer")

    def kill(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.proc is not None:
            self.procs.kill9(self.proc)
            self.proc = None

    def client_ids(self) -> list[str]:
        out: list[str] = []
        for page in range(1, 1000):
            rows = httpx.get(
                f"{self.url}/requests.json", params={"page": page, "page_size": 1000}, timeout=10
            ).json()
            out += [r["client_request_id"] for r in rows]
            if len(rows) < 1000:
                return out
        raise AssertionError("too many pages")

    def feed(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        after = "0"
        for _ in range(1000):
            rows = httpx.get(
                f"{self.url}/servicerequestupdates.json",
                params={"after": after, "page_size": 1000},
                timeout=10,
            ).json()
            out += rows
            if len(rows) < 1000:
                return out
            after = rows[-1]["update_id"]
        raise AssertionError("too many pages")

    def act(self, backend_id: str, action: str, **fields: str) -> None:
        """A department's action, straight to the backend (not through the proxy)."""
        if self._http is None:
            self._http = httpx.Client(timeout=10)
        response = self._http.post(
            f"{self.url}/requests/{backend_id}/{action}.json", data={"api_key": API_KEY, **fields}
        )
        assert response.status_code == 201, response.text


@dataclass
class LiveBackend:
    url: str
    http: httpx.Client

    def act(self, backend_id: str, action: str, **fields: str) -> httpx.Response:
        return self.http.post(f"/requests/{backend_id}/{action}.json", data={"api_key": API_KEY, **fields})

    def client_ids(self) -> list[str]:
        return [
            r["client_request_id"] for r in self.http.get("/requests.json", params={"page_size": 1000}).json()
        ]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def queue_tickets(store, n: int, prefix: str, per_transaction: int = 500) -> list[str]:  # type: ignore[no-untyped-def]
    """Save ``n`` tickets (each with its outbox row) through store.tickets; their client ids."""
    from store.tickets import Actor, create_ticket, draft_from

    actor = Actor("bench", "operator")
    ids = [f"{prefix}-{i}" for i in range(n)]
    for start in range(0, n, per_transaction):
        with store.session() as session:
            for i in range(start, min(n, start + per_transaction)):
                draft = draft_from(
                    {
                        "nature": "投诉",
                        "description": "路灯不亮",
                        "leaf_code": LEAVES[i % 3],
                        "district": "铁东区",
                        "address": "胜利路",
                        "channel": "phone",
                    }
                )
                create_ticket(session, draft, actor, now(), client_request_id=ids[i])
    return ids


@contextlib.contextmanager
def bench_rig(store_kind: str, *, start_backend: bool = True) -> Iterator[tuple[Any, Backend]]:
    """For bench/: a fresh store (sqlite or postgresql) and ``hotline backend`` on its own SQLite file."""
    from helpers.pgserver import free_port, running_pg
    from store.db import open_store

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp_path = Path(tmp)
        if store_kind == "postgresql":
            server = stack.enter_context(running_pg())
            url = server.url(server.create_db())
        else:
            url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
        store = open_store(url)
        stack.callback(store.close)
        procs = Procs(tmp_path, {})
        stack.callback(procs.close)
        backend = Backend(procs, free_port(), f"sqlite:///{tmp_path / 'backend.sqlite3'}")
        procs.env = base_env(tmp_path, url, backend.url)
        if start_backend:
            backend.start()
        yield store, backend
