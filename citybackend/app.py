"""The Starlette application: Open311 GeoReport v2 endpoints, the update feed and department actions.

Route functions live at module level and reach the settings through ``request.app.state``, which
``build_app`` fills; the reads and writes are in ``citybackend.records``.
Errors are Open311's ``[{"code", "description"}]`` with the HTTP status; bad input never yields a 500.
Logs carry ids and codes only, never a citizen's name, phone or description.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import sqlalchemy as sa
import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from citybackend.errors import Open311Error, error_response
from citybackend.openapi import openapi_document
from citybackend.records import ACTIONS, Update, append_update, fetch_all, insert_once, utc_now
from citybackend.settings import BackendSettings, Service
from citybackend.tables import requests as requests_t
from citybackend.tables import updates as updates_t

__all__ = ["BackendSettings", "Open311Error", "Service", "build_app"]

log = structlog.get_logger(__name__)

MAX_BODY = 64 * 1024
MAX_FIELD = 4000
MAX_PAGE_SIZE = 1000
CLIENT_ID_ATTRIBUTE = "client_request_id"
FORM = "application/x-www-form-urlencoded"
MAX_EXTENSION_DAYS = 30
CHANGESET = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class _Backend:
    """What the routes read from ``app.state.backend``: the settings and the services by code."""

    settings: BackendSettings
    services: Mapping[str, Service]

    @property
    def engine(self) -> sa.Engine:
        return self.settings.engine


def _backend(request: Request) -> _Backend:
    backend: _Backend = request.app.state.backend  # written once, by build_app
    return backend


# --- request parsing ---------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _parse_date(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Open311Error(400, f"{name} must be an integer between {low} and {high}")
    return int(raw)


def _check_key(given: str | None, backend: _Backend) -> None:
    if not given:
        raise Open311Error(403, "api_key is required")
    # compare against every key (constant time each) so timing does not tell which one nearly matched
    matched = False
    for key in backend.settings.api_keys:
        matched |= hmac.compare_digest(given.encode(), key.encode())
    if not matched:
        raise Open311Error(403, "api_key is invalid")


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM:
        raise Open311Error(415, f"content type must be {FORM}")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise Open311Error(413, f"body larger than {MAX_BODY} bytes")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise Open311Error(413, f"body larger than {MAX_BODY} bytes")
    except ClientDisconnect:  # the client went away mid-body (killed, timed out): nothing to do
        raise Open311Error(400, "the request body was not received in full") from None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Open311Error(400, "body is not valid form-encoded UTF-8") from None
    fields = dict(pairs)
    for name, value in fields.items():
        if len(value) > MAX_FIELD:
            raise Open311Error(400, f"{name[:64]} longer than {MAX_FIELD} characters")
    return fields


def _request_json(row: sa.RowMapping) -> dict[str, object]:
    return {
        "service_request_id": str(row["service_request_id"]),
        "client_request_id": row["client_request_id"],
        "status": row["status"],
        "service_code": row["service_code"],
        "description": row["description"],
        "address": row["address"],
        "requested_datetime": _iso(row["requested_datetime"]),
        "updated_datetime": _iso(row["updated_datetime"]),
    }


def _srid_or_404(raw: str, what: str = "service_request_id") -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise Open311Error(404, f"unknown {what}")
    return int(raw)


# --- Open311 discovery and services ------------------------------------------------------------------


async def discovery(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "changeset": CHANGESET,
            "contact": "12345 hotline",
            "key_service": "ask the city for an api_key",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }
    )


async def list_services(request: Request) -> JSONResponse:
    return JSONResponse(
        [
            {
                "service_code": s.code,
                "service_name": s.name,
                "description": s.name,
                "metadata": bool(s.required_fields),
                "type": "realtime",
                "keywords": "",
                "group": s.group,
            }
            for s in _backend(request).services.values()
        ]
    )


async def service_definition(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    service = _backend(request).services.get(code)
    if service is None:
        raise Open311Error(404, "unknown service_code")
    attributes = [
        {
            "variable": True,
            "code": field,
            "datatype": "string",
            "required": True,
            "datatype_description": field,
            "order": order,
            "description": field,
        }
        for order, field in enumerate(service.required_fields, start=1)
    ]
    return JSONResponse({"service_code": code, "attributes": attributes})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(str(request.base_url).rstrip("/")))


# --- service requests ----------------------------------------------------------------------------------


async def post_request(request: Request) -> JSONResponse:
    backend = _backend(request)
    fields = await _form(request)
    _check_key(fields.get("api_key"), backend)
    code = fields.get("service_code", "")
    if code not in backend.services:
        raise Open311Error(400, "unknown or missing service_code")
    client_id = fields.get(f"attribute[{CLIENT_ID_ATTRIBUTE}]", "").strip()
    if not client_id or len(client_id) > 128:
        raise Open311Error(400, f"attribute[{CLIENT_ID_ATTRIBUTE}] is required (1-128 characters)")
    attributes = {
        k[len("attribute[") : -1]: v
        for k, v in fields.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    now = utc_now()
    values = {
        "client_request_id": client_id,
        "service_code": code,
        "status": "open",
        "description": fields.get("description", ""),
        "address": fields.get("address_string", ""),
        "attributes": attributes,
        "requested_datetime": now,
        "updated_datetime": now,
    }
    srid, created = await run_in_threadpool(insert_once, backend.engine, values)
    log.info("request_received", service_request_id=srid, service_code=code, created=created)
    return JSONResponse(
        [{"service_request_id": str(srid), "client_request_id": client_id, "token": str(srid)}],
        status_code=201 if created else 200,
    )


async def get_requests(request: Request) -> JSONResponse:
    params = request.query_params
    page = _int_param(params, "page", 1, 1, 1_000_000)
    size = _int_param(params, "page_size", 50, 1, MAX_PAGE_SIZE)
    query = sa.select(requests_t).order_by(requests_t.c.service_request_id)
    if params.get("service_request_id"):
        ids = [x for x in params["service_request_id"].split(",") if x.isdigit()]
        query = query.where(requests_t.c.service_request_id.in_([int(x) for x in ids]))
    if params.get("service_code"):
        query = query.where(requests_t.c.service_code.in_(params["service_code"].split(",")))
    if params.get("status"):
        query = query.where(requests_t.c.status.in_(params["status"].split(",")))
    if params.get("start_date"):
        query = query.where(
            requests_t.c.requested_datetime >= _parse_date(params["start_date"], "start_date")
        )
    if params.get("end_date"):
        query = query.where(requests_t.c.requested_datetime <= _parse_date(params["end_date"], "end_date"))
    query = query.limit(size).offset((page - 1) * size)
    rows = await run_in_threadpool(fetch_all, _backend(request).engine, query)
    return JSONResponse([_request_json(r) for r in rows])


async def get_request(request: Request) -> JSONResponse:
    srid = _srid_or_404(request.path_params["srid"])
    query = sa.select(requests_t).where(requests_t.c.service_request_id == srid)
    rows = await run_in_threadpool(fetch_all, _backend(request).engine, query)
    if not rows:
        raise Open311Error(404, "unknown service_request_id")
    return JSONResponse([_request_json(rows[0])])


async def get_token(request: Request) -> JSONResponse:
    # requests are created synchronously, so the token is the service_request_id itself
    raw = request.path_params["token"]
    srid = _srid_or_404(raw, "token")
    query = sa.select(requests_t.c.service_request_id).where(requests_t.c.service_request_id == srid)
    if not await run_in_threadpool(fetch_all, _backend(request).engine, query):
        raise Open311Error(404, "unknown token")
    return JSONResponse([{"service_request_id": raw, "token": raw}])


# --- updates: the feed, the hotline's changes, the departments' actions --------------------------------


async def get_updates(request: Request) -> JSONResponse:
    params = request.query_params
    after = _int_param(params, "after", 0, 0, 2**62)
    size = _int_param(params, "page_size", 100, 1, MAX_PAGE_SIZE)
    query = (
        sa.select(updates_t, requests_t.c.client_request_id)
        .join(requests_t, requests_t.c.service_request_id == updates_t.c.service_request_id)
        .where(updates_t.c.update_id > after)
        .order_by(updates_t.c.update_id)
        .limit(size)
    )
    rows = await run_in_threadpool(fetch_all, _backend(request).engine, query)
    return JSONResponse(
        [
            {
                "update_id": str(r["update_id"]),
                "service_request_id": str(r["service_request_id"]),
                "client_request_id": r["client_request_id"],
                "status": r["status"],
                "action": r["action"],
                "source": r["source"],
                "description": r["description"],
                "extension_days": r["extension_days"],
                "updated_datetime": _iso(r["updated_datetime"]),
            }
            for r in rows
        ]
    )


async def post_update(request: Request) -> JSONResponse:
    # the hotline reports a change of its own (mySociety's POST servicerequestupdates), idempotent
    # on update_id: its outbox key
    backend = _backend(request)
    fields = await _form(request)
    _check_key(fields.get("api_key"), backend)
    raw = fields.get("service_request_id", "")
    if not raw.isdigit() or len(raw) > 18:
        raise Open311Error(400, "service_request_id must be a request id")
    client_update_id = fields.get("update_id", "").strip()
    if not client_update_id or len(client_update_id) > 128:
        raise Open311Error(400, "update_id is required (1-128 characters)")
    action = fields.get("status", "").strip()[:32]
    if not action:
        raise Open311Error(400, "status is required")
    update = Update(int(raw), action, fields.get("description", ""), "hotline", client_update_id)
    update_id = await run_in_threadpool(append_update, backend.engine, update)
    log.info("hotline_update", service_request_id=update.srid, action=action, update_id=update_id)
    return JSONResponse([{"update_id": str(update_id), "service_request_id": raw}], status_code=201)


async def department_action(request: Request) -> JSONResponse:
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise Open311Error(404, "unknown action")
    backend = _backend(request)
    raw = request.path_params["srid"]
    fields = await _form(request)
    _check_key(fields.get("api_key"), backend)
    if action in ("return", "request_extension") and not fields.get("reason", "").strip():
        raise Open311Error(400, f"reason is required to {action.replace('_', ' ')}")
    if action == "reply" and not fields.get("description", "").strip():
        raise Open311Error(400, "description (the answer) is required to reply")
    days = None
    if action == "request_extension":
        days = _int_param(fields, "extension_days", 0, 1, MAX_EXTENSION_DAYS) or None
        if days is None:
            raise Open311Error(400, f"extension_days is required (1-{MAX_EXTENSION_DAYS})")
    srid = _srid_or_404(raw)
    description = fields.get("reason") or fields.get("description", "")
    update = Update(srid, action, description, "department", None, days)
    update_id = await run_in_threadpool(append_update, backend.engine, update)
    log.info("department_action", service_request_id=srid, action=action, update_id=update_id)
    return JSONResponse([{"update_id": str(update_id), "status": ACTIONS[action]}], status_code=201)


# --- errors ------------------------------------------------------------------------------------------


async def on_open311_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Open311Error)
    return error_response(exc.status, exc.description)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def on_db_error(request: Request, exc: Exception) -> JSONResponse:
    # busy or unreachable database: the client retries (no traceback: it is not a bug here)
    log.warning("database_error", error_type=type(exc).__name__)
    response = error_response(503, "temporary failure, retry later")
    response.headers["retry-after"] = "1"
    return response


async def on_any_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected_error", error_type=type(exc).__name__)
    return error_response(503, "temporary failure, retry later")


ROUTES = [
    Route("/discovery.json", discovery),
    Route("/services.json", list_services),
    Route("/services/{code}.json", service_definition),
    Route("/requests.json", post_request, methods=["POST"]),
    Route("/requests.json", get_requests, methods=["GET"]),
    Route("/requests/{srid}.json", get_request),
    Route("/tokens/{token}.json", get_token),
    Route("/servicerequestupdates.json", get_updates, methods=["GET"]),
    Route("/servicerequestupdates.json", post_update, methods=["POST"]),
    Route("/requests/{srid}/{action}.json", department_action, methods=["POST"]),
    Route("/openapi.json", openapi),
]


def build_app(settings: BackendSettings) -> Starlette:
    """The ASGI app over ``settings.engine`` (tables already created)."""
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            Open311Error: on_open311_error,
            HTTPException: on_http_error,
            sa.exc.SQLAlchemyError: on_db_error,
            Exception: on_any_error,
        },
    )
    app.state.backend = _Backend(settings, {s.code: s for s in settings.services})
    return app
