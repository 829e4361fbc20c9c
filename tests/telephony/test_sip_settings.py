"""The ``[sip]`` settings that shape what goes on the wire: codecs, dtmf_mode, register_timeout,
display_name. Each test runs the line against real peers (kamailio, sipp, a registrar that never
answers) with two values of a setting and shows that the wire changes with it."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
from helpers.siprig import (
    IS_ROOT,
    EventLog,
    Kamailio,
    ended,
    free_port_block,
    free_udp_port,
    line_config,
    recording,
    scenario,
    sdp_answer_payloads,
    uas,
    ulaw_wav,
    via_kamailio,
)

from telephony import audio
from telephony.events import CallAnswered, CallRejected, Dtmf, RegistrationFailed
from telephony.sip import SipLine

pytestmark = pytest.mark.sip

PCMA_FIRST = ("PCMA", "PCMU")
PCMU_FIRST = ("PCMU", "PCMA")


def digits(log: EventLog) -> str:
    return "".join(e.digit for e in log.events if isinstance(e, Dtmf))


# -- codecs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("codecs", [PCMA_FIRST, PCMU_FIRST], ids=["PCMA-first", "PCMU-first"])
def test_our_answer_lists_our_codecs_first(
    kamailio: Kamailio, sip_user: str, make_line, sipp, codecs: tuple[str, ...]
) -> None:
    """The citizen offers PCMU then PCMA; our 200 OK lists them in the order of ``codecs`` and the
    call runs on our first (pyVoIP answered in the offerer's order)."""
    _line, log = make_line(kamailio, sip_user, codecs=codecs)
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(
            kamailio, sip_user, "-d", "300", "-key", "codecs", "0 8 101", "-key", "hdr", "X-Rig: 1"
        ),
    )
    assert run.wait(30) == 0, run.report()
    ended(log)
    answered = log.named("call_answered")[0]
    assert isinstance(answered, CallAnswered) and answered.codec == codecs[0]
    want = {"PCMA": "8", "PCMU": "0"}
    assert sdp_answer_payloads(run.messages()) == [want[codecs[0]], want[codecs[1]], "101"]


def _dial_and_hang_up(line: SipLine, log: EventLog, number: str, dtmf: str = "") -> str:
    call_id = line.dial(number)
    assert log.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10), log.events
    # kamailio's worker processes may reorder back-to-back requests: a BYE sent right after the ACK
    # can reach the citizen first, and sipp aborts on it; let the ACK arrive first
    time.sleep(0.3)
    if dtmf:
        line.send_dtmf(call_id, dtmf)
        time.sleep(1.2)  # the digits' way there and (echoed) back
    line.hangup(call_id)
    end = ended(log)
    assert end.call_id == call_id and end.reason == "local_hangup"
    return call_id


def _our_invite(messages: str) -> str:
    m = re.search(r"INVITE sip:\S+ SIP/2\.0\r?\n(?:.+\r?\n)*?\r?\n(?:.+\r?\n)+", messages)
    assert m is not None, messages[-3000:]
    return m.group(0)


@pytest.mark.parametrize("codecs", [PCMA_FIRST, PCMU_FIRST], ids=["PCMA-first", "PCMU-first"])
def test_our_offer_lists_our_codecs_in_order(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, codecs: tuple[str, ...]
) -> None:
    """A call-back offers the codecs in the order of ``codecs``; of the citizen's answer (PCMU, PCMA)
    the line sends our first."""
    line, log = make_line(kamailio, sip_user, codecs=codecs)
    citizen = uas(kamailio, tmp_path, "citizen_uas.xml", "-key", "codecs", "0 8 101")
    try:
        _dial_and_hang_up(line, log, "0311")
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    invite = _our_invite(citizen.messages())
    want = " ".join({"PCMA": "8", "PCMU": "0"}[c] for c in codecs) + " 101"
    assert re.search(rf"m=audio \d+ RTP/AVP {want}\r?\n", invite), invite
    answered = log.named("call_answered")[0]
    assert isinstance(answered, CallAnswered) and answered.codec == codecs[0]


