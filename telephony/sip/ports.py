"""The narrow seams between the SIP worker's parts, so none of them holds another's class.

``HotlineSIPClient`` (client) reaches the phone only through :class:`PhoneHooks`; ``HotlinePhone``
and its calls (phone) reach the call manager only through :class:`CallHost`; everything that
reports to the host process does it through :class:`EventSink`. The imports run one way:
ports <- client <- phone <- outbound <- calls <- worker.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
from pyVoIP import SIP
from pyVoIP.VoIP.status import PhoneStatus

from telephony.audio import AudioSource
from telephony.events import Event
from telephony.sip.message import SipMessage

CallT_contra = TypeVar("CallT_contra", contravariant=True)


class EventSink(Protocol):
    """Where the worker's typed events go (up the pipe to :class:`telephony.sip.line.SipLine`)."""

    def emit(self, event: Event) -> None: ...


class PhoneHooks(Protocol):
    """What the SIP transport hands on to the phone: in-dialog requests, stray INVITE answers, and
    the registration state it keeps for pyVoIP's ``get_status()``."""

    def callback(self, request: SIP.SIPMessage) -> None:
        """pyVoIP's dispatch of a request it parsed (INVITE, and responses on the plain-pyVoIP path)."""
        ...

    def fatal(self) -> None: ...

    def on_bye(self, request: SIP.SIPMessage) -> None: ...

    def on_cancel(self, msg: SipMessage) -> bool:
        """CANCEL of a ringing call; False when no such call exists."""
        ...

    def on_invite_response(self, msg: SipMessage) -> None:
        """A final answer to an INVITE whose transaction is over (a retransmitted 2xx)."""
        ...

    def has_call(self, sip_call_id: str) -> bool: ...

    def get_status(self) -> PhoneStatus: ...

    def set_status(self, status: PhoneStatus) -> None: ...


class CallHost(Protocol[CallT_contra]):
    """The owner of the calls' sessions (``telephony.sip.calls.CallManager``), typed by the call
    class it hosts so this module needs none of them."""

    def on_new_call(self, call: CallT_contra) -> None:
        """An incoming call is ringing: offer it and start its session."""
        ...

    def start_session(self, call: CallT_contra) -> None:
        """Pump the media and watch the end of a call (incoming or outbound)."""
        ...

    def player_for(self, call: CallT_contra) -> AudioSource | None:
        """What an answered call sends to the far end."""
        ...
