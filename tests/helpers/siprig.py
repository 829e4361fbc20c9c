"""Loopback SIP rig for the telephony tests: kamailio and sipp started and stopped by the tests.

Everything binds 127.0.0.1 on free ports; every wait is bounded; every process runs in its own
process group and is killed with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony import audio
from telephony.events import CallEnded, CallOffered, Event
from telephony.sip import SipConfig, SipLine

RIG = Path(__file__).resolve().parents[1] / "telephony" / "rig"
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
PASSWORD = "secret"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def disabled_fixes_from_env() -> frozenset[str]:
    """HOTLINE_SIP_DISABLE_FIXES=cancel,options (or all): run the rig against plain pyVoIP behaviour."""
    raw = os.environ.get("HOTLINE_SIP_DISABLE_FIXES", "")
    return frozenset(x.strip() for x in raw.split(",") if x.strip())


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_tcp_port() -> int:
    """A port free on both UDP and TCP (baresip binds its SIP port on both); bounded tries."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free on both UDP and TCP")


def free_port_block(size: int) -> int:
    """The first port of ``size`` consecutive free UDP ports (tried a bounded number of times)."""
    for _ in range(50):
        base = free_udp_port() & ~1
        if base + size > 65000:
            continue
        socks = []
        try:
            for p in range(base, base + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free UDP ports")


def kill_group(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def udp_ping(port: int, timeout: float = 0.3) -> bool:
    """Does a SIP server answer an OPTIONS on 127.0.0.1:port?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        me = s.getsockname()[1]
        s.sendto(
            (
                f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKping{me}\r\n"
                f"From: <sip:ping@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: ping{me}\r\n"
                "CSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        try:
            return s.recv(4096).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


@dataclass
class Kamailio:
    workdir: Path
    qop: bool = True
    max_expires: int = 3600
    invite_auth: bool = True
    port: int = 0
    uas_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 8.0) -> Kamailio:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_udp_port()
        self.uas_port = self.uas_port or free_udp_port()
        cfg = (RIG / "kamailio.cfg.in").read_text()
        for key, value in {
            "PORT": self.port,
            "UAS_PORT": self.uas_port,
            "QOP": 1 if self.qop else 0,
            "MAX_EXPIRES": self.max_expires,
            "INVITE_AUTH": 1 if self.invite_auth else 0,
            "MPATH": KAMAILIO_MODULES,
        }.items():
            cfg = cfg.replace(f"@@{key}@@", str(value))
        (self.workdir / "kamailio.cfg").write_text(cfg)
        run = self.workdir / "run"
        run.mkdir(exist_ok=True)
        log = (self.workdir / "kamailio.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "kamailio",
                "-f",
                str(self.workdir / "kamailio.cfg"),
                "-DD",
                "-E",
                "-m",
                "32",
                "-M",
                "4",
                "-Y",
                str(run),
                "-P",
                str(run / "kamailio.pid"),
                "-w",
                str(run),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited: {(self.workdir / 'kamailio.log').read_text()[-2000:]}")
            if udp_ping(self.port):
                return self
        self.stop()
        raise RuntimeError("kamailio did not answer OPTIONS in time")

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None

    def log_text(self) -> str:
        return (self.workdir / "kamailio.log").read_text(errors="replace")


@dataclass
class Sipp:
    """One sipp run (``-m 1`` unless told), started in the background; ``wait()`` returns its exit code."""

    workdir: Path
    scenario: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # more files for the scenario (e.g. a WAV)

    def start(self, timeout_s: int = 20) -> Sipp:
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(RIG / "tone1k_ulaw.wav", self.workdir / "tone1k_ulaw.wav")
        for name, data in self.files.items():
            (self.workdir / name).write_bytes(data)
        (self.workdir / "scenario.xml").write_text(self.scenario)
        out = (self.workdir / "sipp.out").open("wb")
        self.proc = subprocess.Popen(
            [
                "timeout",
                "-k",
                "2",
                str(timeout_s + 5),
                "sipp",
                *self.args,
                "-sf",
                "scenario.xml",
                "-i",
                "127.0.0.1",
                "-timeout",
                f"{timeout_s}s",
                "-timeout_error",
                "-nostdin",
                "-trace_err",
                "-trace_msg",
            ],
            cwd=self.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        return self

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            return -1

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)

    def messages(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*_messages.log")))

    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*_errors.log")))

    def report(self) -> str:
        out = (self.workdir / "sipp.out").read_text(errors="replace")
        return f"--- sipp.out\n{out[-3000:]}\n--- errors\n{self.errors()[-3000:]}"


def ulaw_wav(pcm16: bytes) -> bytes:
    """8 kHz G.711 u-law in a WAV file (format 7), what sipp's ``rtp_stream`` plays."""
    data = audio.ulaw_encode(pcm16)
    fmt = struct.pack("<HHIIHHH", 7, 1, audio.RATE, audio.RATE, 1, 8, 0)
    fact = struct.pack("<I", len(data))
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", len(fact))
        + fact
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sdp_answer_payloads(messages: str) -> list[str]:
    """The payload types of the line's SDP (``o=pyVoIP``) in a sipp messages log, in their order."""
    m = re.search(r"o=pyVoIP [^\n]*\n(?:[^\n]*\n)*?m=audio \d+ RTP/AVP ([0-9 ]+)", messages)
    assert m is not None, messages[-3000:]
    return m.group(1).split()


def scenario(name: str, *, hangup: str | None = None, dtmf: bool = False) -> str:
    """A scenario of rig/, with the HANGUP and DTMF placeholders filled in."""
    text = (RIG / name).read_text()
    dtmf_xml = ""
    if dtmf and IS_ROOT:  # play_pcap_audio needs a raw socket
        dtmf_xml = "".join(
            f'<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_{d}.pcap" /></action></nop>'
            '<pause milliseconds="600" />'
            for d in ("4", "2")
        )
    text = text.replace("<!--DTMF-->", dtmf_xml)
    if hangup == "remote":
        text = text.replace("<!--HANGUP-->", _REMOTE_BYE)
    elif hangup == "local":  # wait for the line's BYE from the moment the call is up
        text = text.replace('<pause milliseconds="1500" />', "").replace("<!--HANGUP-->", _WAIT_BYE)
    return text


_REMOTE_BYE = """
  <pause />
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Citizen [call_number]" <sip:13800138[call_number]00@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:138001380[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true" />
"""
_WAIT_BYE = """
  <recv request="BYE" timeout="10000" />
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


@dataclass
class EventLog:
    """Collects a line's events; ``wait_for`` blocks (bounded) until one matches."""

    events: list[Event] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    on_offer: Callable[[CallOffered], None] | None = None

    def __call__(self, event: Event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
        if isinstance(event, CallOffered) and self.on_offer is not None:
            self.on_offer(event)

    def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def named(self, name: str) -> list[Event]:
        with self.cond:
            return [e for e in self.events if e.name == name]


def line_config(kam: Kamailio, username: str, tmp: Path, **kw: object) -> SipConfig:
    rtp = free_port_block(20)
    params: dict[str, object] = {
        "server": "127.0.0.1",
        "port": kam.port,
        "username": username,
        "password": PASSWORD,
        "bind_ip": "127.0.0.1",
        "sip_port": free_udp_port(),
        "rtp_port_min": rtp,
        "rtp_port_max": rtp + 19,
        "record_dir": str(tmp / "rec"),
        "log_level": "debug",
        "disabled_fixes": disabled_fixes_from_env(),
    }
    params.update(kw)
    return SipConfig(**params)  # type: ignore[arg-type]


def started_line(cfg: SipConfig, log: EventLog) -> SipLine:
    line = SipLine(cfg)
    line.start(log)
    return line


@dataclass
class Baresip:
    """baresip as a real softphone registered at the rig's kamailio (``-t`` bounds its life)."""

    workdir: Path
    kam: Kamailio
    user: str = "2001"
    proc: subprocess.Popen[bytes] | None = None

    def start(self, seconds: int, *commands: str, attempts: int = 3) -> Baresip:
        """Start baresip and wait (bounded) until it is ready; ports someone took meanwhile are
        picked again (its SIP port is bound on TCP as well as UDP)."""
        for _ in range(attempts):
            self._spawn(seconds, commands)
            if self._wait_ready():
                return self
            self.stop()
            if "Address already in use" not in self.output():
                break
        raise RuntimeError(f"baresip did not start:\n{self.output()[-2000:]}")

    def _spawn(self, seconds: int, commands: tuple[str, ...]) -> None:
        conf = self.workdir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        dumps = self.workdir / "dumps"
        dumps.mkdir(exist_ok=True)
        rtp = free_port_block(20)
        values = {
            "SIP_PORT": free_udp_tcp_port(),
            "RTP_MIN": rtp,
            "RTP_MAX": rtp + 19,
            "DUMP_DIR": dumps,
            "USER": self.user,
            "KAM_PORT": self.kam.port,
        }
        for name in ("config", "accounts"):
            text = (RIG / "baresip" / f"{name}.in").read_text()
            for key, value in values.items():
                text = text.replace(f"@@{key}@@", str(value))
            (conf / name).write_text(text)
        args = ["timeout", "-k", "2", str(seconds + 10), "baresip", "-f", str(conf), "-t", str(seconds)]
        for cmd in commands:
            args += ["-e", cmd]
        out = (self.workdir / "baresip.out").open("wb")
        self.proc = subprocess.Popen(
            args,
            cwd=dumps,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if "baresip is ready." in text:
                return True
            if self.proc.poll() is not None or "init failed" in text:
                return False
            time.sleep(0.05)
        return False

    def wait(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            return -1

    def stop(self, grace: float = 10.0) -> None:
        """Let baresip end its calls and close its WAV dumps, then make sure it is gone.

        ONE SIGTERM, to ``timeout``, which relays it: baresip takes a second signal as "exit now",
        skipping the call teardown that writes the dumps' final WAV header (read before that, a dump
        says "fmt chunk and/or data chunk missing")."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(grace)
        kill_group(self.proc)  # a no-op once it exited; else (or a stray child) killed

    def output(self) -> str:
        return (self.workdir / "baresip.out").read_text(errors="replace")

    def decoded_audio(self) -> bytes:
        """What baresip heard (its sndfile dump of decoded audio), as 8 kHz PCM; after ``stop()``
        (baresip writes the dump's final header when it ends the call)."""
        assert self.proc is not None and self.proc.poll() is not None, (
            "stop() baresip before reading its dumps"
        )
        dumps = sorted((self.workdir / "dumps").glob("dump-*-dec.wav"))
        return audio.read_wav_pcm16(dumps[0]) if dumps else b""


def via_kamailio(kam: Kamailio, user: str, *extra: str) -> list[str]:
    return [f"127.0.0.1:{kam.port}", "-s", user, "-m", "1", *extra]


def recording(tmp_path: Path, call_id: str, direction: str) -> bytes:
    return audio.read_wav_pcm16(tmp_path / "rec" / f"{call_id}-{direction}.wav")


def ended(log: EventLog, timeout: float = 10) -> CallEnded:
    ev = log.wait_for(lambda e: isinstance(e, CallEnded), timeout)
    assert isinstance(ev, CallEnded), f"no call_ended: {log.events}"
    return ev


def uas(kam: Kamailio, tmp_path: Path, name: str, *extra: str) -> Sipp:
    """The citizen's phone on the port kamailio sends 0-numbers to."""
    return Sipp(
        tmp_path / f"uas-{name}", scenario(name), ["-p", str(kam.uas_port), "-m", "1", *extra]
    ).start()