def test_a_codec_left_out_is_refused(kamailio: Kamailio, sip_user: str, make_line, sipp) -> None:
    """``codecs = ["PCMA"]``: a PCMU-only offer is refused with 488 (what we do not list, we do not
    speak; with the default list the line answers PCMU, as the tests above show)."""
    _line, log = make_line(kamailio, sip_user, codecs=("PCMA",))
    run = sipp(
        scenario("citizen_488.xml")
        .replace("RTP/AVP 18", "RTP/AVP 0")
        .replace("a=rtpmap:18 G729/8000", "a=rtpmap:0 PCMU/8000"),
        *via_kamailio(kamailio, sip_user),
    )
    assert run.wait(15) == 0, run.report()
    rej = log.wait_for(lambda e: e.name == "call_rejected", 3)
    assert isinstance(rej, CallRejected) and rej.why == "no PCMA in offer: PCMU"
    assert not log.named("call_offered")


# -- display_name --------------------------------------------------------------------------------------
@pytest.mark.parametrize("display", ['市民热线 "12345"', ""], ids=["named", "unnamed"])
def test_outbound_invite_and_register_carry_the_display_name(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, display: str
) -> None:
    """``display_name`` is the From display name of a call-back (what the citizen's phone shows) and
    of our REGISTER; empty, From is the bare address."""
    from structlog.testing import capture_logs

    with capture_logs() as records:
        line, log = make_line(kamailio, sip_user, display_name=display)
    citizen = uas(kamailio, tmp_path, "citizen_uas.xml", "-key", "codecs", "0 101")
    try:
        _dial_and_hang_up(line, log, "0312")
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    from_line = re.search(r"^From: (.*)$", _our_invite(citizen.messages()), re.MULTILINE)
    assert from_line is not None
    register = next(r["text"] for r in records if r.get("event") == "sip_tx" and "REGISTER sip:" in r["text"])
    aor = f"<sip:{sip_user}@127.0.0.1>"
    if display:
        assert from_line.group(1).startswith(f'"市民热线 \\"12345\\"" {aor};tag='), from_line.group(1)
        assert f'From: "市民热线 \\"12345\\"" {aor};tag=' in register
    else:
        assert from_line.group(1).startswith(f"{aor};tag="), from_line.group(1)
        assert f"From: {aor};tag=" in register


