"""The ``hotline`` executable, run as a subprocess on SQLite and on a real PostgreSQL server.

Every bad input a person can cause must end in ONE line on stderr, a non-zero exit and an untouched
store: malformed config, unknown role, duplicate user, a locked / read-only / corrupt SQLite file, a
database migrated by a newer release, an unreachable PostgreSQL server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from console import cli, commands
from console.logs import reset_logging
from store.db import current_revision, head_revision, open_store

Hotline = Any  # the runner from tests/console/conftest.py (conftest modules are not importable by name)

PASSWORD = "correct horse battery staple"
TICKET_KEYS = {
    "number",
    "status",
    "nature",
    "board",
    "leaf_code",
    "district",
    "urgency",
    "created_at",
    "deadline",
    "department",
}


def make_tickets(url: str, count: int) -> list[str]:
    """Tickets written through the real ticket service: every other one dispatched."""
    from store.tickets import Actor, apply_command, create_ticket, draft_from

    store = open_store(url)
    numbers = []
    try:
        operator = Actor("ann", "operator")
        start = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
        with store.session() as session:
            for i in range(count):
                now = start + dt.timedelta(minutes=10 * i)
                draft = draft_from(
                    {
                        "nature": "投诉",
                        "description": f"暖气不热 {i}",
                        "board": "群众诉求",
                        "leaf_code": "101001",
                        "district": "铁东区",
                        "urgency": "一般",
                        "caller_phone": "13812345678",
                        "caller_name": "王先生",
                    }
                )
                ticket = create_ticket(session, draft, operator, now)
                if i % 2 == 0:
                    apply_command(
                        session,
                        ticket,
                        "dispatch",
                        operator,
                        now + dt.timedelta(minutes=1),
                        department="市供热公司",
                    )
                numbers.append(ticket.number)
    finally:
        store.close()
    return numbers


def add_user(hotline: Hotline, name: str = "ann", role: str = "operator") -> None:
    result = hotline("users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.code == 0, result.err


def usernames(hotline: Hotline) -> list[str]:
    result = hotline("users", "list", "--json")
    assert result.code == 0, result.err
    return [u["username"] for u in json.loads(result.out)]


# --- discovery and help -------------------------------------------------------------------------


def test_every_shipped_command_module_imports_and_registers() -> None:
    names = commands.command_module_names()
    assert {"db", "users", "tickets", "kpi", "seed"} <= set(names)
    for name in names:
        module = commands.import_command_module(name)
        parser = argparse.ArgumentParser()
        module.register(parser.add_subparsers())
    _parser, skipped = cli.build_parser()
    assert skipped == []


def test_help_lists_every_subcommand(hotline_sqlite: Hotline) -> None:
    parser, _ = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    result = hotline_sqlite("--help")
    assert result.code == 0
    for name in sub.choices:
        assert f"    {name} " in result.out, name
    assert {"db", "users", "tickets", "kpi", "seed"} <= set(sub.choices)


def test_a_broken_module_does_not_break_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "command_module_names", lambda: ["no_such_module", "db"])
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "c.toml"))
    (tmp_path / "c.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_STORE__URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("HOTLINE_LOGGING__FILE", str(tmp_path / "hotline.log"))
    try:
        assert cli.main(["db", "upgrade"]) == 0
    finally:
        reset_logging()
    captured = capsys.readouterr()
    assert captured.out.strip() == head_revision()
    assert "no_such_module" in captured.err and "skipped" in captured.err


def test_a_crash_is_one_line_and_the_traceback_goes_to_the_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(_args: argparse.Namespace, _ctx: Any) -> int:
        raise RuntimeError("kaboom for caller 13812345678")

    def register_boom(subparsers: Any) -> list[commands.SkippedModule]:
        subparsers.add_parser("boom").set_defaults(handler=boom)
        return []

    monkeypatch.setattr(commands, "register_all", register_boom)
    (tmp_path / "c.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "c.toml"))
    monkeypatch.setenv("HOTLINE_LOGGING__FILE", str(tmp_path / "hotline.log"))
    try:
        assert cli.main(["boom"]) == cli.EXIT_INTERNAL
    finally:
        reset_logging()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "13812345678" not in err
    assert err.strip().startswith("hotline: internal error: RuntimeError: kaboom")
    assert len(err.strip().splitlines()) == 1
    logged = [
        json.loads(line) for line in (tmp_path / "hotline.log").read_text(encoding="utf-8").splitlines()
    ]
    crash = next(line for line in logged if line["event"] == "command crashed")
    assert "Traceback" in crash["exception"] and "138****5678" in crash["exception"]
    assert "13812345678" not in (tmp_path / "hotline.log").read_text(encoding="utf-8")


def test_no_command_prints_help_and_fails(hotline_sqlite: Hotline) -> None:
    result = hotline_sqlite()
    assert result.code == 2 and "usage: hotline" in result.err


def test_usage_mistakes_are_one_line(hotline_sqlite: Hotline) -> None:
    unknown = hotline_sqlite("frobnicate")
    assert unknown.code == 2 and "invalid choice: 'frobnicate'" in unknown.error_line
    missing = hotline_sqlite("users", "add")
    assert missing.code == 2
    assert missing.error_line == (
        "hotline users add: the following arguments are required: name, --role (see hotline users add --help)"
    )


# --- db -----------------------------------------------------------------------------------------


def test_db_upgrade(hotline: Hotline) -> None:
    result = hotline("db", "upgrade")
    assert result.code == 0, result.err
    assert result.out.strip() == head_revision()
    again = hotline("db", "upgrade", "--json")
    assert json.loads(again.out) == {"revision": head_revision()}


def test_db_backup_of_a_sqlite_store(hotline_sqlite: Hotline, tmp_path: Path) -> None:
    add_user(hotline_sqlite)
    dest = tmp_path / "copy.sqlite3"
    result = hotline_sqlite("db", "backup", str(dest), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["path"] == str(dest)
    with sqlite3.connect(dest) as conn:
        assert conn.execute("SELECT username FROM users").fetchall() == [("ann",)]
    again = hotline_sqlite("db", "backup", str(dest))
    assert again.code == 1 and "already exists" in again.error_line


@pytest.mark.postgres
def test_db_backup_refuses_postgresql(
    make_hotline: Callable[[str], Hotline], pg_url: str, tmp_path: Path
) -> None:
    result = make_hotline(pg_url)("db", "backup", str(tmp_path / "x.sqlite3"))
    assert result.code == 1 and "pg_dump" in result.error_line


# --- users --------------------------------------------------------------------------------------


def test_users_add_and_list(hotline: Hotline) -> None:
    result = hotline(
        "users",
        "add",
        "张三",
        "--role",
        "supervisor",
        "--display-name",
        "张三丰",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert result.code == 0, result.err
    added = json.loads(result.out)
    assert added["username"] == "张三" and added["role"] == "supervisor" and added["display_name"] == "张三丰"
    add_user(hotline, "ann")
    listed = json.loads(hotline("users", "list", "--json").out)
    assert [u["username"] for u in listed] == ["ann", "张三"]
    assert all("password_hash" not in u and "password" not in u for u in listed)
    human = hotline("users", "list")
    assert "张三丰" in human.out and "supervisor" in human.out
    # the password itself is nowhere in the logs
    assert PASSWORD not in hotline.log_file.read_text(encoding="utf-8")


def test_duplicate_user_is_refused_and_nothing_changes(hotline: Hotline) -> None:
    add_user(hotline, "ann", "operator")
    result = hotline("users", "add", "ann", "--role", "admin", "--password-stdin", stdin="other\n")
    assert result.code == 1
    assert result.error_line == "hotline: users add: user 'ann' already exists"
    listed = json.loads(hotline("users", "list", "--json").out)
    assert [(u["username"], u["role"]) for u in listed] == [("ann", "operator")]


def test_unknown_role(hotline_sqlite: Hotline) -> None:
    hotline = hotline_sqlite
    result = hotline("users", "add", "bob", "--role", "boss", "--password-stdin", stdin=PASSWORD)
    assert result.code == 1
    assert "unknown role 'boss'" in result.error_line and "operator" in result.error_line
    assert usernames(hotline) == []


def _answer_prompts(hotline: Hotline, args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run ``hotline ARGS`` with a pseudo-terminal as stdin, typing one answer per prompt."""
    import os
    import select
    import subprocess
    import time

    master, slave = os.openpty()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("hotline")), *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=hotline.env(),
        start_new_session=True,
    )
    os.close(slave)
    err = b""
    try:
        deadline = time.monotonic() + 60
        for answer in answers:
            # getpass flushes typed-ahead input when it switches echo: type only after each prompt
            while not err.rstrip().endswith(b":") and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stderr], [], [], 1.0)
                if ready:
                    err += os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
            os.write(master, answer.encode() + b"\n")
            err = b""
        _out, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, (err + rest).decode()


