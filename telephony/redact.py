"""Scrub secrets from anything we log: digest credentials, passwords, citizens' numbers in SIP text.

Kept inside telephony (which imports nothing of ours); the console may reuse the processor.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

_AUTH_HEADER = re.compile(r"(?im)^((?:proxy-)?authorization\s*:).*$")
_AUTH_PARAMS = re.compile(r'(?i)\b(response|cnonce|password|auth_pass|secret)=("[^"]*"|[^\s,;]+)')
_SECRET_KEYS = {"password", "passwd", "secret", "authorization", "proxy_authorization"}


def mask_number(number: str) -> str:
    """138****5678 style: keep the first 3 and last 4 digits of long numbers."""
    if len(number) >= 8:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    if len(number) > 4:
        return number[:2] + "*" * (len(number) - 2)
    return number


def redact_text(text: str) -> str:
    text = _AUTH_HEADER.sub(r"\1 <redacted>", text)
    return _AUTH_PARAMS.sub(r"\1=<redacted>", text)


def redact_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact secret-named keys and secret-looking text in string values."""
    for key, value in list(event_dict.items()):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "<redacted>"
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict
