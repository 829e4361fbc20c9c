"""Typed events a :class:`~telephony.line.Line` delivers to its owner.

Every event is a frozen dataclass with ``t``: seconds on the line's injectable clock, stamped by the
line that delivers it (the SIP worker builds its events with ``t`` left at 0 and
:class:`telephony.sip.line.SipLine` stamps them on receipt). Call events
carry *our* call id (uuid hex), never the SIP Call-ID, so a call keeps its identity across worker
restarts and the console never depends on pyVoIP's bookkeeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Clock = Callable[[], float]
EndReason = Literal["remote_bye", "local_hangup", "cancelled", "rejected", "failed"]
END_REASONS: tuple[str, ...] = ("remote_bye", "local_hangup", "cancelled", "rejected", "failed")


def monotonic_clock() -> Clock:
    """A clock that reads 0.0 when created and counts seconds from then."""
    t0 = time.monotonic()
    return lambda: time.monotonic() - t0


@dataclass(frozen=True)
class Event:
    t: float = field(default=0.0, kw_only=True)

    @property
    def name(self) -> str:
        return EVENT_NAMES[type(self)]

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready dict: ``{"event": name, "t": ..., **fields}``."""
        return {"event": self.name, **asdict(self)}


@dataclass(frozen=True)
class CallEvent(Event):
    call_id: str


@dataclass(frozen=True)
class Registered(Event):
    expires: int = 0


@dataclass(frozen=True)
class RegistrationFailed(Event):
    why: str = ""


@dataclass(frozen=True)
class CallOffered(CallEvent):
    caller: str = ""
    display_name: str = ""


@dataclass(frozen=True)
class CallRinging(CallEvent):
    callee: str = ""


@dataclass(frozen=True)
class CallAnswered(CallEvent):
    codec: str = ""


@dataclass(frozen=True)
class CallHeld(CallEvent):
    by: Literal["local", "remote"] = "remote"


@dataclass(frozen=True)
class CallResumed(CallEvent):
    by: Literal["local", "remote"] = "remote"


@dataclass(frozen=True)
class Dtmf(CallEvent):
    digit: str = ""


@dataclass(frozen=True)
class CallTransferred(CallEvent):
    target: str = ""
    replaces: str = ""  # attended transfer: our id of the consultation call the peer now replaces


@dataclass(frozen=True)
class CallEnded(CallEvent):
    reason: EndReason = "failed"
    detail: str = ""


@dataclass(frozen=True)
class CallRejected(Event):
    """A request we refused before it could ring (ghost call, bad SDP, ...)."""

    source: str = ""
    why: str = ""


@dataclass(frozen=True)
class LineError(Event):
    message: str = ""
    call_id: str | None = field(default=None)


EVENT_NAMES: dict[type[Event], str] = {
    Registered: "registered",
    RegistrationFailed: "registration_failed",
    CallOffered: "call_offered",
    CallRinging: "call_ringing",
    CallAnswered: "call_answered",
    CallHeld: "call_held",
    CallResumed: "call_resumed",
    Dtmf: "dtmf",
    CallTransferred: "call_transferred",
    CallEnded: "call_ended",
    CallRejected: "call_rejected",
    LineError: "error",
}
EVENT_TYPES: dict[str, type[Event]] = {v: k for k, v in EVENT_NAMES.items()}

EventCallback = Callable[[Event], None]


def event_from_dict(data: dict[str, Any], t: float) -> Event:
    """Rebuild an event from its flat dict (``Event.to_dict``), stamped with ``t``."""
    fields = {k: v for k, v in data.items() if k not in ("event", "t")}
    return EVENT_TYPES[data["event"]](t=t, **fields)
