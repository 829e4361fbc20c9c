"""schemathesis against the live ``hotline backend`` process: generated requests for every operation of
its OpenAPI document; none may get a 5xx, and every response must be JSON of the documented shape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

ROOT = Path(__file__).resolve().parents[2]
KEY = "schemathesis-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    port = _free_port()
    (tmp / "config.toml").touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_CONFIG": str(tmp / "config.toml"),
           "HOTLINE_LOGGING__FILE": str(tmp / "log.jsonl")}
    cmd = [sys.executable, "-m", "console.cli", "backend", "--port", str(port), "--db",
           f"sqlite:///{tmp / 'b.sqlite3'}", "--api-key", KEY]
    with open(tmp / "backend.out", "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded: up to ~20 s for start-up
            try:
                httpx.get(f"{url}/discovery.json", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, (tmp / "backend.out").read_text()
                time.sleep(0.1)
        # a request to act on, so the department actions get past "unknown id" sometimes
        httpx.post(f"{url}/requests.json", data={"api_key": KEY, "service_code": "101001",
                                                 "attribute[client_request_id]": "seed"}, timeout=5)
        yield url
        log = (tmp / "backend.out").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api_schema(backend_url: str):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{backend_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_open311_shaped_answers(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call_and_validate(checks=[not_a_server_error], timeout=10)
    assert response.status_code < 500, response.text[:300]
    body = response.json()  # always JSON
    if response.status_code >= 400:
        assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}
