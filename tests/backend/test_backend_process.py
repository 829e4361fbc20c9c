"""``hotline backend`` as a real process on a free loopback port: api keys from arguments and a file."""

from __future__ import annotations

from pathlib import Path

import httpx
from helpers.backendproc import running_backend


def test_hotline_backend_serves_open311(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# clients\nk-file\n", encoding="utf-8")
    with running_backend(tmp_path, keys=("k-arg",), extra=("--keys-file", str(keys))) as backend:
        base = backend.url
        services = httpx.get(f"{base}/services.json", timeout=5).json()
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
