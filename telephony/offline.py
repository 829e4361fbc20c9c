"""``OfflineLine``: the line of a console without a phone ([sip] enabled = false, or no SIP stack).

It reports itself down once (``RegistrationFailed`` with the reason) and refuses every command with
:class:`~telephony.line.LineCommandError`, so the console still runs (tickets, worklists) and says why
it cannot take calls.
"""

from __future__ import annotations

from telephony.events import EventCallback, RegistrationFailed
from telephony.line import LineCommandError


class OfflineLine:
    """A :class:`~telephony.line.Line` that is always down (see the module docstring)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def start(self, on_event: EventCallback) -> None:
        on_event(RegistrationFailed(t=0.0, why=self.why))

    def stop(self) -> None:
        pass

    def _refused(self) -> LineCommandError:
        return LineCommandError(f"no phone line ({self.why})")

    def answer(self, call_id: str) -> None:
        raise self._refused()

    def reject(self, call_id: str, code: int = 486) -> None:
        raise self._refused()

    def hangup(self, call_id: str) -> None:
        raise self._refused()

    def hold(self, call_id: str) -> None:
        raise self._refused()

    def resume(self, call_id: str) -> None:
        raise self._refused()

    def mute(self, call_id: str, on: bool) -> None:
        raise self._refused()

    def send_dtmf(self, call_id: str, digits: str) -> None:
        raise self._refused()

    def blind_transfer(self, call_id: str, target: str) -> None:
        raise self._refused()

    def attended_transfer(self, call_id: str, consult_call_id: str) -> None:
        raise self._refused()

    def dial(self, number: str) -> str:
        raise self._refused()
