"""Configuration of a SIP line (plain data; the console maps its ``[sip]`` section onto it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Codec = Literal["PCMA", "PCMU"]
DtmfMode = Literal["rfc4733", "inband"]
CODECS: tuple[Codec, ...] = ("PCMA", "PCMU")

# Each workaround of a pyVoIP 1.6.8 defect (see research/pyvoip.md) can be switched off one by one,
# so every rig test can be shown to fail on plain pyVoIP behaviour.
FIXES: dict[str, str] = {
    "callid": "random Call-IDs (pyVoIP: sha256 of a counter starting at 1 on every start)",
    "qop": "digest qop=auth (pyVoIP ignores qop and is refused)",
    "expires": "refresh within the expiry the registrar granted (pyVoIP: always after 115 s)",
    "offer_delay": "offer the call at once (pyVoIP: hard-coded 1 s Timer before the callback)",
    "cancel": "CANCEL while ringing -> 487, call ends, never answerable (pyVoIP: stays RINGING)",
    "options": "answer OPTIONS 200 and unknown methods 405 (pyVoIP: silence)",
    "parser": "strict reader + rewrite for pyVoIP (pyVoIP: IndexError on 'Supported:' and others)",
    "ghost": "only the registrar/proxy address may ring us; others get 403 and call_rejected",
    "contact": "our own Contact in 180/486 (pyVoIP copies the caller's)",
    "bye": "BYE with our own Via/branch, retransmitted until answered (pyVoIP copies the peer's Via)",
    "pcma": "real A-law when PCMA is negotiated (pyVoIP sends u-law bytes labelled PT 8)",
    "dtmf_bounds": "telephone-event codes > 15 ignored (pyVoIP: IndexError kills the RTP receiver)",
    "reinvite": "re-INVITE answered with the direction asked (hold) and events; pyVoIP answers sendrecv",
    "watchdog": "OPTIONS keep-alive to the registrar; re-register as soon as it is back (pyVoIP: next refresh)",
    "cleanup": "ended calls and their RTP ports released at once (pyVoIP keeps them forever)",
    "codecs": "488 when the offer has no PCMU/PCMA (pyVoIP: crashes in its RTP thread)",
}


@dataclass(frozen=True)
class SipConfig:
    server: str
    username: str
    password: str = field(repr=False)
    port: int = 5060
    auth_username: str = ""  # digest user when it differs from the extension
    domain: str = ""  # SIP domain of the AOR when it differs from the server
    bind_ip: str = "127.0.0.1"
    sip_port: int = 5070
    rtp_port_min: int = 20000
    rtp_port_max: int = 20999
    expires: int = 300
    register_timeout: float = 10.0  # seconds a REGISTER waits for the registrar's final answer
    display_name: str = ""  # the From display name of our REGISTER and outbound INVITEs
    codecs: tuple[Codec, ...] = CODECS  # our preference, first = best, in our SDP offer and answer
    dtmf_mode: DtmfMode = "rfc4733"  # how digits are sent and received
    max_ringing_s: float = 120.0
    record_dir: str | None = None
    play_wav: str | None = None
    audio_device: str | None = None  # the local sound device ("default" or a name/index); needs [audio]
    log_level: str = "info"
    disabled_fixes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.codecs or not set(self.codecs) <= set(CODECS):
            raise ValueError(f"codecs: expected some of {', '.join(CODECS)}, got {self.codecs!r}")
        if self.dtmf_mode not in ("rfc4733", "inband"):
            raise ValueError(f"dtmf_mode: expected rfc4733 or inband, got {self.dtmf_mode!r}")
        if self.register_timeout <= 0:
            raise ValueError(f"register_timeout: expected seconds > 0, got {self.register_timeout!r}")

    def fix(self, name: str) -> bool:
        """Is the workaround ``name`` active?"""
        if name not in FIXES:
            raise KeyError(name)
        return name not in self.disabled_fixes and "all" not in self.disabled_fixes

    def to_wire(self) -> dict[str, Any]:
        d = asdict(self)
        d["disabled_fixes"] = sorted(self.disabled_fixes)
        d["codecs"] = list(self.codecs)
        return d

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> SipConfig:
        return cls(
            **{
                **d,
                "disabled_fixes": frozenset(d.get("disabled_fixes", ())),
                "codecs": tuple(d.get("codecs", CODECS)),
            }
        )
