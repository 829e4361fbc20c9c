"""``hotline agent`` as an operator would run it: a real process, the rig's kamailio, a sipp citizen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.siprig import (
    IS_ROOT,
    PASSWORD,
    Kamailio,
    Sipp,
    free_port_block,
    free_udp_port,
    kill_group,
    scenario,
)

from store import calls
from store.db import open_store
from store.models import Call
from telephony import audio

pytestmark = pytest.mark.sip


def test_agent_answers_plays_records_hangs_up_and_fills_the_store(
    kamailio: Kamailio, sip_user: str, tmp_path: Path
) -> None:
    wav = tmp_path / "greeting.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, 2.0))
    rtp = free_port_block(10)
    (tmp_path / "config.toml").write_text(
        f'[sip]\nserver = "127.0.0.1"\nport = {kamailio.port}\nusername = "{sip_user}"\npassword = "{PASSWORD}"\n'
        f'bind_ip = "127.0.0.1"\nsip_port = {free_udp_port()}\nrtp_port_min = {rtp}\nrtp_port_max = {rtp + 9}\n'
        f'[logging]\nfile = "{tmp_path / "hotline.log"}"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "hotline.sqlite3"}"\n'
    )
    cmd = [
        sys.executable,
        "-m",
        "console.cli",
        "agent",
        "--config",
        str(tmp_path / "config.toml"),
        "--answer-after",
        "0",
        "--hangup-after",
        "3",
        "--play",
        str(wav),
        "--record",
        str(tmp_path / "rec"),
        "--max-calls",
        "1",
        "--duration",
        "25",
    ]
    agent = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    citizen = None
    try:
        first = agent.stdout.readline()  # type: ignore[union-attr]  # bounded: --duration 25
        assert json.loads(first)["event"] == "registered", first + agent.stderr.read()  # type: ignore[union-attr]
        citizen = Sipp(
            tmp_path / "sipp",
            scenario("citizen_call.xml", hangup="local", dtmf=True),
            [
                f"127.0.0.1:{kamailio.port}",
                "-s",
                sip_user,
                "-m",
                "1",
                "-p",
                str(free_udp_port()),
                "-key",
                "codecs",
                "0 101",
                "-key",
                "hdr",
                "X-Rig: 1",
            ],
        ).start()
        out, err = agent.communicate(timeout=40)
        assert citizen.wait(20) == 0, citizen.report()
    finally:
        kill_group(agent)  # type: ignore[arg-type]
        if citizen:
            citizen.stop()
    assert agent.returncode == 0, err
    events = [json.loads(line) for line in (first + out).splitlines()]
    names = [e["event"] for e in events]
    assert names[:1] == ["registered"] and "call_offered" in names and names[-1] == "call_ended", names
    offered = next(e for e in events if e["event"] == "call_offered")
    assert offered["caller"] == "13800138100" and offered["t"] >= 0
    end = events[-1]
    assert end["reason"] == "local_hangup" and end["call_id"] == offered["call_id"]
    assert all({"event", "t"} <= e.keys() for e in events)
    heard = audio.read_wav_pcm16(tmp_path / "rec" / f"{end['call_id']}-rx.wav")
    sent = audio.read_wav_pcm16(tmp_path / "rec" / f"{end['call_id']}-tx.wav")
    assert audio.goertzel_share(heard[: audio.RATE * 2], 1000) > 0.8
    assert audio.goertzel_share(sent[: audio.RATE * 2], 440) > 0.8
    # the call and its events are in the store, as the console would have written them
    store = open_store(f"sqlite:///{tmp_path / 'hotline.sqlite3'}", migrate=False)
    try:
        with store.read() as s:
            call = s.get(Call, end["call_id"])
            assert call is not None and call.direction == "in" and call.remote_number == "13800138100"
            assert call.caller_id is not None and call.answered_at is not None
            assert call.end_reason == "local_hangup" and call.ended_at > call.answered_at >= call.offered_at
            assert call.recording_path == str((tmp_path / "rec" / end["call_id"]).resolve())
            kinds = [e.kind for e in calls.call_events(s, end["call_id"])]
            digits = "".join(
                e.data["digit"] for e in calls.call_events(s, end["call_id"]) if e.kind == "dtmf"
            )
    finally:
        store.close()
    assert kinds[:2] == ["offered", "answered"] and kinds[-1] == "ended", kinds
    if IS_ROOT:  # sipp plays the RFC 2833 digits from a pcap, which needs a raw socket
        assert digits == "42" == "".join(e["digit"] for e in events if e["event"] == "dtmf")
    assert (
        "secret" not in (tmp_path / "hotline.log").read_text()
        if (tmp_path / "hotline.log").exists()
        else True
    )