def test_password_from_a_terminal_prompt(hotline_sqlite: Hotline) -> None:
    code, err = _answer_prompts(
        hotline_sqlite, ["users", "add", "tina", "--role", "trainer"], [PASSWORD, PASSWORD]
    )
    assert code == 0, err
    differ, err = _answer_prompts(hotline_sqlite, ["users", "add", "tom", "--role", "trainer"], ["a1", "b2"])
    assert differ == 1 and "differ" in err
    assert usernames(hotline_sqlite) == ["tina"]


def test_password_needed(hotline_sqlite: Hotline) -> None:
    empty = hotline_sqlite("users", "add", "bob", "--role", "operator", "--password-stdin", stdin="\n")
    assert empty.code == 1 and "password" in empty.error_line
    no_tty = hotline_sqlite("users", "add", "bob", "--role", "operator")
    assert no_tty.code == 1 and "--password-stdin" in no_tty.error_line
    assert usernames(hotline_sqlite) == []


# --- tickets ------------------------------------------------------------------------------------


def test_tickets_list_and_show(hotline: Hotline) -> None:
    numbers = make_tickets(hotline.url, 5)
    result = hotline("tickets", "list", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["number"] for r in rows] == numbers[::-1]  # newest first
    assert all(set(r) >= TICKET_KEYS for r in rows)
    assert rows[-1]["status"] == "已派单" and rows[-1]["department"] == "市供热公司"
    assert all(r["caller_phone"] == "138****5678" for r in rows)

    dispatched = hotline("tickets", "list", "--status", "已派单", "--limit", "2", "--json")
    assert [r["number"] for r in json.loads(dispatched.out)] == [numbers[4], numbers[2]]

    shown = hotline("tickets", "show", numbers[0], "--json")
    assert shown.code == 0, shown.err
    ticket = json.loads(shown.out)
    assert ticket["number"] == numbers[0] and set(ticket) >= TICKET_KEYS
    commands_seen = [e["command"] for e in ticket["events"]]
    assert commands_seen[0] == "create" and commands_seen[-1] == "dispatch"
    assert "13812345678" not in shown.out


