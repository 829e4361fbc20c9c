"""The sync worker to ``hotline backend --cert --key`` (a real process) over TLS on loopback, trusting
the city's own certificate authority through ``[backend] ca_file``; without it nothing is sent and
nothing is lost."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from helpers.backendproc import running_backend
from helpers.syncrig import API_KEY, LEAVES, now
from sqlalchemy import func, select

from console.commands.sync import build_worker
from console.config import ConfigError, load_config
from store.db import Store
from store.models import OutboxEntry, Ticket
from store.sync import PENDING, SyncWorker
from store.tickets import Actor, create_ticket, draft_from


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (openssl comes with postgresql's ssl-cert)."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a test certificate"
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def config_file(tmp: Path, url: str, ca_file: Path | str) -> Path:
    path = tmp / "hotline.toml"
    path.write_text(
        f'[backend]\nurl = "{url}"\napi_key = "{API_KEY}"\nca_file = "{ca_file}"\ntimeout = 5.0\n',
        encoding="utf-8",
    )
    return path


def one_round(worker: SyncWorker) -> None:
    result, _delay = worker.step(pull=False)
    worker.finish_inflight(result)


def test_sync_over_tls_trusts_the_configured_ca_only(tmp_path: Path, sqlite_store: Store) -> None:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    with sqlite_store.session() as s:
        draft = draft_from(
            {
                "nature": "求助",
                "description": "井盖缺失",
                "leaf_code": LEAVES[0],
                "caller_phone": "13800138000",
            }
        )
        create_ticket(s, draft, Actor("tester", "operator"), now(), client_request_id="tls-1")
    with running_backend(
        tmp_path,
        keys=(API_KEY,),
        extra=("--cert", str(cert), "--key", str(key)),
        scheme="https",
        verify=trust,
    ) as backend:
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on the TLS port
            httpx.get(backend.url.replace("https:", "http:") + "/discovery.json", timeout=5)

        untrusting = build_worker(sqlite_store, load_config(config_file(tmp_path, backend.url, ""), env={}))
        try:
            one_round(untrusting)  # the system CAs do not know this certificate: retried, not lost
        finally:
            untrusting.close()
            untrusting.client.close()
        with sqlite_store.read() as s:
            entry = s.scalars(select(OutboxEntry)).one()
            assert (
                entry.state == PENDING
                and entry.attempts == 1
                and "certificate" in (entry.last_error or "").lower()
            )

        worker = build_worker(sqlite_store, load_config(config_file(tmp_path, backend.url, cert), env={}))
        try:
            entry_id = entry.id
            with sqlite_store.session() as s:  # due now, not after the backoff
                s.get(OutboxEntry, entry_id).next_attempt_at = now()  # type: ignore[union-attr]
            one_round(worker)
        finally:
            worker.close()
            worker.client.close()
        with sqlite_store.read() as s:
            assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
            assert s.scalars(select(Ticket.backend_id)).one()
        ids = [
            r["client_request_id"]
            for r in httpx.get(f"{backend.url}/requests.json", verify=trust, timeout=5).json()
        ]
        assert ids == ["tls-1"]
        assert API_KEY not in backend.output()


def test_a_missing_ca_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    path = config_file(tmp_path, "https://127.0.0.1:1", tmp_path / "nope.pem")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "backend.ca_file" in str(err.value) and str(path) in str(err.value)
