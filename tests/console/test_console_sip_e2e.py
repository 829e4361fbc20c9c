"""End to end on real SIP: kamailio as registrar, sipp as the citizen calling with audio, the console
(``run_test``) on a SipLine answers, classifies and saves; the call, its events and the ticket are in
the store. Skipped without kamailio/sipp unless HOTLINE_REQUIRE_SIP=1 (then it fails)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.desk_harness import add_operator, desk_of, make_config, wait_until
from helpers.siprig import Kamailio, Sipp, free_udp_port, line_config, scenario, via_kamailio
from helpers.ticket_host import fill_heating_request

from console.bootstrap import SeatParts, build_app
from store import calls
from store.db import Store
from store.models import Ticket
from store.vocabulary import AgentState
from telephony.sip import SipLine

pytestmark = pytest.mark.sip
USER = "1801"


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Kamailio]:
    missing = [t for t in ("kamailio", "sipp") if shutil.which(t) is None]
    if missing:
        if os.environ.get("HOTLINE_REQUIRE_SIP") == "1":
            pytest.fail(f"SIP rig required (HOTLINE_REQUIRE_SIP=1) but missing: {', '.join(missing)}")
        pytest.skip(f"SIP rig tools not installed: {', '.join(missing)}")
    kam = Kamailio(tmp_path / "kam", qop=True)
    kam.start()
    yield kam
    kam.stop()


async def test_console_answers_a_sip_call_classifies_and_saves(
    kamailio: Kamailio, sqlite_store: Store, tmp_path: Path
) -> None:
    add_operator(sqlite_store)
    line = SipLine(line_config(kamailio, USER, tmp_path))
    app = build_app(
        make_config(),
        sqlite_store,
        line,
        auto_login="wang",
        parts=SeatParts(worklists=False),
        clock_interval=3600,
    )
    citizen: Sipp | None = None
    try:
        async with app.run_test(size=(160, 60)) as pilot:
            await wait_until(pilot, lambda: app.calls.line_state == "up")
            citizen = Sipp(
                tmp_path / "citizen",
                scenario("citizen_call.xml", hangup="local"),
                [
                    "-p",
                    str(free_udp_port()),
                    *via_kamailio(kamailio, USER, "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
                ],
            ).start()
            await wait_until(pilot, lambda: app.calls.status.state == AgentState.RINGING)
            call_id = app.calls.current.call_id
            await pilot.press("f5")
            await wait_until(pilot, lambda: app.calls.status.state == AgentState.TALKING)
            await wait_until(pilot, lambda: desk_of(app).form is not None and desk_of(app).form.is_mounted)
            form = desk_of(app).form
            await wait_until(pilot, lambda: bool(form.form_data().caller_phone))  # filled from the call
            await fill_heating_request(pilot, form, "ctrl+f")
            app.call_log.flush()
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.calls.current.ticket_id is not None)
            ticket_id = app.calls.current.ticket_id
            await pilot.press("f8")
            await wait_until(pilot, lambda: app.calls.status.state == AgentState.WRAP_UP)
            assert citizen.wait(20) == 0, citizen.report()
            app.call_log.flush()
    finally:
        if citizen is not None:
            citizen.stop()
        app.shutdown()
    with sqlite_store.read() as s:
        row = calls.get_call(s, call_id)
        assert row is not None and row.answered_at is not None and row.end_reason == "local_hangup"
        assert row.ticket_id == ticket_id
        kinds = [e.kind for e in calls.call_events(s, call_id)]
        assert kinds[0] == "offered" and "answered" in kinds and kinds[-1] == "ended"
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.leaf_code is not None and ticket.caller_phone.endswith("138100")
