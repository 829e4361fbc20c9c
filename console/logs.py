"""Structured logs: JSON lines to a rotating file, readable lines on stderr for CLI commands.

Both structlog loggers and plain stdlib loggers (pyVoIP, SQLAlchemy, alembic ...) go through the
same handlers and the same processors, the last of which is a ``Redactor``: values under secret-looking
keys are replaced, every configured secret string is cut out of every string value, and citizens'
phone numbers are masked (``13812345678`` → ``138****5678``), recursively, in every event.

Configure once per process with ``configure_logging``; ``reset_logging`` undoes it (tests).
An event logged with ``file_only=True`` is written to the file but not to stderr (the CLI prints its
own one-line message for a crash; the traceback belongs in the file).
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from console.config import LoggingConfig
from store.callers import mask_phone
from telephony.redact import redact_text as redact_sip_text

REDACTED = "[REDACTED]"
# keys whose values are secrets whatever they hold (matched anywhere in the key, any case)
SECRET_KEY_RE = re.compile(
    r"passw(or)?d|passwd|secret|api[_-]?key|token|authori[sz]ation|cookie", re.IGNORECASE
)

# Finding numbers in free text (store.callers.mask_phone masks one number): mainland mobiles,
# optionally +86 / 0086 / 86 prefixed and split 3-4-4; landlines 0xx(x)-xxxxxxx(x), (0412)5551234.
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9A-Za-z])")
_LANDLINE_RE = re.compile(r"(?<![0-9A-Za-z])\(?0\d{2,3}\)?[- ]?\d{7,8}(?![0-9A-Za-z])")
# secrets inside free text (SIP Authorization headers and digest parameters: telephony.redact):
# URL passwords, key=value pairs
_URL_PASSWORD_RE = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(?=@)")
_KEY_VALUE_RE = re.compile(
    r"(?i)(?P<pre>\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*)(?P<val>\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)


def mask_phones(text: str) -> str:
    """Mask every citizen phone number found in free text, the way the store masks one (138****5678)."""
    text = _MOBILE_RE.sub(lambda m: mask_phone(m[0]) or "", text)
    return _LANDLINE_RE.sub(lambda m: mask_phone(m[0]) or "", text)


class Redactor:
    """structlog processor: redact secrets and mask phone numbers in every value, recursively."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first, so a secret containing another is cut out whole
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        return {key: self._value(key, value) for key, value in event_dict.items()}

    def _value(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and SECRET_KEY_RE.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(None, v) for v in value]
        # anything else would be rendered through its repr/str: redact that text
        return self.text(str(value))

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        value = _URL_PASSWORD_RE.sub(lambda m: f"{m['pre']}{REDACTED}", value)
        value = redact_sip_text(value)
        value = _KEY_VALUE_RE.sub(lambda m: f"{m['pre']}{REDACTED}", value)
        return mask_phones(value)


_OUR_HANDLER = "_hotline_handler"
FILE_ONLY = "file_only"


def configure_logging(
    cfg: LoggingConfig,
    *,
    cli: bool,
    secrets: Iterable[str] = (),
    verbosity: int = 0,
    to_file: bool = True,
) -> None:
    """Send structlog and stdlib logging to the rotating JSON file (and, for the CLI, to stderr).

    ``secrets``: the configured secret values (``Config.secrets()``), cut out of every line.
    ``verbosity``: each step lowers the stderr level (WARNING → INFO → DEBUG).
    Raises OSError when the log file cannot be opened (the caller decides what to do).
    """
    redactor = Redactor(secrets)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    shared: list[Processor] = [
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        timestamper,
    ]
    handlers: list[logging.Handler] = []
    if to_file:
        path = cfg.resolved_file
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=cfg.max_bytes, backupCount=cfg.backups, encoding="utf-8"
        )
        file_handler.setLevel(cfg.level)
        file_handler.setFormatter(
            _formatter(shared, redactor, structlog.processors.JSONRenderer(ensure_ascii=False))
        )
        handlers.append(file_handler)
    if cli:
        stderr_handler = logging.StreamHandler(sys.stderr)
        stderr_handler.setLevel(_lowered(cfg.console_level, verbosity))
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), sort_keys=False)
        stderr_handler.setFormatter(_formatter(shared, redactor, renderer))
        stderr_handler.addFilter(_not_file_only)
        handlers.append(stderr_handler)

    root = logging.getLogger()
    _remove_our_handlers(root)
    for handler in handlers:
        setattr(handler, _OUR_HANDLER, True)
        root.addHandler(handler)
    root.setLevel(min((h.level for h in handlers), default=logging.WARNING))
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # loggers made at import time must follow a later reconfiguration (tests, CLI then app)
        cache_logger_on_first_use=False,
    )


def _not_file_only(record: logging.LogRecord) -> bool:
    """Events logged with ``file_only=True`` (e.g. a crash's traceback) stay out of stderr."""
    return not (isinstance(record.msg, dict) and record.msg.get(FILE_ONLY))


def reset_logging() -> None:
    """Undo configure_logging: close our handlers, restore structlog's defaults."""
    _remove_our_handlers(logging.getLogger())
    logging.captureWarnings(False)
    structlog.reset_defaults()


def _formatter(shared: list[Processor], redactor: Redactor, renderer: Processor) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # tracebacks become a string first, so the redactor sees them too
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )


def _lowered(level: str, steps: int) -> int:
    order = [logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG]
    base = logging.getLevelName(level)
    index = order.index(base) if base in order else 1
    return order[min(index + max(steps, 0), len(order) - 1)]


def _remove_our_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, _OUR_HANDLER, False):
            root.removeHandler(handler)
            handler.close()
