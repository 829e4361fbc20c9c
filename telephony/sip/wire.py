"""What goes up the SIP worker's pipe: the line's typed events, and the worker's own control messages.

Events are the frozen dataclasses of :mod:`telephony.events` (pickled by ``multiprocessing``; the
host stamps ``t`` on receipt). :class:`Control` is the worker talking about itself, never delivered
to the line's owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from telephony.events import Event

LogValue = str | int | float | bool | None
ControlKind = Literal["pong", "log", "fatal", "stopped"]


@dataclass(frozen=True)
class Control:
    """``pong``: answer to the host's ping (hang detector); ``log``: one structlog record for the
    host's logging; ``fatal``: the worker cannot start SIP (restart only with backoff); ``stopped``:
    the worker's last message."""

    kind: ControlKind
    record: dict[str, LogValue] = field(default_factory=dict)


Uplink = Event | Control
