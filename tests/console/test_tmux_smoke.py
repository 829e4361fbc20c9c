"""The real terminal app in tmux: ``hotline console --sim`` on a temporary SQLite store; log in, take a
simulated call, quit with Ctrl+Q; ``hotline demo`` rings by itself; and the newcomer's path of the
walkthrough (an emergency handed off to 119 without a ticket, then the next caller's consultation),
checked in the stored ticket and call rows. Skipped without tmux unless CI=true (then it fails)."""

from __future__ import annotations

import os
import re
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
        # Textual takes COLUMNS/LINES over the terminal's size, and pytest's environment may carry them
        sized = {**env, "COLUMNS": str(COLS), "LINES": str(ROWS)}
        exports = " ".join(f"{k}={v}" for k, v in sized.items())
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

    def quit(self, timeout: float = 20.0) -> None:
        """Ctrl+Q, confirming each question the console asks (a call may be ringing by now)."""
        self.keys("C-q")
        end = time.monotonic() + timeout
        while self.alive() and time.monotonic() < end:
            if "确定退出" in self.screen() or "再次确认" in self.screen():
                self.keys("Down", "Enter")
                time.sleep(0.5)
            time.sleep(0.2)
        assert not self.alive(), self.screen()

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
    tmux.keys("C-q")  # during a live call: asked, and refused until confirmed twice
    tmux.wait_for(lambda s: "确定退出" in s)
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "确定退出" not in s)  # (an Escape right before F8 would read as Alt+F8)
    tmux.keys("F8")
    tmux.wait_for(lambda s: "7. 其他" in s)
    tmux.keys("7")
    tmux.quit()
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
    tmux.keys("C-q")  # a call rings: the console asks first, and says what quitting drops
    tmux.wait_for(lambda s: "确定退出" in s and "振铃中的来电" in s)
    tmux.quit()
    assert (tmp_path / "demo" / "demo.sqlite3").exists() and (
        tmp_path / "demo" / "citybackend.sqlite3"
    ).exists()


def _demo_env(tmp_path: Path) -> dict[str, str]:
    return {
        "HOTLINE_CONFIG": str(tmp_path / "config.toml"),
        "HOTLINE_LOGGING__FILE": str(tmp_path / "hotline.log"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }


def test_the_newcomers_path_keeps_each_callers_data_on_their_own_call(tmux: Tmux, tmp_path: Path) -> None:
    """Gas leak → 119 without a ticket (abandoned: the draft stays on that call) → 已转接 by its digit
    → the next caller's form is empty → a consultation closed on the spot (F3) → 咨询已答复."""
    env = _demo_env(tmp_path)
    (tmp_path / "config.toml").write_text(
        "[ui]\nwrapup_seconds = 20\n[demo]\ncall_interval_min = 2\ncall_interval_max = 3\n", encoding="utf-8"
    )
    tmux.start(f"{HOTLINE} demo --data-dir {tmp_path / 'demo'} --tickets 200 --calls 6", env)
    tmux.wait_for(lambda s: "振铃中" in s, timeout=40)
    tmux.keys("F5")
    tmux.wait_for(lambda s: "通话中" in s and "分类（三级定性）" in s)
    tmux.keys("rqxl", literal=True)
    tmux.wait_for(lambda s: "燃气泄漏" in s)
    tmux.keys("Enter")  # 燃气泄漏 !!: the hand-off dialog opens on 119
    tmux.wait_for(lambda s: "回车盲转" in s)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "Ctrl+D" in s and "话后整理" in s)  # the typed form holds the wrap-up
    tmux.keys("C-d")
    tmux.wait_for(lambda s: "剩余" in s and "3. 已转接" in s)
    tmux.keys("3")  # 已转接, by its digit
    tmux.wait_for(lambda s: "振铃中" in s, timeout=30)
    tmux.keys("F5")
    answered = tmux.wait_for(lambda s: "通话中" in s and "分类（三级定性）" in s)
    assert "燃气" not in answered and "特急" not in answered  # nothing of the previous caller
    tmux.keys("我离职了想提取公积金怎么办", literal=True)
    tmux.wait_for(lambda s: "离职提取公积金" in s)
    picked = tmux.screen()
    digit = re.search(r"(\d) 住房公积金 / 离职提取公积金", picked)
    assert digit is not None, picked
    tmux.keys(digit.group(1))
    tmux.wait_for(lambda s: "标准答复" in s)
    tmux.keys("F3")
    tmux.keys("C-s")
    tmux.wait_for(lambda s: "已保存，请向来电人复述工单号" in s)
    tmux.keys("F8")
    tmux.wait_for(lambda s: "剩余" in s and "2. 咨询已答复" in s)
    tmux.keys("2")
    tmux.wait_for(lambda s: "就绪" in s or "振铃" in s)
    tmux.quit()
    import sqlite3

    with sqlite3.connect(tmp_path / "demo" / "demo.sqlite3") as db:
        gas, consult = db.execute(
            "select id, remote_number, end_reason, disposition, ticket_id from calls "
            "where answered_at is not null and disposition in ('已转接', '咨询已答复') order by answered_at"
        ).fetchall()
        ticket = db.execute(
            "select id, caller_phone, status, urgency, description from tickets where id = ?", (consult[4],)
        ).fetchone()
        handoff = db.execute(
            "select data from call_events where call_id = ? and kind = 'handoff'", (gas[0],)
        ).fetchall()
        drafts = db.execute("select call_id from drafts").fetchall()
    assert gas[2:] == ("transferred", "已转接", None)  # handed off, no ticket
    assert consult[2:4] == ("local_hangup", "咨询已答复") and ticket is not None
    assert ticket[1].endswith(consult[1][-8:]) and ticket[2] == "已办结" and ticket[3] != "特急"
    assert "燃气" not in (ticket[4] or "")
    assert len(handoff) == 1 and '"119"' in handoff[0][0]
    assert drafts == [(gas[0],)]  # the emergency's unsaved draft stays on its own call
