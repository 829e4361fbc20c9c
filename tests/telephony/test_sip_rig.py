"""The SIP line against real peers on loopback: kamailio as registrar/proxy, sipp as the citizen.

Each test names the pyVoIP 1.6.8 defect it proves fixed (telephony.sip.FIXES). Run with
HOTLINE_SIP_DISABLE_FIXES=<name> (or ``all``) to watch it fail on plain pyVoIP behaviour.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import time
from pathlib import Path

import pytest
from helpers.siprig import (
    IS_ROOT,
    Baresip,
    Kamailio,
    Sipp,
    ended,
    free_port_block,
    free_udp_port,
    recording,
    scenario,
    uas,
    via_kamailio,
)

from telephony import audio
from telephony.events import CallEnded, CallOffered, CallRejected, Dtmf, Registered
from telephony.line import LineCommandError

pytestmark = pytest.mark.sip


# -- registration ------------------------------------------------------------------------------------
def test_register_with_qop_auth(kamailio: Kamailio, sip_user: str, make_line) -> None:
    """fix 'qop': the strict registrar challenges again any answer without qop=auth."""
    _line, log = make_line(kamailio, sip_user)
    assert not log.named("registration_failed")


def test_register_refreshes_within_the_granted_expiry(
    kamailio_plain: Kamailio, sip_user: str, make_line
) -> None:
    """fix 'expires': the registrar grants 4 s of the 300 asked; the line must refresh in time."""
    _line, log = make_line(kamailio_plain, sip_user)
    first = log.wait_for(lambda e: isinstance(e, Registered), 1)
    assert isinstance(first, Registered) and first.expires == 4
    # bounded wait for two refreshes; pyVoIP would only come back after 295 s
    assert log.wait_for(lambda e: len(log.named("registered")) >= 3, 8), log.events


def test_call_ids_differ_across_restarts(kamailio: Kamailio, sip_user: str, make_line) -> None:
    """fix 'callid': pyVoIP derives Call-IDs from a counter that restarts at 1 with the process, so a
    restarted line on the same address reuses them (and the registrar sees old CSeqs)."""
    port = free_udp_port()
    for _ in range(2):
        line, _log = make_line(kamailio, sip_user, sip_port=port)
        line.stop()
    log = kamailio.log_text()
    ids = re.findall(rf"RX REGISTER \S+ from 127\.0\.0\.1:{port} \(call-id ([^)]+)\)", log)
    # each start registers with one Call-ID (twice: challenge, then credentials; plus the un-REGISTER)
    assert len(ids) >= 4
    assert len(set(ids)) == 2, ids


# -- incoming calls ------------------------------------------------------------------------------------
def test_incoming_call_tone_in_dtmf_and_caller_bye(
    kamailio: Kamailio, sip_user: str, make_line, sipp, tmp_path: Path
) -> None:
    """Answer on offer; the citizen's 1 kHz tone is heard; RFC 2833 '4','2' (as root); caller BYE."""
    _line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_call.xml", hangup="remote", dtmf=True),
        *via_kamailio(kamailio, sip_user, "-d", "800", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    assert run.wait(30) == 0, run.report()
    end = ended(log)
    assert end.reason == "remote_bye"
    offered = log.named("call_offered")[0]
    assert isinstance(offered, CallOffered)
    assert offered.caller == "13800138100" and offered.display_name == "Citizen 1"
    heard = recording(tmp_path, end.call_id, "rx")
    assert len(heard) > audio.RATE  # over half a second of audio
    assert audio.goertzel_share(heard[: 2 * audio.RATE], 1000) > 0.8
    if IS_ROOT:
        assert "".join(e.digit for e in log.events if isinstance(e, Dtmf)) == "42"


def test_offer_reaches_the_operator_before_a_quick_cancel(
    kamailio: Kamailio, sip_user: str, make_line, sipp
) -> None:
    """fix 'offer_delay': a caller who gives up 300 ms after 180 was still shown ringing
    (pyVoIP holds every INVITE back 1 s, so such calls never reach the operator)."""
    _line, log = make_line(kamailio, sip_user, auto_answer=False)
    run = sipp(scenario("citizen_cancel.xml"), *via_kamailio(kamailio, sip_user))
    run.wait(20)
    ended(log)
    assert log.named("call_offered"), log.events


def test_cancel_while_ringing_gets_487_and_is_never_answerable(
    kamailio: Kamailio, sip_user: str, make_line, sipp
) -> None:
    """fix 'cancel': 487 to the INVITE, call_ended(cancelled), answer refused afterwards."""
    line, log = make_line(kamailio, sip_user, auto_answer=False)
    run = sipp(scenario("citizen_cancel.xml"), *via_kamailio(kamailio, sip_user))
    assert run.wait(20) == 0, run.report()
    end = ended(log, 5)
    assert end.reason == "cancelled"
    with pytest.raises(LineCommandError):
        line.answer(end.call_id)
    assert not log.named("call_answered")


def test_local_hangup_bye_is_answered(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'bye': our BYE carries our own Via, so the citizen's 200 OK finds its way back."""
    line, log = make_line(kamailio, sip_user)
    log.on_offer = None
    run = sipp(
        scenario("citizen_call.xml", hangup="local"),
        *via_kamailio(kamailio, sip_user, "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    offered = log.wait_for(lambda e: isinstance(e, CallOffered), 10)
    assert offered is not None
    line.answer(offered.call_id)
    assert log.wait_for(lambda e: e.name == "call_answered", 5)
    time.sleep(0.5)  # let the citizen ACK and start streaming
    line.hangup(offered.call_id)
    end = ended(log)
    assert end.reason == "local_hangup"
    assert run.wait(20) == 0, run.report()
    assert "BYE answered 200" in end.detail


def test_options_is_answered(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'options': a PBX qualify ping gets 200 OK."""
    make_line(kamailio, sip_user)
    run = sipp(scenario("citizen_options.xml"), *via_kamailio(kamailio, sip_user))
    assert run.wait(15) == 0, run.report()


def test_empty_supported_header_still_rings(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'parser': baresip's 'Supported:' (no value) made pyVoIP drop the whole INVITE."""
    _line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(
            kamailio, sip_user, "-d", "300", "-key", "codecs", "0 101", "-key", "hdr", "Supported:"
        ),
    )
    assert run.wait(30) == 0, run.report()
    assert ended(log).reason == "remote_bye"


def test_ghost_invite_is_refused_and_reported(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'ghost': an INVITE straight from a scanner gets 403 and never rings."""
    line, log = make_line(kamailio, sip_user)
    sport = free_udp_port()
    run = Sipp(
        line_dir := Path(kamailio.workdir.parent / f"ghost-{sip_user}"),
        scenario("ghost_invite.xml"),
        [f"127.0.0.1:{line.config.sip_port}", "-s", sip_user, "-m", "1", "-p", str(sport)],
    ).start()
    try:
        assert run.wait(15) == 0, run.report()
    finally:
        run.stop()
    rej = log.wait_for(lambda e: isinstance(e, CallRejected), 3)
    assert isinstance(rej, CallRejected) and rej.source == f"127.0.0.1:{sport}"
    assert not log.named("call_offered")
    assert line_dir.exists()


@pytest.mark.parametrize("codecs", ["0 101", "8 101"], ids=["PCMU", "PCMA"])
def test_tone_out_is_on_the_wire(
    kamailio: Kamailio, sip_user: str, make_line, sipp, tmp_path: Path, codecs: str
) -> None:
    """fix 'pcma': the citizen echoes our 440 Hz back exactly as it was on the wire."""
    wav = tmp_path / "tone440.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, 3.0))
    _line, log = make_line(kamailio, sip_user, play_wav=str(wav))
    run = sipp(
        scenario("citizen_echo.xml"),
        *via_kamailio(
            kamailio,
            sip_user,
            "-d",
            "1500",
            "-key",
            "codecs",
            codecs,
            "-rtp_echo",
            "-mp",
            str(free_port_block(4)),  # sipp binds audio at -mp and video at -mp + 2
        ),
    )
    assert run.wait(30) == 0, run.report()
    end = ended(log)
    answered = log.named("call_answered")[0]
    assert answered.codec == ("PCMA" if codecs.startswith("8") else "PCMU")  # type: ignore[attr-defined]
    heard = recording(tmp_path, end.call_id, "rx")
    assert len(heard) > audio.RATE // 2
    assert audio.goertzel_share(heard[: 2 * audio.RATE], 440) > 0.8


def test_out_of_range_telephone_event_does_not_kill_dtmf(
    kamailio: Kamailio, sip_user: str, make_line, sipp
) -> None:
    """fix 'dtmf_bounds': event 16 (flash) is ignored; digits after it still arrive."""
    line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(kamailio, sip_user, "-d", "2500", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    assert log.wait_for(lambda e: e.name == "call_answered", 10)
    time.sleep(0.3)
    cfg = line.config
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for seq, (code, ts) in enumerate([(5, 1000), (16, 2000), (7, 3000)]):
            pkt = struct.pack(">BBHII", 0x80, 0x80 | 101, seq, ts, 0x1234) + bytes([code, 0x8A, 0, 160])
            for port in range(cfg.rtp_port_min, cfg.rtp_port_max + 1):  # whichever port the call got
                tx.sendto(pkt, ("127.0.0.1", port))
            time.sleep(0.1)
    assert run.wait(30) == 0, run.report()
    ended(log)
    assert "".join(e.digit for e in log.events if isinstance(e, Dtmf)) == "57"


def test_ended_calls_free_their_rtp_ports(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'cleanup': three calls in a row on a range of two RTP ports."""
    cfg_ports = free_port_block(2)
    _line, log = make_line(kamailio, sip_user, rtp_port_min=cfg_ports, rtp_port_max=cfg_ports + 1)
    for i in range(3):
        run = sipp(
            scenario("citizen_call.xml", hangup="remote"),
            *via_kamailio(
                kamailio, sip_user, "-d", "100", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"
            ),
        )
        assert run.wait(30) == 0, f"call {i + 1}: {run.report()}"
        assert log.wait_for(lambda e, n=i + 1: len(log.named("call_ended")) >= n, 5)


def test_two_concurrent_calls(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    _line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        f"127.0.0.1:{kamailio.port}",
        "-s",
        sip_user,
        "-m",
        "2",
        "-l",
        "2",
        "-r",
        "2",
        "-d",
        "1000",
        "-key",
        "codecs",
        "0 101",
        "-key",
        "hdr",
        "X-Rig: 1",
    )
    assert run.wait(30) == 0, run.report()
    assert log.wait_for(lambda e: len(log.named("call_ended")) >= 2, 5)
    assert {e.reason for e in log.named("call_ended")} == {"remote_bye"}  # type: ignore[attr-defined]
    assert len({e.call_id for e in log.named("call_offered")}) == 2  # type: ignore[attr-defined]


def test_worker_crash_is_survived(kamailio: Kamailio, sip_user: str, make_line) -> None:
    """The worker process is killed: the line reports it, restarts it and registers again."""
    import os
    import signal

    line, log = make_line(kamailio, sip_user)
    os.kill(line.worker_pid, signal.SIGKILL)
    assert log.wait_for(lambda e: e.name == "error", 5)
    assert log.wait_for(lambda e: len(log.named("registered")) >= 2, 10), log.events
    assert line.restarts == 1


def test_hold_and_resume_from_the_far_end(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'reinvite': sendonly is answered recvonly (and the line stops sending), sendrecv resumes."""
    _line, log = make_line(kamailio, sip_user)
    run = sipp(scenario("citizen_hold.xml"), *via_kamailio(kamailio, sip_user))
    assert run.wait(30) == 0, run.report()
    assert ended(log).reason == "remote_bye"
    assert [e.name for e in log.events if e.name in ("call_held", "call_resumed")] == [
        "call_held",
        "call_resumed",
    ]


def test_line_is_back_after_a_pbx_restart(tmp_path: Path, sip_user: str, make_line, sipp) -> None:
    """fix 'watchdog': the PBX restarts (and forgets every registration); within 10 s of it being
    back the line is registered again and takes calls (pyVoIP waits for its next refresh)."""
    kam = Kamailio(tmp_path / "kam-restart").start()
    try:
        _line, log = make_line(kam, sip_user)
        kam.stop()
        assert log.wait_for(lambda e: e.name == "registration_failed", 8), log.events
        kam.start()
        assert log.wait_for(lambda e: len(log.named("registered")) >= 2, 10), log.events
        run = sipp(
            scenario("citizen_call.xml", hangup="remote"),
            *via_kamailio(kam, sip_user, "-d", "200", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
        )
        assert run.wait(30) == 0, run.report()
    finally:
        kam.stop()


# -- outbound calls (call-backs) -----------------------------------------------------------------------
def test_outbound_call_with_407_ack_audio_and_dtmf(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path
) -> None:
    """Dial 0301: 407 answered with credentials, the 2xx ACKed in its dialog (the citizen checks its
    To-tag), our 440 Hz and RFC 4733 digits come back from the echoing phone, our BYE is answered."""
    wav = tmp_path / "tone440.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, 3.0))
    line, log = make_line(kamailio, sip_user, play_wav=str(wav))
    citizen = uas(
        kamailio,
        tmp_path,
        "citizen_uas.xml",
        "-rtp_echo",
        "-mp",
        str(free_port_block(4)),  # sipp binds audio at -mp and video at -mp + 2
        "-key",
        "codecs",
        "0 101",
    )
    try:
        call_id = line.dial("0301")
        assert log.wait_for(lambda e: e.name == "call_answered" and e.call_id == call_id, 10), log.events
        time.sleep(0.5)
        line.send_dtmf(call_id, "1#")
        time.sleep(1.0)
        line.hangup(call_id)
        end = ended(log)
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    assert end.call_id == call_id and end.reason == "local_hangup" and "BYE answered 200" in end.detail
    assert [e.name for e in log.events if getattr(e, "call_id", None) == call_id][:2] == [
        "call_ringing",
        "call_answered",
    ]
    heard = recording(tmp_path, call_id, "rx")
    assert audio.goertzel_share(heard[: audio.RATE], 440) > 0.8  # the first 0.5 s: before the digits
    assert "".join(e.digit for e in log.events if isinstance(e, Dtmf)) == "1#"


def test_outbound_call_refused_busy(kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path) -> None:
    """A 486 ends the call (rejected) and is ACKed; pyVoIP would leave it DIALING for ever."""
    line, log = make_line(kamailio, sip_user)
    citizen = uas(kamailio, tmp_path, "citizen_busy.xml")
    try:
        call_id = line.dial("0302")
        end = ended(log)
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    assert end.call_id == call_id and end.reason == "rejected" and end.detail.startswith("486")
    with pytest.raises(LineCommandError):
        line.hangup(call_id)


def test_outbound_call_cancelled_while_ringing(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path
) -> None:
    line, log = make_line(kamailio, sip_user)
    citizen = uas(kamailio, tmp_path, "citizen_ring.xml")
    try:
        call_id = line.dial("0303")
        assert log.wait_for(lambda e: e.name == "call_ringing", 10), log.events
        line.hangup(call_id)
        end = ended(log)
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    assert end.reason == "local_hangup" and "487" in end.detail


def test_our_hold_and_resume(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """hold(): re-INVITE a=sendonly; resume(): a=sendrecv; both ACKed; events by=local."""
    line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_held.xml", hangup="remote"),
        *via_kamailio(kamailio, sip_user, "-d", "200", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    answered = log.wait_for(lambda e: e.name == "call_answered", 10)
    assert answered is not None
    line.hold(answered.call_id)  # type: ignore[attr-defined]
    assert log.wait_for(lambda e: e.name == "call_held", 10), log.events
    line.resume(answered.call_id)  # type: ignore[attr-defined]
    assert log.wait_for(lambda e: e.name == "call_resumed", 10), log.events
    assert run.wait(30) == 0, run.report()
    assert ended(log).reason == "remote_bye"
    assert {e.by for e in log.events if e.name in ("call_held", "call_resumed")} == {"local"}  # type: ignore[attr-defined]


def test_blind_transfer_by_refer(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    line, log = make_line(kamailio, sip_user)
    run = sipp(
        scenario("citizen_refer.xml"),
        *via_kamailio(kamailio, sip_user, "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    answered = log.wait_for(lambda e: e.name == "call_answered", 10)
    assert answered is not None
    line.blind_transfer(answered.call_id, "8001")  # type: ignore[attr-defined]
    end = ended(log)
    assert run.wait(30) == 0, run.report()
    assert log.named("call_transferred")[0].target == "8001"  # type: ignore[attr-defined]
    assert end.reason == "local_hangup" and end.detail.startswith("transferred to 8001")


def test_offer_without_g711_gets_488(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'codecs': nothing we can speak -> 488, reported as call_rejected, never rings."""
    _line, log = make_line(kamailio, sip_user)
    run = sipp(scenario("citizen_488.xml"), *via_kamailio(kamailio, sip_user))
    assert run.wait(15) == 0, run.report()
    rej = log.wait_for(lambda e: isinstance(e, CallRejected), 3)
    assert isinstance(rej, CallRejected) and "G729" in rej.why
    assert not log.named("call_offered")


# -- baresip, a strict second SIP stack ----------------------------------------------------------------
@pytest.fixture
def baresip_tool() -> None:
    if shutil.which("baresip") is None:
        if os.environ.get("HOTLINE_REQUIRE_SIP") == "1":
            pytest.fail("baresip required (HOTLINE_REQUIRE_SIP=1) but not installed")
        pytest.skip("baresip not installed (apt-get install baresip-core)")


def test_baresip_calls_in_audio_both_ways_and_our_bye(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, baresip_tool: None
) -> None:
    """baresip (700 Hz sine) dials the line; the line answers with 440 Hz; each hears the other;
    the line hangs up and baresip confirms the BYE. Our recording is complete once call_ended is out;
    baresip's dump only once baresip has ended (``Baresip.stop`` lets it write the WAV header)."""
    wav = tmp_path / "tone440.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, 10.0))
    line, log = make_line(kamailio, sip_user, play_wav=str(wav))
    phone = Baresip(tmp_path / "baresip", kamailio, user="2" + sip_user[1:])
    phone.start(8, f"/dial sip:{sip_user}@127.0.0.1:{kamailio.port}")
    try:
        answered = log.wait_for(lambda e: e.name == "call_answered", 10)
        assert answered is not None, phone.output()
        time.sleep(2.5)  # the length of the call, not a wait for anything
        line.hangup(answered.call_id)  # type: ignore[attr-defined]
        end = ended(log)
        heard = recording(tmp_path, end.call_id, "rx")  # at once: call_ended promises a whole WAV
    finally:
        phone.stop()
    assert end.reason == "local_hangup" and "BYE answered 200" in end.detail, phone.output()
    assert audio.goertzel_share(heard[audio.RATE : audio.RATE * 3], 700) > 0.8
    assert audio.goertzel_share(phone.decoded_audio()[audio.RATE : audio.RATE * 3], 440) > 0.8


def test_blind_transfer_accepted_by_baresip(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, baresip_tool: None
) -> None:
    line, log = make_line(kamailio, sip_user)
    phone = Baresip(tmp_path / "baresip", kamailio, user="2" + sip_user[1:])
    phone.start(8, f"/dial sip:{sip_user}@127.0.0.1:{kamailio.port}")
    try:
        answered = log.wait_for(lambda e: e.name == "call_answered", 10)
        assert answered is not None, phone.output()
        time.sleep(0.5)
        line.blind_transfer(answered.call_id, "8001")  # type: ignore[attr-defined]
        end = ended(log)
    finally:
        phone.stop()
    assert not log.named("error"), log.named("error")
    assert log.named("call_transferred"), phone.output()
    assert end.reason == "local_hangup" and end.detail.startswith("transferred to 8001"), end


@pytest.mark.slow
def test_outbound_call_to_baresip_outlives_its_32s_ack_timeout(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, baresip_tool: None
) -> None:
    """baresip auto-answers our call-back; with pyVoIP's ACK (random To-tag, To-URI as R-URI) it
    tears the call down after 32 s. Ours must still be up at 35 s, and end by our BYE."""
    line, log = make_line(kamailio, sip_user)
    callee = "2" + sip_user[1:]
    phone = Baresip(tmp_path / "baresip", kamailio, user=callee).start(50)
    try:
        deadline = time.monotonic() + 10
        call_id = ""
        while time.monotonic() < deadline and not call_id:  # until baresip has registered
            cid = line.dial(callee)
            ev = log.wait_for(
                lambda e, c=cid: (
                    getattr(e, "call_id", None) == c and e.name in ("call_answered", "call_ended")
                ),
                5,
            )
            if ev is not None and ev.name == "call_answered":
                call_id = cid
            else:
                time.sleep(0.5)
        assert call_id, phone.output()
        assert log.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 35) is None
        line.hangup(call_id)
        end = log.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 10)
    finally:
        phone.stop()
    assert isinstance(end, CallEnded) and end.reason == "local_hangup" and "BYE answered 200" in end.detail


def test_malformed_sip_is_dropped_and_the_line_keeps_working(
    kamailio: Kamailio, sip_user: str, make_line, sipp
) -> None:
    """Garbage straight at the line (bad bytes, missing headers, lying Content-Length, huge headers,
    unknown methods): dropped or refused, no event, and the next real call rings and is answered."""
    line, log = make_line(kamailio, sip_user)
    port = line.config.sip_port
    junk = [
        b"\xff\xfe\x00garbage\r\n\r\n",
        b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n\r\n",
        b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:x@y>\r\nCall-ID: j1\r\nCSeq: 1 INVITE\r\nContent-Length: 5000\r\n\r\nv=0\r\n",
        b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX-Huge: " + b"A" * 30000 + b"\r\n\r\n",
        b"FROBNICATE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK3\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: j2\r\nCSeq: 1 FROBNICATE\r\nContent-Length: 0\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK4\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:x@y>\r\nCall-ID: nobody\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        b"\r\n\r\n",
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in junk * 3:
            s.sendto(data, ("127.0.0.1", port))
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(kamailio, sip_user, "-d", "200", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    assert run.wait(30) == 0, run.report()
    assert ended(log).reason == "remote_bye"
    assert [e.name for e in log.events] == ["registered", "call_offered", "call_answered", "call_ended"]


def test_hung_worker_is_killed_and_replaced(kamailio: Kamailio, sip_user: str, make_line) -> None:
    """A worker that stops answering (SIGSTOP: what a pyVoIP call blocking for ever looks like from
    outside) is detected by the host's pings, killed and restarted; the host never blocks."""
    import signal

    line, log = make_line(kamailio, sip_user)
    os.kill(line.worker_pid, signal.SIGSTOP)
    assert log.wait_for(lambda e: e.name == "error", 15), log.events
    assert log.wait_for(lambda e: len(log.named("registered")) >= 2, 10), log.events
    assert line.hangs_detected == 1 and line.restarts == 1


def test_worker_logs_reach_the_host_without_secrets(kamailio: Kamailio, sip_user: str, make_line) -> None:
    """Worker log records (every SIP message at debug level) are written by the host's structlog,
    with the digest response and the password redacted."""
    from structlog.testing import capture_logs

    with capture_logs() as records:
        make_line(kamailio, sip_user, password="secret")
        time.sleep(0.3)
    sent = [r for r in records if r.get("event") == "sip_tx"]
    assert any("REGISTER" in r["text"] for r in sent), records[:5]
    assert any("Authorization: <redacted>" in r["text"] for r in sent)
    flat = repr(records)
    assert 'response="' not in flat and "secret" not in flat.replace("loopback-rig-nonce-secret", "")


def test_ringing_carries_our_contact(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """fix 'contact': the 180 names the agent's Contact, not the caller's (pyVoIP copies the INVITE's)."""
    make_line(kamailio, sip_user, auto_answer=False)
    scen = (
        scenario("citizen_cancel.xml")
        .replace(
            '<recv response="180" response_txn="invite" timeout="5000" />',
            '<recv response="180" response_txn="invite" timeout="5000"><action>'
            f'<ereg regexp="Contact: *&lt;sip:{sip_user}@127[.]0[.]0[.]1:" search_in="msg" check_it="true" '
            'assign_to="c180" /></action></recv>',
        )
        .replace("      CSeq: 1 CANCEL\n", "      CSeq: 1 CANCEL\n      X-Rig: [$c180]\n")
    )
    run = sipp(scen, *via_kamailio(kamailio, sip_user))
    assert run.wait(20) == 0, run.report()
