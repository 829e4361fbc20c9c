"""Fixtures of the telephony tests: the loopback SIP rig (kamailio, sipp) and lines under test.

Rig tests carry ``@pytest.mark.sip``. Without kamailio/sipp they are skipped, unless
HOTLINE_REQUIRE_SIP=1 (CI), where a missing tool is an error. HOTLINE_SIP_DISABLE_FIXES=all (or a
comma list of telephony.sip.FIXES names) runs them against plain pyVoIP behaviour, where the rig
tests of those fixes fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.siprig import EventLog, Kamailio, Sipp, free_udp_port, line_config, started_line

from telephony.events import Registered
from telephony.sip import SipLine

_users = itertools.count(1001)


def _require_tools() -> None:
    missing = [t for t in ("kamailio", "sipp") if shutil.which(t) is None]
    if missing:
        if os.environ.get("HOTLINE_REQUIRE_SIP") == "1":
            pytest.fail(f"SIP rig required (HOTLINE_REQUIRE_SIP=1) but missing: {', '.join(missing)}")
        pytest.skip(
            f"SIP rig tools not installed: {', '.join(missing)} (apt-get install kamailio sip-tester)"
        )


def _kamailio(tmp_path_factory: pytest.TempPathFactory, name: str, **kw: object) -> Iterator[Kamailio]:
    _require_tools()
    kam = Kamailio(tmp_path_factory.mktemp(name), **kw)  # type: ignore[arg-type]
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture(scope="session")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    """Registrar/proxy with digest qop=auth (what a strict PBX asks for)."""
    yield from _kamailio(tmp_path_factory, "kam-qop", qop=True)


@pytest.fixture(scope="session")
def kamailio_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    """Registrar without qop and granting at most 4 s, far less than the line asks for."""
    yield from _kamailio(tmp_path_factory, "kam-plain", qop=False, max_expires=4)


@pytest.fixture
def sip_user() -> str:
    """A fresh extension per test, so tests share one kamailio without seeing each other's calls."""
    return str(next(_users))


@pytest.fixture
def make_line(tmp_path: Path) -> Iterator:
    lines: list[SipLine] = []

    def make(kam: Kamailio, user: str, auto_answer: bool = True, **kw: object) -> tuple[SipLine, EventLog]:
        log = EventLog()
        line = started_line(line_config(kam, user, tmp_path, **kw), log)
        lines.append(line)
        if auto_answer:
            log.on_offer = lambda ev: line.answer(ev.call_id)
        assert log.wait_for(lambda e: isinstance(e, Registered), 8), f"not registered: {log.events}"
        return line, log

    yield make
    for line in lines:
        line.stop()


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator:
    runs: list[Sipp] = []

    def run(scen: str, *args: str, name: str = "sipp", files: dict[str, bytes] | None = None) -> Sipp:
        s = Sipp(
            tmp_path / f"{name}{len(runs)}", scen, ["-p", str(free_udp_port()), *args], files=files or {}
        ).start()
        runs.append(s)
        return s

    yield run
    for s in runs:
        s.stop()