# -- register_timeout ----------------------------------------------------------------------------------
class SilentRegistrar:
    """A registrar that reads every REGISTER and never answers (a PBX behind a dropping firewall)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.arrivals: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            if data.startswith(b"REGISTER "):
                self.arrivals.append(time.monotonic())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("timeout", [1.0, 2.5])
def test_registration_gives_up_after_register_timeout(
    kamailio: Kamailio, sip_user: str, tmp_path: Path, timeout: float
) -> None:
    """The first REGISTER to a registrar that never answers is reported failed ``register_timeout``
    seconds after it went out (it was a fixed 4 s)."""
    registrar = SilentRegistrar()
    log = EventLog()
    cfg = line_config(kamailio, sip_user, tmp_path, port=registrar.port, register_timeout=timeout)
    line = SipLine(cfg, clock=time.monotonic)  # event times and arrivals on one clock
    try:
        line.start(log)
        failed = log.wait_for(lambda e: isinstance(e, RegistrationFailed), timeout + 8)
    finally:
        line.stop()
        registrar.close()
    assert isinstance(failed, RegistrationFailed) and failed.why == "no answer from registrar"
    assert registrar.arrivals, "no REGISTER reached the registrar"
    waited = failed.t - registrar.arrivals[0]
    assert timeout - 0.1 < waited < timeout + 0.6, waited
    # retransmitted meanwhile (RFC 3261 timer E: 0.5 s, doubling), never after giving up
    assert len([t for t in registrar.arrivals if t <= failed.t]) >= 2


# -- dtmf_mode -----------------------------------------------------------------------------------------
def _inband_digits_wav(keys: str) -> bytes:
    pcm = bytes(audio.FRAME_BYTES * 15)
    for key in keys:
        pcm += audio.dtmf_tone(key, 0.12) + bytes(audio.FRAME_BYTES * 8)
    return ulaw_wav(pcm + bytes(audio.FRAME_BYTES * 15))


@pytest.mark.parametrize("mode", ["rfc4733", "inband"])
def test_received_digits_are_read_in_the_configured_mode(
    kamailio: Kamailio, sip_user: str, make_line, sipp, mode: str
) -> None:
    """The citizen sends 1 and 3 as tones in its audio, then (as root: sipp replays pcaps) 4 and 2 as
    RFC 4733 events. In rfc4733 mode the line reads only the events, in inband mode only the tones;
    inband, our answer does not offer telephone-event at all."""
    _line, log = make_line(kamailio, sip_user, dtmf_mode=mode)
    scen = scenario("citizen_call.xml", hangup="remote", dtmf=True).replace(
        "tone1k_ulaw.wav,-1,0", "digits13.wav,1,0"
    )
    run = sipp(
        scen,
        *via_kamailio(kamailio, sip_user, "-d", "300", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
        files={"digits13.wav": _inband_digits_wav("13")},
    )
    assert run.wait(30) == 0, run.report()
    ended(log)
    if mode == "inband":
        assert digits(log) == "13"
        assert sdp_answer_payloads(run.messages()) == ["0"]
    else:
        assert digits(log) == ("42" if IS_ROOT else "")
        assert sdp_answer_payloads(run.messages()) == ["0", "101"]


@pytest.mark.parametrize("mode", ["rfc4733", "inband"])
def test_sent_digits_go_in_the_configured_mode(
    kamailio: Kamailio, sip_user: str, make_line, tmp_path: Path, mode: str
) -> None:
    """A call-back to a phone that echoes what it gets: "1#" comes back either way, but only in
    inband mode is it in the audio (the recording of what came back holds the dual tones) and
    missing from our offer's telephone-event."""
    line, log = make_line(kamailio, sip_user, dtmf_mode=mode)
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
        call_id = _dial_and_hang_up(line, log, "0313", dtmf="1#")
        assert citizen.wait(15) == 0, citizen.report()
    finally:
        citizen.stop()
    assert digits(log) == "1#"
    detector = audio.DtmfDetector()
    in_audio = [d for frame in audio.frames(recording(tmp_path, call_id, "rx")) for d in detector.feed(frame)]
    offer = _our_invite(citizen.messages())
    if mode == "inband":
        assert "".join(in_audio) == "1#"
        assert "telephone-event" not in offer
    else:
        assert in_audio == []
        assert "telephone-event" in offer


def test_line_config_maps_the_sip_section() -> None:
    """``hotline agent`` and the console build the line from ``[sip]`` through
    ``console.commands.agent.line_config``: each of the four keys reaches telephony's SipConfig."""
    from console.commands.agent import line_config as from_section
    from console.config import SipConfig as SipSection

    section = SipSection(
        username="1001",
        codecs=["PCMU", "PCMA"],
        dtmf_mode="inband",
        register_timeout=2.5,
        display_name="Desk 7",
        sip_port=free_udp_port(),
    )
    cfg = from_section(section, record_dir=Path("rec"), audio_device="default")
    assert cfg.codecs == ("PCMU", "PCMA") and cfg.dtmf_mode == "inband"
    assert cfg.register_timeout == 2.5 and cfg.display_name == "Desk 7"
    assert cfg.record_dir == "rec" and cfg.play_wav is None and cfg.audio_device == "default"
    default = from_section(SipSection(username="1001"))
    assert default.codecs == ("PCMA", "PCMU") and default.dtmf_mode == "rfc4733"
    assert default.register_timeout == 10.0 and default.display_name == ""