def test_tickets_for_people_and_bad_input(hotline_sqlite: Hotline) -> None:
    numbers = make_tickets(hotline_sqlite.url, 2)
    human = hotline_sqlite("tickets", "show", numbers[0])
    assert human.code == 0 and numbers[0] in human.out and "dispatch" in human.out
    assert "2026-11-27 09:00" in human.out  # Anshan wall clock for people
    table = hotline_sqlite("tickets", "list", "--limit", "1")
    assert table.code == 0 and numbers[-1] in table.out and numbers[0] not in table.out
    missing = hotline_sqlite("tickets", "show", "AS20990101000001")
    assert missing.code == 1 and missing.error_line == "hotline: tickets show: no ticket AS20990101000001"
    status = hotline_sqlite("tickets", "list", "--status", "lost")
    assert status.code == 1 and "unknown status 'lost'" in status.error_line
    limit = hotline_sqlite("tickets", "list", "--limit", "0")
    assert limit.code == 1 and "limit" in limit.error_line


# --- a store that is not there, a driver that is not installed -----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("tickets", "list", "--json"),
        ("tickets", "show", "AS20261127000001"),
        ("kpi", "--json"),
        ("users", "list"),
        ("sync", "--status"),
    ],
)
def test_reading_a_store_that_does_not_exist_says_so(hotline_sqlite: Hotline, args: tuple[str, ...]) -> None:
    path = Path(hotline_sqlite.url.removeprefix("sqlite:///"))
    result = hotline_sqlite(*args)
    assert result.code == 1 and result.out == ""
    line = result.error_line
    assert f"no store at {path}" in line and "nothing was created" in line
    assert "HOTLINE_STORE__URL=sqlite:///DIR/demo.sqlite3" in line and "hotline demo --data-dir" in line
    assert not path.exists()


