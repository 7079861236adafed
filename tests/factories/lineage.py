"""Record and read lineage through the native API, the way a client would."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def lineage_path(ref: str) -> str:
    model, _, version = ref.rpartition("/")
    return f"/api/v1/models/{model}/versions/{version}/lineage"


def add_lineage(http: TestClient, ref: str, **body: Any) -> dict[str, Any]:
    response = http.post(lineage_path(ref), json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def get_lineage(http: TestClient, ref: str) -> dict[str, Any]:
    response = http.get(lineage_path(ref))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def impact(http: TestClient, **params: Any) -> list[str]:
    """The references an impact query finds, following every page."""
    found: list[str] = []
    token = None
    while True:
        query = {**params, **({"page_token": token} if token else {})}
        response = http.get("/api/v1/lineage/impact", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found += [f"{v['model']}/{v['version']}" for v in body["versions"]]
        token = body["next_page_token"]
        if not token:
            return found
