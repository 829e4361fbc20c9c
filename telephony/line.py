"""The one interface the rest of the program sees for a phone line."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from telephony.events import EventCallback


class LineCommandError(Exception):
    """A command that does not apply (unknown call, wrong state)."""


@runtime_checkable
class Line(Protocol):
    """A phone line delivering events asynchronously and taking commands.

    Events are delivered by calling ``on_event`` from a line thread, never from the caller's thread;
    commands return at once and their effect arrives as events (``call_answered``, ``call_ended``...).
    Commands on an unknown or ended call raise :class:`LineCommandError`.
    """

    def start(self, on_event: EventCallback) -> None: ...

    def stop(self) -> None: ...

    def answer(self, call_id: str) -> None: ...

    def reject(self, call_id: str, code: int = 486) -> None: ...

    def hangup(self, call_id: str) -> None: ...

    def hold(self, call_id: str) -> None: ...

    def resume(self, call_id: str) -> None: ...

    def mute(self, call_id: str, on: bool) -> None: ...

    def send_dtmf(self, call_id: str, digits: str) -> None: ...

    def blind_transfer(self, call_id: str, target: str) -> None: ...

    def attended_transfer(self, call_id: str, consult_call_id: str) -> None:
        """Connect the peer of ``call_id`` to the peer of ``consult_call_id`` (both answered; the
        consultation call is usually one we dialled). On success: ``call_transferred`` (with
        ``replaces``) and the end of ``call_id``; the consultation ends when the target drops it.
        A peer without Replaces support gives an ``error`` event and nothing changes."""
        ...

    def dial(self, number: str) -> str: ...
