"""The few SDP facts we act on (RFC 4566 / 3264): media address, payloads, direction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

STATIC_CODECS = {"0": "PCMU", "8": "PCMA"}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


@dataclass(frozen=True)
class AudioOffer:
    address: str
    port: int
    payloads: tuple[str, ...]
    rtpmap: dict[str, str] = field(default_factory=dict)  # pt -> encoding name, upper-case
    direction: str = "sendrecv"

    def codec_names(self) -> list[str]:
        return [self.rtpmap.get(pt) or STATIC_CODECS.get(pt, "?") for pt in self.payloads]

    def first_g711(self) -> str | None:
        """The first PCMU/PCMA in the offerer's order, as a name."""
        return next((n for n in self.codec_names() if n in ("PCMU", "PCMA")), None)

    def best_codec(self, ours: Sequence[str]) -> str | None:
        """Our most preferred codec (``ours``, best first) that the offer has too, as a name."""
        offered = set(self.codec_names())
        return next((name for name in ours if name in offered), None)

    @property
    def on_hold(self) -> bool:
        return self.direction in ("sendonly", "inactive") or self.address in ("0.0.0.0", "")


def parse_audio(body: bytes | str) -> AudioOffer | None:
    """The first audio m-line of an SDP body, or None when there is none."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    session_addr, session_dir = "", "sendrecv"
    media: dict[str, Any] | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if media is not None:
                break  # only the first audio stream matters to us
            parts = value.split()
            if len(parts) < 4 or parts[0] != "audio" or not parts[1].split("/")[0].isdigit():
                continue
            media = {"port": int(parts[1].split("/")[0]), "payloads": tuple(parts[3:]), "rtpmap": {}}
        elif kind == "c":
            parts = value.split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if media is None:
                session_addr = addr
            else:
                media["address"] = addr
        elif kind == "a":
            attr, _, val = value.partition(":")
            if attr in DIRECTIONS:
                if media is None:
                    session_dir = attr
                else:
                    media["direction"] = attr
            elif attr == "rtpmap" and media is not None:
                pt, _, enc = val.partition(" ")
                media["rtpmap"][pt] = enc.split("/")[0].upper()
    if media is None:
        return None
    return AudioOffer(
        address=media.get("address", session_addr),
        port=media["port"],
        payloads=media["payloads"],
        rtpmap=media["rtpmap"],
        direction=media.get("direction", session_dir),
    )


ANSWER_DIRECTION = {
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
    "sendrecv": "sendrecv",
}


def build_audio_sdp(
    ip: str,
    port: int,
    session_id: str,
    version: int,
    payloads: dict[int, str],
    direction: str = "sendrecv",
    origin_user: str = "hotline",
) -> bytes:
    """Our SDP (offer or answer): one audio stream, payload type -> encoding name in preference order."""
    lines = [
        "v=0",
        f"o={origin_user} {session_id} {version} IN IP4 {ip}",
        "s=hotline",
        f"c=IN IP4 {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in payloads)}",
    ]
    for pt, name in payloads.items():
        lines.append(f"a=rtpmap:{pt} {name}/8000")
        if name.lower() == "telephone-event":
            lines.append(f"a=fmtp:{pt} 0-16")
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()