def test_the_default_store_is_not_created_by_a_read(hotline_sqlite: Hotline) -> None:
    result = hotline_sqlite("tickets", "list", HOTLINE_STORE__URL="")
    default = hotline_sqlite.home / "xdg-data" / "hotline-console" / "hotline.sqlite3"
    assert result.code == 1 and f"no store at {default}" in result.error_line
    assert not default.parent.exists()
    # a command that writes still starts the store, and then reading works
    assert hotline_sqlite("db", "upgrade", HOTLINE_STORE__URL="").code == 0
    listed = hotline_sqlite("tickets", "list", "--json", HOTLINE_STORE__URL="")
    assert listed.code == 0 and json.loads(listed.out) == []


def _without_psycopg(tmp_path: Path) -> str:
    """A PYTHONPATH on which ``import psycopg`` fails as on a machine without the postgres extra."""
    fake = tmp_path / "no-psycopg" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n", encoding="utf-8"
    )
    return str(fake.parent)


def test_a_missing_database_driver_says_which_extra_to_install(
    make_hotline: Callable[[str], Hotline], tmp_path: Path
) -> None:
    hotline = make_hotline("postgresql://hotline:pw-secret-5@127.0.0.1:1/hotline")
    result = hotline("users", "list", PYTHONPATH=_without_psycopg(tmp_path))
    line = result.error_line
    assert result.code == 1 and "internal error" not in line
    assert "needs the database driver psycopg, which is not installed" in line
    assert "pip install -e '.[postgres]'" in line and "pw-secret-5" not in result.err
    mysql = make_hotline("mysql+pymysql://u@127.0.0.1/db")("tickets", "list")
    assert mysql.code == 1 and "driver pymysql" in mysql.error_line and "PostgreSQL" in mysql.error_line
    unknown = make_hotline("frob://u@127.0.0.1/db")("db", "upgrade")
    assert unknown.code == 1 and "unknown database kind" in unknown.error_line


# --- taxonomy search in the UI's language -----------------------------------------------------------


def test_taxonomy_search_speaks_the_ui_language(hotline_sqlite: Hotline) -> None:
    chinese = hotline_sqlite("taxonomy", "search", "暖气不热", "--limit", "1")
    assert chinese.code == 0, chinese.err
    first = chinese.out.splitlines()[0]
    assert "101001" in first and "鞍山市热力有限公司" in first and "24小时" in first
    assert first.endswith("  紧急") and "匹配：" in first and "  rl  " not in first and "high" not in first
    english = hotline_sqlite("taxonomy", "search", "暖气不热", "--limit", "1", HOTLINE_UI__LANGUAGE="en")
    first = english.out.splitlines()[0]
    assert "鞍山市热力有限公司" in first and "24 h" in first and first.endswith("  Urgent")
    assert "matched: " in first and "匹配" not in first
    none = hotline_sqlite("taxonomy", "search", "😀", HOTLINE_UI__LANGUAGE="en")
    assert none.out.strip() == "(no match)"
    # JSON keeps the catalogue's codes (for programs)
    data = json.loads(hotline_sqlite("taxonomy", "search", "暖气不热", "--limit", "1", "--json").out)
    assert data[0]["department"] == "rl" and data[0]["urgency"] == "high"


