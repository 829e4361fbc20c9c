"""``hotline backend`` as a real process on a free loopback port, for the backend's own tests.

    with running_backend(tmp_path, keys=("k",)) as backend:
        httpx.get(f"{backend.url}/services.json")

Start-up is waited for (bounded), and the process is stopped on leaving the block whatever the test
did; ``backend.output()`` is what it printed (a test may assert no Traceback in it).
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers.pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BackendProcess:
    url: str
    proc: subprocess.Popen[bytes]
    out: Path

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def running_backend(
    tmp: Path,
    *,
    keys: Sequence[str] = ("test-key",),
    extra: Sequence[str] = (),
    scheme: str = "http",
    verify: ssl.SSLContext | bool = True,
) -> Iterator[BackendProcess]:
    """The backend on its own SQLite file in ``tmp``; ``extra`` arguments (e.g. ``--cert``) are passed
    on; ``verify`` is what the start-up probe trusts (a context with the CA of a self-signed certificate)."""
    port = free_port()
    config = tmp / "config.toml"
    config.touch()
    # PYTHONPATH: an editable install made before citybackend/ existed does not map the new package
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOTLINE_CONFIG": str(config),
        "HOTLINE_LOGGING__FILE": str(tmp / "log.jsonl"),
        "HOTLINE_STORE__URL": f"sqlite:///{tmp / 'store.sqlite3'}",
    }
    cmd = [
        sys.executable,
        "-m",
        "console.cli",
        "backend",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{tmp / 'backend.sqlite3'}",
        *[a for k in keys for a in ("--api-key", k)],
        *extra,
    ]
    out = tmp / "backend.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=sink, stderr=subprocess.STDOUT)
    backend = BackendProcess(f"{scheme}://127.0.0.1:{port}", proc, out)
    try:
        deadline = time.monotonic() + 30  # bounded start-up
        while True:
            try:
                httpx.get(f"{backend.url}/discovery.json", timeout=1, verify=verify)
                break
            except httpx.TransportError:
                assert proc.poll() is None, backend.output()
                assert time.monotonic() < deadline, "the backend did not start"
                time.sleep(0.1)
        yield backend
    finally:
        stop(proc)
