"""The adapter boundary between the store's sync worker and a city backend.

The worker (store/sync.py) only knows ``BackendClient``; Open311 (store/open311_client.py) is one
implementation, and a city with another API needs another adapter, not another store. An adapter
raises ``BackendUnavailable`` for what retrying can fix (5xx, 408/429, timeouts, refused or reset
connections) and ``BackendRejected`` for a request the server will never accept as sent (other 4xx).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class BackendError(Exception):
    """A call to the city backend failed; ``message`` is safe to show and to log (no personal data)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BackendUnavailable(BackendError):
    """Down, overloaded or slow: retry later (after ``retry_after`` seconds when the server said so)."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status  # the HTTP status when the server answered; None: no answer (down, timeout)


class BackendRejected(BackendError):
    """The server refused this request (a 4xx retrying cannot fix); ``message`` is the server's."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RemoteUpdate:
    """One entry of the backend's update feed (a department's action on a request)."""

    update_id: str
    backend_id: str
    client_request_id: str | None
    action: str  # accept / start / reply / close / return / request_extension / a hotline command
    source: str  # "department": to apply here; "hotline": our own change echoed back
    description: str
    extension_days: int | None = None


class BackendClient(Protocol):
    """What the sync worker needs from a city backend. Every call is idempotent on its key."""

    def create(self, ticket: Mapping[str, Any]) -> str:
        """Open a request for ``ticket`` (the outbox payload's ``ticket``); return the backend's id.

        Idempotent on ``ticket["client_request_id"]``: a retry returns the same id.
        """
        ...

    def update(self, backend_id: str, payload: Mapping[str, Any], idempotency_key: str) -> None:
        """Report one change of ours (the outbox payload of a lifecycle command)."""
        ...

    def updates_after(self, cursor: str | None, limit: int) -> Sequence[RemoteUpdate]:
        """The feed's entries after ``cursor`` (None: from the start), oldest first, at most ``limit``."""
        ...

    def close(self) -> None: ...
