"""Run the backend on uvicorn (what ``hotline backend`` calls)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import uvicorn

from citybackend.app import BackendSettings, build_app
from citybackend.services import services_from_taxonomy
from citybackend.tables import create_engine
from taxonomy.model import load_taxonomy


def read_keys_file(path: Path) -> list[str]:
    """One api key a line; blank lines and ``#`` comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def serve(
    host: str,
    port: int,
    db_url: str,
    api_keys: Sequence[str],
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    engine = create_engine(db_url)
    settings = BackendSettings(
        engine=engine, services=services_from_taxonomy(load_taxonomy()), api_keys=api_keys
    )
    # access_log off: URLs of GET requests may carry search terms; our own log carries ids only
    uvicorn.run(
        build_app(settings),
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
