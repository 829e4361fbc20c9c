"""The reference backend's Open311 API, in process over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citybackend.app import BackendSettings, Service, build_app
from citybackend.tables import create_engine

KEY = "test-key-1"
FORM = "application/x-www-form-urlencoded"
SERVICES = [Service("L1", "路灯不亮", "城市管理", ("地址",)), Service("L2", "噪音", "环境", ())]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    engine = create_engine(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    app = build_app(BackendSettings(engine=engine, services=SERVICES, api_keys=[KEY, "other"]))
    return TestClient(app, raise_server_exceptions=False)


def _post(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    data = {"api_key": KEY, "service_code": "L1", "attribute[client_request_id]": "c-1", "description": "x"}
    data.update(fields)
    return client.post("/requests.json", data=data)


def test_discovery_services_and_definition(client: TestClient) -> None:
    assert client.get("/discovery.json").json()["endpoints"]
    assert {s["service_code"] for s in client.get("/services.json").json()} == {"L1", "L2"}
    attrs = client.get("/services/L1.json").json()["attributes"]
    assert attrs[0]["code"] == "地址" and attrs[0]["required"] is True
    missing = client.get("/services/NOPE.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


def test_post_is_idempotent_on_client_request_id(client: TestClient) -> None:
    first = _post(client)
    again = _post(client)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert len(client.get("/requests.json").json()) == 1
    srid = first.json()[0]["service_request_id"]
    assert client.get(f"/requests/{srid}.json").json()[0]["client_request_id"] == "c-1"
    assert client.get(f"/tokens/{srid}.json").json()[0]["service_request_id"] == srid


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"api_key": ""}, 403),
        ({"api_key": "wrong"}, 403),
        ({"service_code": "NOPE"}, 400),
        ({"attribute[client_request_id]": ""}, 400),
        ({"description": "x" * 5000}, 400),
    ],
)
def test_bad_posts_get_open311_errors(client: TestClient, fields: dict[str, str], status: int) -> None:
    response = _post(client, **fields)
    assert response.status_code == status
    assert set(response.json()[0]) == {"code", "description"}
    assert client.get("/requests.json").json() == []


def test_wrong_content_type_big_body_and_bad_dates(client: TestClient) -> None:
    as_json = client.post("/requests.json", json={"api_key": KEY})
    assert as_json.status_code == 415
    big = client.post(
        "/requests.json",
        content=b"a=" + b"x" * (5 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    assert client.get("/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert client.get("/requests.json", params={"page_size": "-1"}).status_code == 400
    assert client.get("/requests/abc.json").status_code == 404


def test_sql_and_html_are_stored_as_text(client: TestClient) -> None:
    nasty = "'; DROP TABLE open311_requests; -- <script>alert(1)</script>"
    created = _post(
        client, description=nasty, address_string=nasty, **{"attribute[client_request_id]": nasty}
    )
    assert created.status_code == 201
    row = client.get("/requests.json").json()[0]
    assert row["description"] == nasty and row["client_request_id"] == nasty


def test_department_actions_append_ordered_updates(client: TestClient) -> None:
    srid = _post(client).json()[0]["service_request_id"]
    for action in ("accept", "reply", "close"):
        ok = client.post(f"/requests/{srid}/{action}.json", data={"api_key": KEY, "description": action})
        assert ok.status_code == 201
    no_reason = client.post(f"/requests/{srid}/return.json", data={"api_key": KEY})
    assert no_reason.status_code == 400
    assert client.post(f"/requests/{srid}/dance.json", data={"api_key": KEY}).status_code == 404
    feed = client.get("/servicerequestupdates.json").json()
    assert [u["status"] for u in feed] == ["accepted", "replied", "closed"]
    after = client.get("/servicerequestupdates.json", params={"after": feed[0]["update_id"]}).json()
    assert [u["update_id"] for u in after] == [u["update_id"] for u in feed[1:]]
    assert client.get(f"/requests/{srid}.json").json()[0]["status"] == "closed"


def test_hotline_updates_are_idempotent_and_marked_in_the_feed(client: TestClient) -> None:
    srid = _post(client).json()[0]["service_request_id"]
    form = {"api_key": KEY, "service_request_id": srid, "update_id": "c-1:2", "status": "dispatch"}
    first = client.post("/servicerequestupdates.json", data=form)
    again = client.post("/servicerequestupdates.json", data=form)
    assert first.status_code == again.status_code == 201
    assert first.json()[0]["update_id"] == again.json()[0]["update_id"]
    feed = client.get("/servicerequestupdates.json").json()
    assert [(u["source"], u["action"], u["client_request_id"]) for u in feed] == [
        ("hotline", "dispatch", "c-1")
    ]
    assert client.get(f"/requests/{srid}.json").json()[0]["status"] == "dispatched"
    for bad, status in (
        ({"update_id": ""}, 400),
        ({"service_request_id": "x"}, 400),
        ({"service_request_id": "999"}, 404),
        ({"api_key": "no"}, 403),
    ):
        assert (
            client.post("/servicerequestupdates.json", data={**form, "update_id": "k2", **bad}).status_code
            == status
        )


def test_extension_requests_carry_days_and_a_reason(client: TestClient) -> None:
    srid = _post(client).json()[0]["service_request_id"]
    url = f"/requests/{srid}/request_extension.json"
    assert client.post(url, data={"api_key": KEY, "reason": "r"}).status_code == 400
    assert client.post(url, data={"api_key": KEY, "reason": "r", "extension_days": "99"}).status_code == 400
    assert client.post(url, data={"api_key": KEY, "extension_days": "3"}).status_code == 400
    assert client.post(url, data={"api_key": KEY, "reason": "r", "extension_days": "3"}).status_code == 201
    assert client.post(f"/requests/{srid}/reply.json", data={"api_key": KEY}).status_code == 400
    assert client.post(f"/requests/{srid}/accept.json", data={"description": "x"}).status_code == 403
    assert client.get("/servicerequestupdates.json").json()[0]["extension_days"] == 3


def test_undecodable_bodies_and_bad_cursors(client: TestClient) -> None:
    bad = client.post("/requests.json", content=b"api_key=\xff\xfe", headers={"content-type": FORM})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    assert (
        client.post(
            "/requests.json", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 415
    )
    assert client.get("/servicerequestupdates.json", params={"after": "-1"}).status_code == 400
    assert client.get("/requests.json").json() == []
