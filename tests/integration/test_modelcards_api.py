"""Model cards through the native API, on SQLite and PostgreSQL: the Hugging Face layout from
registry data, editable texts per model and per version, and hostile text kept in its place."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from charter.config import Settings
from tests.factories.lineage import add_lineage
from tests.factories.registry import create_model
from tests.factories.signatures import ec_keypair, sign_files
from tests.support import model_files

# A real MLmodel with a signature, and a real (harmless) pickle: the default policy blocks a
# version whose files fail the scan.
FILES = {
    "MLmodel": model_files.MLMODEL.encode(),
    "model.pkl": pickle.dumps({"weights": [0.5, 1.5]}),
}
CARD = "/api/v1/models/fraud/versions/1/card"
SHA = "4f2a9c1e0b7d3a5f6e8c9b1a2d3e4f5a6b7c8d9e"
SECTIONS = [
    "Model Details",
    "Uses",
    "Bias, Risks, and Limitations",
    "Training Details",
    "Evaluation",
    "Model Signature",
    "Provenance",
    "Integrity",
    "Governance",
]
HOSTILE = (
    "# Injected heading\n"
    "Looks fine\n===\n"
    "---\nlicense: stolen\n---\n"
    "```\nunclosed fence\n"
    "<h2>html heading</h2>\n"
    "   ## indented heading\n"
    "[docs]: https://evil.example\n"
    "- a list item **kept bold**"
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, scan_poll_seconds=0.05)


@pytest.fixture
def version(http: TestClient) -> dict[str, Any]:
    create_model(http, "fraud", description="Scores card payments", tags={"team": "risk"})
    created = http.post(
        "/api/v1/models/fraud/versions",
        json={"run_id": "run-42", "metrics": {"auc": 0.91, "f1": 0.8}, "tags": {"task": "tabular"}},
    ).json()
    for path, data in FILES.items():
        http.put(f"/api/v1/models/fraud/versions/{created['version']}/files/{path}", content=data)
    finalized = http.post(f"/api/v1/models/fraud/versions/{created['version']}/finalize")
    assert finalized.json()["status"] == "READY"
    # The scan runs in the background; a card shows its verdict once it is done.
    scanned = http.get("/api/v1/models/fraud/versions/1/scan", params={"wait": 30}).json()
    assert scanned["job"]["status"] == "done", scanned
    result: dict[str, Any] = finalized.json()
    return result


def split(card: str) -> tuple[dict[str, Any], str]:
    """The front matter (parsed as YAML) and the Markdown body of a card."""
    assert card.startswith("---\n")
    _, matter, body = card.split("---\n", 2)
    return yaml.safe_load(matter), body


def headings(body: str) -> list[str]:
    """Every heading a Markdown renderer would see, outside fenced code."""
    found, fenced = [], False
    for line in body.splitlines():
        if re.match(r"^ {0,3}(```|~~~)", line):
            fenced = not fenced
        elif not fenced and re.match(r"^ {0,3}#{1,6}\s", line):
            found.append(line.strip())
    return found


class TestCard:
    def test_markdown_with_front_matter_and_every_section(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        response = http.get(CARD)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/markdown")
        matter, body = split(response.text)
        assert matter["tags"] == ["charter", "task:tabular", "team:risk"]
        assert matter["metrics"] == ["auc", "f1"]
        [entry] = matter["model-index"]
        assert entry["name"] == "fraud"
        assert entry["results"][0]["task"] == {"type": "tabular"}
        assert {m["type"]: m["value"] for m in entry["results"][0]["metrics"]} == {
            "auc": 0.91,
            "f1": 0.8,
        }
        assert matter["charter"]["manifest_digest"] == version["manifest_digest"]
        assert (matter["charter"]["scan"], matter["charter"]["signature"]) == (
            "no_known_dangerous_pattern",
            "unsigned",
        )
        assert headings(body)[0] == "# Model Card for fraud version 1"
        assert [h.removeprefix("## ") for h in headings(body) if h.startswith("## ")] == SECTIONS
        assert "Scores card payments" in body
        assert "| auc | 0.91 |" in body
        assert "`run-42`" in body
        assert "_Not documented yet._" in body
        assert "- **Scan status:** no\\_known\\_dangerous\\_pattern, scanned at " in body
        assert "Read from `MLmodel`." in body
        assert "**Inputs**\n\n| Name | Type | Shape |" in body
        assert "| amount | double |  |" in body
        assert "| age | long |  |" in body
        assert "| \\#0 | tensor (int64) | `[-1]` |" in body

    def test_json_format_has_the_same_sections_as_data(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        card = http.get(CARD, params={"format": "json"}).json()
        assert [s["title"] for s in card["sections"]] == SECTIONS
        sections = {s["key"]: s["data"] for s in card["sections"]}
        assert sections["evaluation"] == {"metrics": {"auc": 0.91, "f1": 0.8}}
        assert sections["provenance"]["run_id"] == "run-42"
        assert sections["provenance"]["lineage"]["datasets"] == []
        assert [i["name"] for i in sections["io_signature"]["schema"]["inputs"]] == [
            "amount",
            "age",
        ]
        scan = sections["integrity"]["scan"]
        assert scan["status"] == "no_known_dangerous_pattern"
        assert (scan["dangerous_files"], scan["suspicious_files"], scan["failed_files"]) == (
            0,
            0,
            0,
        )
        assert scan["scanned_at"].endswith("Z")
        assert sections["integrity"]["signature"] == {"status": "unsigned", "signatures": []}
        assert card["metadata"]["charter"]["version"] == 1

    def test_provenance_shows_the_recorded_lineage(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        create_model(http, "base")
        http.post("/api/v1/models/base/versions", json={"source": "s3://b/base"})
        add_lineage(
            http,
            "fraud/1",
            datasets=[{"uri": "s3://lake/fraud/train.parquet", "snapshot": "v3", "row_count": 10}],
            code=[{"repo": "https://github.com/acme/fraud", "commit": SHA, "path": "train.py"}],
            run={"id": "run-42", "link": "https://ml.example/runs/42"},
            parents=[{"version": "base/1"}],
            environment={"python_version": "3.11.7"},
            hyperparameters={"lr": 0.01, "note": "<h2>x</h2> | # y"},
        )
        _, body = split(http.get(CARD).text)
        assert "| training | `s3://lake/fraud/train.parquet` | v3 | 10 |" in body
        assert f"| https://github.com/acme/fraud | `{SHA}` | train.py |" in body
        assert "| fine tuned from | base/1 |  |" in body
        assert "- **python\\_version:** `3.11.7`" in body
        assert "| lr | 0.01 |" in body
        assert "| note | \\<h2\\>x\\</h2\\> \\| \\# y |" in body
        assert "- **Run link:** `https://ml.example/runs/42`" in body
        assert [h.removeprefix("## ") for h in headings(body) if h.startswith("## ")] == SECTIONS
        card = http.get(CARD, params={"format": "json"}).json()
        lineage = {s["key"]: s["data"] for s in card["sections"]}["provenance"]["lineage"]
        assert lineage["datasets"][0]["snapshot"] == "v3"
        assert lineage["parents"][0]["version"]["model"] == "base"
        assert lineage["hyperparameters"] == {"lr": 0.01, "note": "<h2>x</h2> | # y"}

    def test_signature_and_governance_appear_once_they_exist(
        self, http: TestClient, version: dict[str, Any], tmp_path: Path
    ) -> None:
        private, public = ec_keypair(tmp_path / "keys")
        signed = http.post(
            "/api/v1/models/fraud/versions/1/signatures",
            json={"bundle": sign_files(tmp_path, FILES, private), "public_key": public.read_text()},
        ).json()
        # The default policy requires the security scan, which runs in the background.
        scanned = http.get("/api/v1/models/fraud/versions/1/scan", params={"wait": 30}).json()
        assert scanned["job"]["status"] == "done", scanned
        request = http.post(
            "/api/v1/models/fraud/promotions",
            json={"version": 1, "alias": "champion", "justification": "beats the baseline"},
        ).json()
        approved = http.post(
            f"/api/v1/promotions/{request['id']}/approve", json={"comment": "agreed"}
        )
        assert approved.status_code == 200, approved.text
        assert "champion" in http.get("/api/v1/models/fraud/versions/1").json()["aliases"], (
            scanned,
            approved.text,
        )

        matter, body = split(http.get("/api/v1/models/fraud/versions/@champion/card").text)
        assert (matter["charter"]["signature"], matter["charter"]["aliases"]) == (
            "signed",
            ["champion"],
        )
        assert f"`{signed['key_fingerprint']}`" in body
        assert "### Approval History" in body
        assert "executed" in body
        assert "approve by local" in body
        assert "beats the baseline" in body
        data = http.get(CARD, params={"format": "json"}).json()
        governance = {s["key"]: s["data"] for s in data["sections"]}["governance"]
        assert governance["history"][0]["label"] == "champion"
        assert governance["promotions"][0]["decisions"][0]["decision"] == "approve"

    def test_missing_version_and_unknown_format(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        assert http.get("/api/v1/models/fraud/versions/7/card").status_code == 404
        response = http.get(CARD, params={"format": "pdf"})
        assert (response.status_code, response.json()["error_code"]) == (
            400,
            "INVALID_PARAMETER_VALUE",
        )


class TestCardTexts:
    def test_model_texts_apply_to_every_version_and_a_version_may_override(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        model = http.patch(
            "/api/v1/models/fraud/card-fields",
            json={"intended_use": "Scoring card payments.", "license": "apache-2.0"},
        )
        assert model.json()["fields"] == {
            "intended_use": "Scoring card payments.",
            "license": "apache-2.0",
        }
        own = http.patch(
            "/api/v1/models/fraud/versions/1/card-fields",
            json={"intended_use": "EU payments only.", "limitations": "Not for loans."},
        ).json()
        assert own["fields"] == {
            "intended_use": "EU payments only.",
            "limitations": "Not for loans.",
        }
        assert own["effective"]["license"] == "apache-2.0"
        matter, body = split(http.get(CARD).text)
        assert matter["license"] == "apache-2.0"
        assert "EU payments only." in body
        assert "Scoring card payments." not in body
        assert "Not for loans." in body

        cleared = http.patch(
            "/api/v1/models/fraud/versions/1/card-fields", json={"intended_use": None}
        ).json()
        assert cleared["effective"]["intended_use"] == "Scoring card payments."
        assert http.get("/api/v1/models/fraud/versions/1/card-fields").json() == cleared

    @pytest.mark.parametrize(
        ("url", "payload", "status", "named"),
        [
            ("/api/v1/models/fraud/card-fields", {"author": "me"}, 400, "author"),
            ("/api/v1/models/fraud/card-fields", {}, 400, "at least one field"),
            ("/api/v1/models/fraud/card-fields", {"license": "a\nb"}, 400, "license"),
            ("/api/v1/models/fraud/card-fields", {"limitations": "a\x00b"}, 400, "NUL"),
            ("/api/v1/models/fraud/card-fields", {"limitations": 5}, 400, "limitations"),
            ("/api/v1/models/fraud/versions/9/card-fields", {"limitations": "x"}, 404, "9"),
            ("/api/v1/models/nope/card-fields", {"limitations": "x"}, 404, "nope"),
        ],
        ids=[
            "unknown-field",
            "nothing",
            "multiline-license",
            "nul",
            "not-text",
            "no-version",
            "no-model",
        ],
    )
    def test_bad_texts_are_refused_and_nothing_is_written(
        self,
        http: TestClient,
        version: dict[str, Any],
        url: str,
        payload: dict[str, Any],
        status: int,
        named: str,
    ) -> None:
        # A valid text beside the bad one: the whole change is refused, the valid part too.
        response = http.patch(url, json={"intended_use": "dropped", **payload} if payload else {})
        assert response.status_code == status, response.text
        assert named in response.json()["message"]
        assert http.get("/api/v1/models/fraud/card-fields").json()["fields"] == {}

    def test_hostile_text_cannot_add_headings_or_break_the_front_matter(
        self, http: TestClient, version: dict[str, Any]
    ) -> None:
        http.patch(
            "/api/v1/models/fraud/card-fields",
            json={"intended_use": HOSTILE, "license": "mit #: [x] {y}"},
        )
        http.patch("/api/v1/models/fraud", json={"description": HOSTILE})
        http.put(
            "/api/v1/models/fraud/versions/1/tags/note",
            json={"value": "x\n---\nlicense: y\u2028..."},
        )
        card = http.get(CARD).text
        matter, body = split(card)
        assert matter["license"] == "mit #: [x] {y}"
        assert matter["charter"]["model"] == "fraud"
        assert "note:x\n---\nlicense: y\u2028..." in matter["tags"]
        assert card.count("\n---\n") == 1  # the front matter's end, and nothing else
        assert [h for h in headings(body) if not h.startswith("## ")] == [
            "# Model Card for fraud version 1",
            "### Direct Use",
            "### Out-of-Scope Use",
            "### Recommendations",
            "### Training Data",
            "### Training Procedure",
            "### Results",
            "### Stage and Alias History",
            "### Approval History",
        ]
        assert [h.removeprefix("## ") for h in headings(body) if h.startswith("## ")] == SECTIONS
        assert "<h2>" not in body
        assert "&lt;h2>html heading" in body
        assert "\\# Injected heading" in body
        assert "- a list item **kept bold**" in body
