"""The real terminal app in tmux: ``hotline console --sim`` on a temporary SQLite store; log in, take a
simulated call, quit with Ctrl+Q. Skipped without tmux unless CI=true (then it fails)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HOTLINE = Path(sys.executable).with_name("hotline")
COLS, ROWS = 160, 45


class Tmux:
    """One detached tmux session on its own server socket (killed with it)."""

    def __init__(self, workdir: Path) -> None:
        self.socket = f"hotline-test-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20, check=check
        )
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self.run("new-session", "-d", "-s", "t", "-x", str(COLS), "-y", str(ROWS), f"env {exports} {command}")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t", check=False)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        text = ""
        while time.monotonic() < end:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{text}")

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session", "-t", "t"], capture_output=True, timeout=10
            ).returncode
            == 0
        )

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required on CI (CI=true) but missing")
        pytest.skip("tmux not installed")
    session = Tmux(tmp_path)
    yield session
    session.kill()


def test_login_take_a_simulated_call_and_quit(tmux: Tmux, tmp_path: Path) -> None:
    env = {
        "HOTLINE_STORE__URL": f"sqlite:///{tmp_path / 'hotline.sqlite3'}",
        "HOTLINE_LOGGING__FILE": str(tmp_path / "hotline.log"),
        "HOTLINE_CONFIG": str(tmp_path / "config.toml"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }
    (tmp_path / "config.toml").write_text("[ui]\nwrapup_seconds = 5\n", encoding="utf-8")
    added = subprocess.run(
        [str(HOTLINE), "users", "add", "zhang", "--role", "operator", "--password-stdin"],
        input="pw-12345\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert added.returncode == 0, added.stderr
    tmux.start(f"{HOTLINE} console --sim", env)
    tmux.wait_for(lambda s: "登录" in s and "用户名" in s)
    tmux.keys("zhang", literal=True)
    tmux.keys("Enter")
    tmux.keys("pw-12345", literal=True)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "请选择状态" in s)
    tmux.keys("Enter")  # 就绪
    tmux.wait_for(lambda s: "话务员：zhang" in s and "就绪" in s)
    tmux.wait_for(lambda s: "振铃中" in s, timeout=20)  # the first simulated call, a few seconds in
    tmux.keys("F5")
    screen = tmux.wait_for(lambda s: "通话中" in s)
    assert all(len(line) <= COLS for line in screen.splitlines())
    tmux.keys("C-q")
    end = time.monotonic() + 20
    while tmux.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert not tmux.alive(), tmux.screen()
    out = subprocess.run(
        [str(HOTLINE), "users", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert out.returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "hotline.sqlite3") as db:
        states = [r[0] for r in db.execute("select state from agent_state_changes order by id")]
        answered = db.execute("select count(*) from calls where answered_at is not null").fetchone()[0]
    assert states[0] == "ready" and states[-1] == "offline" and "talking" in states  # AgentState values
    assert answered >= 1


def test_demo_logs_in_by_itself_and_rings_within_seconds(tmux: Tmux, tmp_path: Path) -> None:
    env = {
        "HOTLINE_CONFIG": str(tmp_path / "config.toml"),
        "HOTLINE_LOGGING__FILE": str(tmp_path / "hotline.log"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    tmux.start(f"{HOTLINE} demo --data-dir {tmp_path / 'demo'} --tickets 200 --calls 3", env)
    tmux.wait_for(lambda s: "话务员：演示话务员" in s and "线路：已注册" in s, timeout=40)
    tmux.wait_for(lambda s: "振铃中" in s and "来电振铃" in s, timeout=20)
    tmux.keys("C-q")
    end = time.monotonic() + 20
    while tmux.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert not tmux.alive(), tmux.screen()
    assert (tmp_path / "demo" / "demo.sqlite3").exists() and (
        tmp_path / "demo" / "citybackend.sqlite3"
    ).exists()
