"""Attended transfer (RFC 5589 §7): REFER with Replaces of our consultation call, against sipp peers.

The citizen (sipp via kamailio) calls the line; the operator dials the department (a 0-number that
kamailio sends to a second sipp) and connects the two. The citizen's sipp checks the REFER's
Refer-To; the test checks that its Replaces names exactly the department's dialog.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers.siprig import EventLog, Kamailio, ended, scenario, uas, via_kamailio

from telephony.events import CallTransferred, LineError

pytestmark = pytest.mark.sip


def answered(log: EventLog, n: int) -> str:
    ev = log.wait_for(lambda e: len(log.named("call_answered")) >= n, 10)
    assert ev is not None, log.events
    return log.named("call_answered")[n - 1].call_id  # type: ignore[attr-defined]


def dialog_of(sipp_messages: str) -> tuple[str, str, str]:
    """(Call-ID, From tag, To tag) of the 200 OK the department's sipp sent to our INVITE."""
    ok = sipp_messages[sipp_messages.index("SIP/2.0 200 OK") :]
    call_id = re.search(r"(?im)^Call-ID: *(\S+)", ok)
    from_tag = re.search(r"(?im)^From:.*;tag=([^;\s]+)", ok)
    to_tag = re.search(r"(?im)^To:.*;tag=([^;\s]+)", ok)
    assert call_id and from_tag and to_tag, ok[:2000]
    return call_id.group(1), from_tag.group(1), to_tag.group(1)


def test_attended_transfer_refers_the_citizen_with_replaces(
    kamailio: Kamailio, sip_user: str, make_line, sipp, tmp_path: Path
) -> None:
    line, log = make_line(kamailio, sip_user)
    citizen = sipp(
        scenario("citizen_atransfer.xml"),
        *via_kamailio(
            kamailio, sip_user, "-key", "codecs", "0 101", "-key", "hdr", "Supported: replaces, timer"
        ),
    )
    department = uas(kamailio, tmp_path, "citizen_uas.xml", "-key", "codecs", "0 101")
    try:
        citizen_call = answered(log, 1)
        consult = line.dial("0310")
        assert answered(log, 2) == consult
        line.attended_transfer(citizen_call, consult)
        end = ended(log)
        assert citizen.wait(20) == 0, citizen.report()
        line.hangup(consult)  # in real life the department drops it once the citizen's INVITE replaced it
        assert department.wait(20) == 0, department.report()
    finally:
        department.stop()
    assert end.call_id == citizen_call and end.reason == "local_hangup" and "replacing" in end.detail
    transferred = [e for e in log.events if isinstance(e, CallTransferred)]
    assert len(transferred) == 1 and transferred[0].replaces == consult
    assert transferred[0].target.startswith("sip:0310@")
    refer_to = re.search(r"(?im)^Refer-To: *<([^>]+)>", citizen.messages())
    assert refer_to is not None
    uri, _, query = refer_to.group(1).partition("?Replaces=")
    call_id, from_tag, to_tag = dialog_of(department.messages())
    # for the department (who gets the citizen's INVITE) to-tag is its own tag, from-tag ours
    assert unquote(query) == f"{call_id};to-tag={to_tag};from-tag={from_tag}"
    assert uri.startswith("sip:0310@")


def test_attended_transfer_needs_a_peer_that_supports_replaces(
    kamailio: Kamailio, sip_user: str, make_line, sipp, tmp_path: Path
) -> None:
    line, log = make_line(kamailio, sip_user)
    citizen = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(kamailio, sip_user, "-d", "4000", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    department = uas(kamailio, tmp_path, "citizen_uas.xml", "-key", "codecs", "0 101")
    try:
        citizen_call = answered(log, 1)
        consult = line.dial("0311")
        assert answered(log, 2) == consult
        line.attended_transfer(citizen_call, consult)
        err = log.wait_for(lambda e: isinstance(e, LineError), 10)
        assert isinstance(err, LineError) and "Replaces" in err.message and err.call_id == citizen_call
        assert citizen.wait(20) == 0, citizen.report()  # the citizen's call went on until its BYE
        line.hangup(consult)
        assert department.wait(20) == 0, department.report()
    finally:
        department.stop()
    assert not [e for e in log.events if isinstance(e, CallTransferred)]
    assert {e.call_id: e.reason for e in log.named("call_ended")} == {  # type: ignore[attr-defined]
        citizen_call: "remote_bye",
        consult: "local_hangup",
    }
