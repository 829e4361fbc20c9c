"""SIP line on pyVoIP 1.6.8, run in a worker process."""

from telephony.sip.config import FIXES, SipConfig
from telephony.sip.line import SipLine

__all__ = ["FIXES", "SipConfig", "SipLine"]
