"""The OpenAPI 3.0 document of the backend (kept next to the routes it describes)."""

from __future__ import annotations

from typing import Any

_ERRORS = {
    "description": "Open311 errors",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
                },
            }
        }
    },
}
_JSON = {"description": "OK", "content": {"application/json": {"schema": {}}}}


def _op(
    summary: str, params: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": _JSON, "default": _ERRORS}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": body}},
        }
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


def openapi_document(server_url: str) -> dict[str, Any]:
    post_body = {
        "type": "object",
        "required": ["api_key", "service_code", "attribute[client_request_id]"],
        "properties": {
            "api_key": {"type": "string"},
            "service_code": {"type": "string"},
            "attribute[client_request_id]": {"type": "string"},
            "description": {"type": "string"},
            "address_string": {"type": "string"},
        },
    }
    action_body = {
        "type": "object",
        "required": ["api_key"],
        "properties": {
            "api_key": {"type": "string"},
            "description": {"type": "string"},
            "reason": {"type": "string"},
            "extension_days": {"type": "integer"},
        },
    }
    update_body = {
        "type": "object",
        "required": ["api_key", "service_request_id", "update_id", "status"],
        "properties": {
            "api_key": {"type": "string"},
            "service_request_id": {"type": "string"},
            "update_id": {"type": "string"},
            "status": {"type": "string"},
            "description": {"type": "string"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "12345 reference city backend (Open311 GeoReport v2 + extensions)", "version": "1"},
        "servers": [{"url": server_url}],
        "paths": {
            "/discovery.json": {"get": _op("Discovery")},
            "/services.json": {"get": _op("Service list")},
            "/services/{code}.json": {"get": _op("Service definition", [_path("code")])},
            "/requests.json": {
                "get": _op(
                    "Search requests",
                    [
                        _query("service_request_id"),
                        _query("service_code"),
                        _query("status"),
                        _query("start_date"),
                        _query("end_date"),
                        _query("page", "integer"),
                        _query("page_size", "integer"),
                    ],
                ),
                "post": _op("Create a request (idempotent on attribute[client_request_id])", body=post_body),
            },
            "/requests/{srid}.json": {"get": _op("One request", [_path("srid")])},
            "/tokens/{token}.json": {"get": _op("Token to id", [_path("token")])},
            "/servicerequestupdates.json": {
                "get": _op(
                    "Update feed after a cursor", [_query("after", "integer"), _query("page_size", "integer")]
                ),
                "post": _op("The hotline reports a change (idempotent on update_id)", body=update_body),
            },
            "/requests/{srid}/{action}.json": {
                "post": _op(
                    "Department action: accept, start, reply, close, return, request_extension",
                    [_path("srid"), _path("action")],
                    body=action_body,
                )
            },
        },
    }
