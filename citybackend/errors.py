"""Open311's error: ``[{"code", "description"}]`` with the HTTP status."""

from __future__ import annotations

from starlette.responses import JSONResponse


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error_response(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)