# --- kpi and seed -------------------------------------------------------------------------------


def test_kpi_json(hotline: Hotline) -> None:
    make_tickets(hotline.url, 4)
    result = hotline("kpi", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["total"]["cases"]["received"] == 4
    assert report["total"]["cases"]["dispatched"] == 2
    # --to is the last day, included: tickets of 2026-11-27 (Anshan time) are in
    by = hotline("kpi", "--from", "2026-11-27", "--to", "2026-11-27", "--by", "district", "--json")
    assert by.code == 0, by.err
    groups = json.loads(by.out)["groups"]
    assert [(g["key"], g["cases"]["received"]) for g in groups] == [("铁东区", 4)]


def test_kpi_for_people_and_bad_dates(hotline_sqlite: Hotline) -> None:
    make_tickets(hotline_sqlite.url, 2)
    human = hotline_sqlite("kpi", "--by", "district", "--to", "2026-11-26")
    assert human.code == 0 and "completion_rate" in human.out and "铁东区" not in human.out
    bad = hotline_sqlite("kpi", "--from", "yesterday")
    assert bad.code == 2
    assert bad.error_line == (
        "hotline kpi: argument --from: expected a date YYYY-MM-DD, got 'yesterday' (see hotline kpi --help)"
    )
    backwards = hotline_sqlite("kpi", "--from", "2026-11-27", "--to", "2026-11-01")
    assert backwards.code == 1 and "--from must not be after --to" in backwards.error_line


def test_kpi_groupings_match_the_store() -> None:
    from console.commands.kpi import GROUPINGS
    from store.kpi.report import GROUPINGS as STORE_GROUPINGS

    assert GROUPINGS == STORE_GROUPINGS


def test_seed_then_list(hotline: Hotline) -> None:
    result = hotline(
        "seed", "--tickets", "40", "--days", "5", "--seed", "7", "--tree", "placeholder", "--json"
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["tickets"] == 40 and summary["events"] > 40 and sum(summary["by_status"].values()) == 40
    rows = json.loads(hotline("tickets", "list", "--limit", "500", "--json").out)
    assert len(rows) == 40 and all(set(r) >= TICKET_KEYS for r in rows)


def test_seed_files_tickets_under_the_real_taxonomy(hotline_sqlite: Hotline) -> None:
    from taxonomy.model import load_taxonomy

    result = hotline_sqlite("seed", "--tickets", "30", "--seed", "3")
    assert result.code == 0, result.err
    assert "seeded 30 tickets" in result.out
    rows = json.loads(hotline_sqlite("tickets", "list", "--limit", "100", "--json").out)
    leaves = {leaf.code for leaf in load_taxonomy().leaves()}
    assert len(rows) == 30 and {r["leaf_code"] for r in rows} <= leaves


# --- configuration mistakes -----------------------------------------------------------------------


def test_malformed_config_is_one_line_and_exit_2(hotline_sqlite: Hotline) -> None:
    hotline_sqlite.config.write_text('[sip]\nport = "abc"\npassword = "hunter2-secret"\n', encoding="utf-8")
    result = hotline_sqlite("users", "list")
    assert result.code == 2
    assert (
        result.error_line
        == f'hotline: {hotline_sqlite.config}: sip.port: expected an integer 1-65535, got "abc"'
    )
    env_bad = hotline_sqlite("db", "upgrade", HOTLINE_SIP__PORT="x", HOTLINE_SIP__PASSWORD="hunter2-secret")
    assert env_bad.code == 2 and "$HOTLINE_SIP__PORT" in env_bad.error_line


def test_missing_config_file(hotline_sqlite: Hotline, tmp_path: Path) -> None:
    result = hotline_sqlite("db", "upgrade", HOTLINE_CONFIG=str(tmp_path / "nope.toml"))
    assert result.code == 2 and "nope.toml: config file not found" in result.error_line
    given = hotline_sqlite("--config", str(tmp_path / "gone.toml"), "db", "upgrade")
    assert given.code == 2 and "gone.toml" in given.error_line


def test_secrets_stay_out_of_logs_and_errors(hotline_sqlite: Hotline) -> None:
    secret = "pw-7f3a9c-never-logged"
    add_user(hotline_sqlite)  # `users list` reads an existing store
    result = hotline_sqlite(
        "-vv", "users", "list", HOTLINE_SIP__PASSWORD=secret, HOTLINE_BACKEND__API_KEY=secret
    )
    assert result.code == 0, result.err
    bad = hotline_sqlite("users", "list", HOTLINE_SIP__PASSWORD=secret, HOTLINE_SIP__EXPIRES="1")
    assert bad.code == 2 and secret not in bad.err
    log_text = hotline_sqlite.log_file.read_text(encoding="utf-8")
    assert log_text and secret not in log_text and secret not in result.err


# --- damaged, foreign or busy stores ------------------------------------------------------------


def test_corrupt_sqlite_file_is_refused_and_left_alone(
    make_hotline: Callable[[str], Hotline], tmp_path: Path
) -> None:
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(b"this is not a database" * 200)
    before = path.read_bytes()
    hotline = make_hotline(f"sqlite:///{path}")
    for args in (("db", "upgrade"), ("users", "list")):
        result = hotline(*args)
        assert result.code == 1 and "not a valid SQLite database" in result.error_line
    assert path.read_bytes() == before


def test_newer_schema_is_refused_and_left_alone(hotline: Hotline) -> None:
    add_user(hotline)
    store = open_store(hotline.url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    for args in (("db", "upgrade"), ("users", "list")):
        result = hotline(*args)
        assert result.code == 1 and "newer than this program" in result.error_line
    store = open_store(hotline.url, migrate=False)
    try:
        assert current_revision(store.engine) == "9999"
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["ann"]
    finally:
        store.close()


def test_locked_sqlite_file(hotline_sqlite: Hotline, tmp_path: Path) -> None:
    add_user(hotline_sqlite, "ann")
    path = tmp_path / "hotline.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = hotline_sqlite(
            "users",
            "add",
            "bob",
            "--role",
            "operator",
            "--password-stdin",
            stdin=PASSWORD,
            HOTLINE_STORE__BUSY_TIMEOUT_MS="300",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1 and "locked" in result.error_line
    assert usernames(hotline_sqlite) == ["ann"]


def _make_read_only(path: Path) -> None:
    """A store SQLite itself refuses to write: by permissions, or (as root) by its header.

    Root ignores file permissions, so there the file's write-version byte is set above 2, which
    SQLite documents as "open read-only" (file format, offset 18).
    """
    import os

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    data = bytearray(path.read_bytes())
    data[18] = 3
    path.write_bytes(bytes(data))


def test_read_only_sqlite_file(make_hotline: Callable[[str], Hotline], tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "hotline.sqlite3"
    hotline = make_hotline(f"sqlite:///{path}")
    add_user(hotline, "ann")
    _make_read_only(path)
    try:
        before = path.read_bytes()
        result = hotline("users", "add", "bob", "--role", "operator", "--password-stdin", stdin=PASSWORD)
        assert result.code == 1 and "read-only" in result.error_line
        assert usernames(hotline) == ["ann"]  # reading still works
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


def test_unreachable_postgresql(make_hotline: Callable[[str], Hotline]) -> None:
    from helpers.pgserver import free_port

    result = make_hotline(f"postgresql://hotline:pw-secret-9@127.0.0.1:{free_port()}/hotline")(
        "users", "list"
    )
    assert result.code == 1 and "cannot connect" in result.error_line
    assert "pw-secret-9" not in result.err
