"""Structured logs: JSON lines in a rotating file, stderr lines, redaction of secrets, masked phones."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from console.config import LoggingConfig
from console.logs import Redactor, configure_logging, mask_phones, reset_logging

SECRET = "s3cr3t-Pa55word-xyz"
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset_logging()


def log_config(tmp_path: Path, **kw: Any) -> LoggingConfig:
    return LoggingConfig(file=tmp_path / "logs" / "hotline.log", **kw)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_json_lines_with_timestamp_level_and_logger(tmp_path: Path) -> None:
    cfg = log_config(tmp_path)
    configure_logging(cfg, cli=False)
    structlog.get_logger("console.test").info("ticket saved", number="AS20261128000001", ms=3.5)
    [line] = read_lines(cfg.resolved_file)
    assert line["event"] == "ticket saved" and line["number"] == "AS20261128000001" and line["ms"] == 3.5
    assert line["level"] == "info" and line["logger"] == "console.test"
    assert line["timestamp"].endswith("Z") and line["timestamp"][:4].isdigit()  # ISO 8601, UTC


def test_level_filters_the_file(tmp_path: Path) -> None:
    cfg = log_config(tmp_path, level="WARNING")
    configure_logging(cfg, cli=False)
    log = structlog.get_logger("t")
    log.info("not written")
    log.warning("written")
    assert [line["event"] for line in read_lines(cfg.resolved_file)] == ["written"]


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    cfg = log_config(tmp_path)
    configure_logging(cfg, cli=False, secrets=[SECRET])
    log = structlog.get_logger("console.test")
    log.info(
        "login",
        password=SECRET,
        sip_password="other-pw-1",
        headers={"Authorization": "Digest x"},
        api_key="k-123456",
        nested={"deep": [{"token": "t-987654"}, f"the secret is {SECRET}"]},
    )
    log.info(f"connecting with {SECRET} inside the message")
    log.info("url", url=f"postgresql://hotline:{SECRET}@db.example/hotline", dsn="postgresql://u:pw-abc@h/d")
    # pyVoIP-style stdlib logging, with a raw SIP message carrying an Authorization header
    logging.getLogger("pyVoIP.SIP").warning(
        'sent:\r\nREGISTER sip:pbx SIP/2.0\r\nAuthorization: Digest username="1001", response="%s"\r\n',
        SECRET,
    )
    try:
        raise RuntimeError(f"cannot log in with {SECRET}")
    except RuntimeError:
        log.exception("crash")
    text = cfg.resolved_file.read_text(encoding="utf-8")
    for leaked in (SECRET, "other-pw-1", "Digest x", "k-123456", "t-987654", "pw-abc", "response="):
        assert leaked not in text, leaked
    lines = read_lines(cfg.resolved_file)
    assert lines[0]["password"] == "[REDACTED]" and lines[0]["headers"]["Authorization"] == "[REDACTED]"
    assert lines[0]["nested"]["deep"][1] == "the secret is [REDACTED]"
    assert "Traceback" in lines[-1]["exception"] and "RuntimeError" in lines[-1]["exception"]


def test_phones_are_masked_everywhere(tmp_path: Path) -> None:
    cfg = log_config(tmp_path)
    configure_logging(cfg, cli=False)
    log = structlog.get_logger("console.test")
    log.info(f"call from {PHONE}", caller=f"+86{PHONE}", extra={"numbers": [PHONE, "0412-5551234"]})
    logging.getLogger("pyVoIP").info("INVITE from sip:%s@127.0.0.1", PHONE)
    text = cfg.resolved_file.read_text(encoding="utf-8")
    assert PHONE not in text and "5551234" not in text
    first, second = read_lines(cfg.resolved_file)
    assert first["event"] == "call from 138****5678"
    assert first["caller"] == "138****5678"
    assert first["extra"]["numbers"][0] == "138****5678"
    assert second["event"] == "INVITE from sip:138****5678@127.0.0.1"
    assert second["logger"] == "pyVoIP"


def test_ticket_numbers_and_ids_are_not_mistaken_for_phones() -> None:
    for text in ("AS20261128000123", "call 9f13812345678ab", "2026-11-28T09:30:00Z", "port 10000", "12345"):
        assert mask_phones(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("0086-13812345678", "138****5678"),
        ("来电13812345678，", "来电138****5678，"),
        ("tel 0412-5551234", "tel 0412-****234"),
        ("(0412)55512345", "0412-*****345"),
    ],
)
def test_phone_forms(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_redactor_is_pure() -> None:
    event = {"event": f"x {PHONE}", "password": "p", "n": 5, "ok": True, "none": None}
    out = Redactor(["p"])(None, "info", event)
    assert event["event"] == f"x {PHONE}"  # input untouched
    assert out == {"event": "x 138****5678", "password": "[REDACTED]", "n": 5, "ok": True, "none": None}


def test_rotation(tmp_path: Path) -> None:
    cfg = log_config(tmp_path, max_bytes=2048, backups=2)
    configure_logging(cfg, cli=False)
    log = structlog.get_logger("console.test")
    for i in range(200):
        log.info("filler line", i=i, pad="x" * 40)
    folder = cfg.resolved_file.parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["hotline.log", "hotline.log.1", "hotline.log.2"]
    for path in folder.iterdir():
        assert path.stat().st_size <= 2048
        assert all(line["event"] == "filler line" for line in read_lines(path))
    assert read_lines(cfg.resolved_file)[-1]["i"] == 199


def test_cli_mode_writes_readable_lines_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = log_config(tmp_path, console_level="WARNING")
    configure_logging(cfg, cli=True, secrets=[SECRET])
    log = structlog.get_logger("console.cli")
    log.info("quiet on stderr")
    log.warning("disk almost full", password=SECRET, caller=PHONE)
    err = capsys.readouterr().err
    assert "quiet on stderr" not in err
    assert "disk almost full" in err and "138****5678" in err
    assert SECRET not in err and PHONE not in err
    assert not err.lstrip().startswith("{")  # readable, not JSON
    assert len(read_lines(cfg.resolved_file)) == 2  # the file has both


def test_verbosity_lowers_the_stderr_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_config(tmp_path), cli=True, verbosity=1)
    structlog.get_logger("t").info("now visible")
    assert "now visible" in capsys.readouterr().err


def test_reconfiguring_replaces_handlers(tmp_path: Path) -> None:
    first = log_config(tmp_path)
    configure_logging(first, cli=False)
    second = LoggingConfig(file=tmp_path / "other" / "hotline.log")
    configure_logging(second, cli=False)
    structlog.get_logger("t").info("only in the second")
    assert not first.resolved_file.read_text(encoding="utf-8")
    assert read_lines(second.resolved_file)[0]["event"] == "only in the second"
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_hotline_handler", False)]
    assert len(ours) == 1
