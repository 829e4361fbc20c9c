"""schemathesis against the live ``hotline backend`` process: generated requests for every operation of
its OpenAPI document; none may get a 5xx, and every response must be JSON of the documented shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from helpers.backendproc import running_backend
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

KEY = "schemathesis-key"


@pytest.fixture(scope="module")
def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_backend(tmp_path_factory.mktemp("schemathesis"), keys=(KEY,)) as backend:
        # a request to act on, so the department actions get past "unknown id" sometimes
        httpx.post(
            f"{backend.url}/requests.json",
            data={"api_key": KEY, "service_code": "101001", "attribute[client_request_id]": "seed"},
            timeout=5,
        )
        yield backend.url
        assert "Traceback" not in backend.output()


@pytest.fixture(scope="module")
def api_schema(backend_url: str):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{backend_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_open311_shaped_answers(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call_and_validate(checks=[not_a_server_error], timeout=10)
    assert response.status_code < 500, response.text[:300]
    body = response.json()  # always JSON
    if response.status_code >= 400:
        assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}
