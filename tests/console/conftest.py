"""Running the real ``hotline`` executable against a temp config, log file and store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HOTLINE = Path(sys.executable).with_name("hotline")
TEST_CONFIG = """\
[logging]
level = "DEBUG"
console_level = "WARNING"
max_bytes = 1048576
backups = 1
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one line a refused command prints (asserting it is exactly one, with no traceback)."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, self.err
        assert "Traceback" not in self.err
        return lines[0]


@dataclass
class Hotline:
    """Runs ``hotline ARGS`` with HOTLINE_CONFIG / HOTLINE_STORE__URL / HOTLINE_LOGGING__FILE set."""

    home: Path
    config: Path
    log_file: Path
    url: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") or "__" not in k}
        env.pop("HOTLINE_CONFIG", None)
        env.update(
            {
                "HOTLINE_CONFIG": str(self.config),
                "HOTLINE_STORE__URL": self.url,
                "HOTLINE_LOGGING__FILE": str(self.log_file),
                "XDG_CONFIG_HOME": str(self.home / "xdg-config"),
                "XDG_DATA_HOME": str(self.home / "xdg-data"),
                "XDG_STATE_HOME": str(self.home / "xdg-state"),
            }
        )
        env.update(extra)
        return env

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 120, **env: str) -> Result:
        proc = subprocess.run(
            [str(HOTLINE), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=self.env(**env),
            timeout=timeout,
            cwd=self.home,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


def _make(tmp_path: Path, url: str) -> Hotline:
    config = tmp_path / "config.toml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    return Hotline(home=tmp_path, config=config, log_file=tmp_path / "log" / "hotline.log", url=url)


@pytest.fixture
def hotline(tmp_path: Path, store_url: str) -> Hotline:
    """``hotline`` on a fresh store: SQLite and (marked postgres) a real PostgreSQL database."""
    return _make(tmp_path, store_url)


@pytest.fixture
def hotline_sqlite(tmp_path: Path, sqlite_url: str) -> Hotline:
    return _make(tmp_path, sqlite_url)


@pytest.fixture
def make_hotline(tmp_path: Path) -> Callable[[str], Hotline]:
    return lambda url: _make(tmp_path, url)
