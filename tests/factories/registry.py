"""Create models and versions through the native API, the way a client would."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def create_model(http: TestClient, name: str = "fraud", **body: Any) -> dict[str, Any]:
    response = http.post("/api/v1/models", json={"name": name, **body})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create_version(http: TestClient, model: str = "fraud", **body: Any) -> dict[str, Any]:
    body.setdefault("source", "s3://bucket/models/fraud")
    response = http.post(f"/api/v1/models/{model}/versions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def upload(http: TestClient, model: str, version: int, path: str, data: bytes) -> dict[str, Any]:
    response = http.put(f"/api/v1/models/{model}/versions/{version}/files/{path}", content=data)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def ready_version_with_files(
    http: TestClient, model: str, files: dict[str, bytes]
) -> dict[str, Any]:
    version = create_version(http, model, source=None)
    for path, data in files.items():
        upload(http, model, version["version"], path, data)
    response = http.post(f"/api/v1/models/{model}/versions/{version['version']}/finalize")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
