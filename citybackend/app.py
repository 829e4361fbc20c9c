"""The Starlette application: Open311 GeoReport v2 endpoints, the update feed and department actions.

Errors are Open311's ``[{"code", "description"}]`` with the HTTP status; bad input never yields a 500.
Logs carry ids and codes only, never a citizen's name, phone or description.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from citybackend.tables import requests as requests_t
from citybackend.tables import updates as updates_t

log = structlog.get_logger(__name__)

MAX_BODY = 64 * 1024
MAX_FIELD = 4000
MAX_PAGE_SIZE = 1000
CLIENT_ID_ATTRIBUTE = "client_request_id"
FORM = "application/x-www-form-urlencoded"
# department action -> status the request moves to (our work order's extended statuses)
ACTIONS: Mapping[str, str] = {
    "accept": "accepted",
    "start": "in_progress",
    "reply": "replied",
    "close": "closed",
    "return": "returned",
    "request_extension": "extension_requested",
}
# a change the hotline reports (POST servicerequestupdates) -> the request's new status, if any
HOTLINE_STATUSES: Mapping[str, str] = {
    "dispatch": "dispatched",
    "reassign": "dispatched",
    "rehandle": "reopened",
    "close": "closed",
    "close_direct": "closed",
    "merge": "closed",
    "archive": "closed",
}
MAX_EXTENSION_DAYS = 30


@dataclass(frozen=True)
class Service:
    """One Open311 service: a taxonomy leaf, with its required fields as attributes."""

    code: str
    name: str
    group: str
    required_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendSettings:
    """What the app needs; passed in, never global."""

    engine: sa.Engine
    services: Sequence[Service]
    api_keys: Sequence[str]
    jurisdiction_id: str = "anshan"


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _now() -> datetime:
    return datetime.now(UTC)


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


def _check_key(given: str | None, keys: Sequence[str]) -> None:
    if not given:
        raise Open311Error(403, "api_key is required")
    # compare against every key (constant time each) so timing does not tell which one nearly matched
    matched = False
    for key in keys:
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


def _request_json(row: Mapping[str, Any]) -> dict[str, Any]:
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


def build_app(settings: BackendSettings) -> Starlette:
    """The ASGI app over ``settings.engine`` (tables already created)."""
    engine = settings.engine
    services = {s.code: s for s in settings.services}

    async def discovery(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "changeset": "2026-01-01T00:00:00+00:00",
                "contact": "12345 hotline",
                "key_service": "ask the city for an api_key",
                "endpoints": [
                    {
                        "specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": base,
                        "changeset": "2026-01-01T00:00:00+00:00",
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
                for s in services.values()
            ]
        )

    async def service_definition(request: Request) -> JSONResponse:
        code = request.path_params["code"]
        service = services.get(code)
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

    async def post_request(request: Request) -> JSONResponse:
        fields = await _form(request)
        _check_key(fields.get("api_key"), settings.api_keys)
        code = fields.get("service_code", "")
        if code not in services:
            raise Open311Error(400, "unknown or missing service_code")
        client_id = fields.get(f"attribute[{CLIENT_ID_ATTRIBUTE}]", "").strip()
        if not client_id or len(client_id) > 128:
            raise Open311Error(400, f"attribute[{CLIENT_ID_ATTRIBUTE}] is required (1-128 characters)")
        attributes = {
            k[len("attribute[") : -1]: v
            for k, v in fields.items()
            if k.startswith("attribute[") and k.endswith("]")
        }
        now = _now()
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
        srid, created = await run_in_threadpool(_insert_once, engine, values)
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
            query = query.where(
                requests_t.c.requested_datetime <= _parse_date(params["end_date"], "end_date")
            )
        query = query.limit(size).offset((page - 1) * size)
        rows = await run_in_threadpool(_fetch_all, engine, query)
        return JSONResponse([_request_json(r) for r in rows])

    async def get_request(request: Request) -> JSONResponse:
        raw = request.path_params["srid"]
        if not raw.isdigit() or len(raw) > 18:
            raise Open311Error(404, "unknown service_request_id")
        rows = await run_in_threadpool(
            _fetch_all, engine, sa.select(requests_t).where(requests_t.c.service_request_id == int(raw))
        )
        row = rows[0] if rows else None
        if row is None:
            raise Open311Error(404, "unknown service_request_id")
        return JSONResponse([_request_json(row)])

    async def get_token(request: Request) -> JSONResponse:
        # requests are created synchronously, so the token is the service_request_id itself
        raw = request.path_params["token"]
        if not raw.isdigit() or len(raw) > 18:
            raise Open311Error(404, "unknown token")
        found = await run_in_threadpool(
            _fetch_all,
            engine,
            sa.select(requests_t.c.service_request_id).where(requests_t.c.service_request_id == int(raw)),
        )
        if not found:
            raise Open311Error(404, "unknown token")
        return JSONResponse([{"service_request_id": raw, "token": raw}])

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
        rows = await run_in_threadpool(_fetch_all, engine, query)
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
        fields = await _form(request)
        _check_key(fields.get("api_key"), settings.api_keys)
        raw = fields.get("service_request_id", "")
        if not raw.isdigit() or len(raw) > 18:
            raise Open311Error(400, "service_request_id must be a request id")
        client_update_id = fields.get("update_id", "").strip()
        if not client_update_id or len(client_update_id) > 128:
            raise Open311Error(400, "update_id is required (1-128 characters)")
        action = fields.get("status", "").strip()[:32]
        if not action:
            raise Open311Error(400, "status is required")
        update = _Update(int(raw), action, fields.get("description", ""), "hotline", client_update_id)
        update_id = await run_in_threadpool(_append_update, engine, update)
        log.info("hotline_update", service_request_id=update.srid, action=action, update_id=update_id)
        return JSONResponse([{"update_id": str(update_id), "service_request_id": raw}], status_code=201)

    async def department_action(request: Request) -> JSONResponse:
        action = request.path_params["action"]
        if action not in ACTIONS:
            raise Open311Error(404, "unknown action")
        raw = request.path_params["srid"]
        fields = await _form(request)
        _check_key(fields.get("api_key"), settings.api_keys)
        if action in ("return", "request_extension") and not fields.get("reason", "").strip():
            raise Open311Error(400, f"reason is required to {action.replace('_', ' ')}")
        if action == "reply" and not fields.get("description", "").strip():
            raise Open311Error(400, "description (the answer) is required to reply")
        days = None
        if action == "request_extension":
            days = _int_param(fields, "extension_days", 0, 1, MAX_EXTENSION_DAYS) or None
            if days is None:
                raise Open311Error(400, f"extension_days is required (1-{MAX_EXTENSION_DAYS})")
        if not raw.isdigit() or len(raw) > 18:
            raise Open311Error(404, "unknown service_request_id")
        description = fields.get("reason") or fields.get("description", "")
        update = _Update(int(raw), action, description, "department", None, days)
        update_id = await run_in_threadpool(_append_update, engine, update)
        log.info("department_action", service_request_id=int(raw), action=action, update_id=update_id)
        return JSONResponse([{"update_id": str(update_id), "status": ACTIONS[action]}], status_code=201)

    async def openapi(request: Request) -> JSONResponse:
        from citybackend.openapi import openapi_document

        return JSONResponse(openapi_document(str(request.base_url).rstrip("/")))

    async def on_open311_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Open311Error)
        return _error(exc.status, exc.description)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def on_db_error(request: Request, exc: Exception) -> JSONResponse:
        # busy or unreachable database: the client retries (no traceback: it is not a bug here)
        log.warning("database_error", error_type=type(exc).__name__)
        response = _error(503, "temporary failure, retry later")
        response.headers["retry-after"] = "1"
        return response

    async def on_any_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected_error", error_type=type(exc).__name__)
        return _error(503, "temporary failure, retry later")

    routes = [
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
    return Starlette(
        routes=routes,
        exception_handlers={
            Open311Error: on_open311_error,
            HTTPException: on_http_error,
            sa.exc.SQLAlchemyError: on_db_error,
            Exception: on_any_error,
        },
    )


def _insert_once(engine: sa.Engine, values: dict[str, Any]) -> tuple[int, bool]:
    """Insert the request unless its client id exists; the unique index settles races.

    The insert comes first (one transaction in the common case); a duplicate client id, a retry,
    fails on the unique index and reads the first request's id instead.
    """
    select = sa.select(requests_t.c.service_request_id).where(
        requests_t.c.client_request_id == values["client_request_id"]
    )
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                srid = conn.execute(sa.insert(requests_t).values(**values)).inserted_primary_key[0]
                return int(srid), True
        except sa.exc.IntegrityError:
            with engine.connect() as conn:
                found = conn.execute(select).scalar()
            if found is not None:
                return int(found), False
    raise Open311Error(503, "could not store the request, retry")


def _fetch_all(engine: sa.Engine, query: sa.Select[Any]) -> list[Mapping[str, Any]]:
    with engine.connect() as conn:
        return list(conn.execute(query).mappings().all())


@dataclass(frozen=True)
class _Update:
    srid: int
    action: str
    description: str
    source: str  # department / hotline
    client_update_id: str | None = None
    extension_days: int | None = None


def _append_update(engine: sa.Engine, update: _Update) -> int:
    """Record one update (and the request's new status); a repeated hotline update_id returns the first."""
    if update.client_update_id is not None:
        found = _update_by_client_id(engine, update.client_update_id)
        if found is not None:
            return found
    if update.source == "department":
        status: str | None = ACTIONS[update.action]
    else:
        status = HOTLINE_STATUSES.get(update.action)
    now = _now()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # ids become visible in commit order only if inserts are serialised: a reader's cursor
                # must never skip an id that commits after a later one (SQLite has one writer anyway)
                conn.execute(sa.text("LOCK TABLE open311_updates IN SHARE ROW EXCLUSIVE MODE"))
            values: dict[str, Any] = {"updated_datetime": now}
            if status is not None:
                values["status"] = status
            changed = conn.execute(
                sa.update(requests_t).where(requests_t.c.service_request_id == update.srid).values(**values)
            ).rowcount
            if not changed:
                raise Open311Error(404, "unknown service_request_id")
            result = conn.execute(
                sa.insert(updates_t).values(
                    service_request_id=update.srid,
                    status=status or "",
                    action=update.action,
                    source=update.source,
                    client_update_id=update.client_update_id,
                    extension_days=update.extension_days,
                    description=update.description,
                    updated_datetime=now,
                )
            )
            return int(result.inserted_primary_key[0])
    except sa.exc.IntegrityError:
        found = _update_by_client_id(engine, update.client_update_id) if update.client_update_id else None
        if found is None:
            raise
        return found


def _update_by_client_id(engine: sa.Engine, client_update_id: str) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(updates_t.c.update_id).where(updates_t.c.client_update_id == client_update_id)
        ).scalar()
    return None if found is None else int(found)
