"""The Open311 GeoReport v2 adapter (with our extensions) over httpx.

Creates are ``POST requests.json`` carrying the ticket's ``client_request_id`` as an attribute (the
reference backend de-duplicates on it); our own changes are ``POST servicerequestupdates.json``
keyed by the outbox key; departments' actions come from ``GET servicerequestupdates.json?after=``.
One ``httpx.Client`` (a connection pool) is shared by the worker's sending threads.
"""

from __future__ import annotations

import email.utils
import os
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from store.backend_client import BackendRejected, BackendUnavailable, RemoteUpdate

RETRYABLE_4XX = frozenset({408, 425, 429})
# ticket fields sent as Open311 attributes (our extensions); the rest map to standard fields
ATTRIBUTE_FIELDS = (
    "client_request_id",
    "number",
    "nature",
    "board",
    "urgency",
    "channel",
    "district",
    "taxonomy_version",
)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def create_form(ticket: Mapping[str, Any], api_key: str, jurisdiction_id: str = "") -> dict[str, str]:
    """The form of ``POST requests.json`` for one outbox ticket payload."""
    location = " ".join(str(ticket[f]) for f in ("district", "street", "address") if ticket.get(f))
    form = {
        "api_key": api_key,
        "service_code": str(ticket.get("leaf_code") or ""),
        "description": str(ticket.get("description") or ""),
        "address_string": location,
    }
    if jurisdiction_id:
        form["jurisdiction_id"] = jurisdiction_id
    if ticket.get("caller_name"):
        form["first_name"] = str(ticket["caller_name"])
    if ticket.get("caller_phone") and ticket.get("callback_consent", True):
        form["phone"] = str(ticket["caller_phone"])
    for name in ATTRIBUTE_FIELDS:
        if ticket.get(name) is not None:
            form[f"attribute[{name}]"] = str(ticket[name])
    return form


class Open311Client:
    """``BackendClient`` for an Open311 server; ``api_key`` never appears in a log or an error."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        jurisdiction_id: str = "",
        max_connections: int = 16,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self._api_key = api_key
        self._jurisdiction_id = jurisdiction_id
        # https: the system's CAs, or the one that signed a city's own certificate
        self._http = httpx.Client(
            verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"Open311Client({str(self._http.base_url)!r})"

    def create(self, ticket: Mapping[str, Any]) -> str:
        body = self._call(
            "POST", "/requests.json", data=create_form(ticket, self._api_key, self._jurisdiction_id)
        )
        try:
            return str(body[0]["service_request_id"])
        except (KeyError, IndexError, TypeError):
            raise BackendUnavailable("the backend's answer to a create has no service_request_id") from None

    def update(self, backend_id: str, payload: Mapping[str, Any], idempotency_key: str) -> None:
        text = " ".join(str(payload.get(k) or "") for k in ("status", "reason")).strip()
        form = {
            "api_key": self._api_key,
            "service_request_id": backend_id,
            "update_id": idempotency_key,
            "status": str(payload.get("command") or "update"),
            "description": text,
        }
        self._call("POST", "/servicerequestupdates.json", data=form)

    def updates_after(self, cursor: str | None, limit: int) -> Sequence[RemoteUpdate]:
        params = {"after": cursor or "0", "page_size": str(limit)}
        body = self._call("GET", "/servicerequestupdates.json", params=params)
        try:
            return [
                RemoteUpdate(
                    update_id=str(u["update_id"]),
                    backend_id=str(u["service_request_id"]),
                    client_request_id=u.get("client_request_id"),
                    action=str(u["action"]),
                    source=str(u.get("source") or "department"),
                    description=str(u.get("description") or ""),
                    extension_days=u.get("extension_days"),
                )
                for u in body
            ]
        except (KeyError, TypeError):
            raise BackendUnavailable("the backend's update feed is not in the expected shape") from None

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise BackendUnavailable(f"{method} {path}: timed out") from None
        except httpx.HTTPError as exc:  # refused, reset, protocol errors, TLS
            raise BackendUnavailable(f"{method} {path}: {type(exc).__name__}{_tls_reason(exc)}") from None
        status = response.status_code
        if status >= 500 or status in RETRYABLE_4XX:
            raise BackendUnavailable(
                f"{method} {path}: HTTP {status} {_description(response)}".strip(),
                parse_retry_after(response.headers.get("retry-after")),
                status,
            )
        if status >= 400:
            raise BackendRejected(f"HTTP {status}: {_description(response)}", status)
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailable(f"{method} {path}: HTTP {status} with a body that is not JSON") from None


def _tls_reason(exc: BaseException) -> str:
    """``: TLS …`` when a TLS failure caused ``exc`` (an untrusted certificate is a setting to fix,
    and the supervisor reading ``last_error`` must be told so), else nothing."""
    seen: BaseException | None = exc
    for _ in range(5):  # the cause chain is short: httpx -> httpcore -> ssl
        if seen is None:
            return ""
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f": TLS certificate not trusted ({seen.verify_message}; see [backend] ca_file)"
        if isinstance(seen, ssl.SSLError):
            return f": TLS {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    return ""


def _description(response: httpx.Response) -> str:
    """The Open311 error's description(s), else the start of the body (servers' text, not ours)."""
    try:
        body = response.json()
        return "; ".join(str(e.get("description", "")) for e in body if isinstance(e, dict))[:500]
    except (ValueError, TypeError, AttributeError):
        return response.text[:200].strip()
