"""Small pieces of the ticket form: fields that clean what is pasted, the read-back digits, and the
retry loop that waits out a locked store while saving (runs in the form's worker thread)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from rich.align import Align, AlignMethod
from rich.console import Group
from textual import events
from textual.app import RenderResult
from textual.geometry import Size
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits, Input, TextArea

from console.services.intake import clean_text
from console.services.ticket_service import GateRefused
from console.widgets.ticket_form_text import describe_problem
from store.db import StoreError
from store.lifecycle import LifecycleError
from store.tickets import TicketError

log = structlog.get_logger(__name__)

SAVE_RETRY_DELAYS = (0.3, 0.6, 1.2, 2.4)  # a store locked for a second or two is waited out


class CleanTextArea(TextArea):
    """A text box whose pastes lose control characters (terminal escapes copied along with text)."""

    async def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # handlers run along the MRO: TextArea's own would insert the raw text
        await super()._on_paste(events.Paste(clean_text(event.text, multiline=True)))


class CleanInput(Input):
    """One-line field: a paste keeps all its lines (joined by spaces), without control characters."""

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()
        super()._on_paste(events.Paste(clean_text(event.text)))


def readback_digits(number: str) -> str:
    """The digits of a ticket number grouped for reading aloud: AS20261128000123 → 20261128 000123."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"{digits[:8]} {digits[8:]}" if len(digits) > 8 else digits


class ReadbackDigits(Digits):
    """Big digits for reading a ticket number aloud. One row when it fits; in a narrower box (the form
    on an 80-column terminal: 15 big digits need 45 cells) the groups of ``readback_digits`` go on
    rows of their own, so no digit is ever cut off."""

    def rows(self, width: int) -> list[str]:
        """The rows of digits shown in a content box ``width`` cells wide (0: not laid out yet)."""
        value = self.value
        if width <= 0 or DigitsRenderable.get_width(value) <= width:
            return [value]
        return value.split() or [value]

    def render(self) -> RenderResult:
        rows = self.rows(self.content_size.width)
        if len(rows) == 1:
            return super().render()
        align = self.styles.text_align
        method: AlignMethod = align if align in ("left", "center", "right") else "left"
        style = self.rich_style
        return Group(*(Align(DigitsRenderable(row, style), method, style) for row in rows))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3 * len(self.rows(width))


def with_retries(run: Callable[[], Any], on_busy: Callable[[str], None]) -> dict[str, Any]:
    """Run a save; a store error (locked, connection lost) is retried with back-off, then reported."""
    for attempt, delay in enumerate((*SAVE_RETRY_DELAYS, None), start=1):
        try:
            out = run()
        except StoreError as exc:
            if delay is None:
                return {"error": str(exc)}
            on_busy(f"{exc} ({attempt}/{len(SAVE_RETRY_DELAYS)})")
            time.sleep(delay)
            continue
        except GateRefused as exc:
            return {"error": str(exc)}
        except (TicketError, LifecycleError) as exc:
            return {"error": describe_problem(str(exc))}
        except Exception as exc:  # a bug must not leave the form stuck in "saving": report it, keep the text
            log.exception("ticket_form.save_crashed")
            return {"error": describe_problem(f"{type(exc).__name__}: {exc}")}
        if isinstance(out, tuple):
            return {"duplicates": out}
        return {"result": out}
    return {"error": "unreachable"}  # pragma: no cover
