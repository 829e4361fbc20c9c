"""``hotline backend`` as a real process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_hotline_backend_serves_open311(tmp_path: Path) -> None:
    port = _free_port()
    keys = tmp_path / "keys"
    keys.write_text("# clients\nk-file\n", encoding="utf-8")
    cmd = [
        sys.executable, "-m", "console.cli", "backend", "--port", str(port),
        "--db", f"sqlite:///{tmp_path / 'b.sqlite3'}", "--api-key", "k-arg", "--keys-file", str(keys),
    ]
    # PYTHONPATH: an editable install made before citybackend/ existed does not map the new package
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_STORE__URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # bounded: up to ~20 s for start-up
            try:
                services = httpx.get(f"{base}/services.json", timeout=1).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.1)
        else:
            raise AssertionError("backend did not start")
        code = services[0]["service_code"]
        for key in ("k-arg", "k-file"):
            response = httpx.post(
                f"{base}/requests.json",
                data={"api_key": key, "service_code": code, "attribute[client_request_id]": f"c-{key}"},
                timeout=5,
            )
            assert response.status_code == 201, response.text
        assert httpx.post(f"{base}/requests.json", data={"api_key": "nope"}, timeout=5).status_code == 403
        assert len(httpx.get(f"{base}/requests.json", timeout=5).json()) == 2
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
