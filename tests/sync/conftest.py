"""The reference backend served by uvicorn in a thread on a free loopback port (in-process tests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from helpers.pgserver import free_port
from helpers.syncrig import API_KEY, LiveBackend, wait_until

from citybackend.app import BackendSettings, build_app
from citybackend.services import services_from_taxonomy
from citybackend.tables import create_engine
from taxonomy.model import load_taxonomy


@pytest.fixture
def live_backend(tmp_path: Path) -> Iterator[LiveBackend]:
    engine = create_engine(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    app = build_app(
        BackendSettings(engine=engine, services=services_from_taxonomy(load_taxonomy()), api_keys=[API_KEY])
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, timeout=10)
    try:
        wait_until(lambda: server.started, 20, "uvicorn to start")
        yield LiveBackend(url, http)
    finally:
        http.close()
        server.should_exit = True
        thread.join(10)
        engine.dispose()
