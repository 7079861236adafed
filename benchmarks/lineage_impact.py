"""Impact queries on a large lineage graph, on SQLite, through the whole native API in process.

Seeds 100,000 versions (1,000 models x 100) with 10 lineage edges each straight into a
migrated SQLite file (bulk inserts through SQLAlchemy Core: the service would take an hour
for a million edges and the rows are the same), then times ``GET /api/v1/lineage/impact``
through the ASGI app (first page, 100 versions, and optionally every page).

The graph is shaped like a real fleet:

- datasets: every version reads a shared table (20 tables, each read by 50 models, a new
  snapshot every 10 rounds), two tables of its own model (a new snapshot every 5 rounds) and
  an evaluation holdout (100 holdouts, one snapshot);
- code: one repository per model, a commit shared by 3 consecutive versions;
- features: two of 500 feature views, a new version every 20 rounds;
- a run and a logged model of its own;
- one parent: models 0-49 are base models whose versions either continue their own line
  (30%) or start from an external Hugging Face model; other versions are retrained from
  their model's previous version (60%) or fine-tuned from a random earlier base version.

Live: every model's newest version holds ``champion``, 300 models have a version in
Production and 100 one in Archived.

    .venv/bin/python benchmarks/lineage_impact.py --work-dir /tmp/lineage-bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS = 1000
ROUNDS = 100  # versions per model
BASE_MODELS = 50
BATCH = 20_000
ACTOR = "bench"


@dataclass
class Seeder:
    """Generates rows in version id order; entity ids are handed out as keys first appear."""

    rng: random.Random
    entities: dict[tuple[str, str, str, str], int]
    entity_rows: list[dict[str, Any]]

    def entity(self, kind: str, name: str, revision: str = "", namespace: str = "") -> int:
        key = (kind, name, revision, namespace)
        found = self.entities.get(key)
        if found is None:
            found = len(self.entities) + 1
            self.entities[key] = found
            self.entity_rows.append(
                {
                    "id": found,
                    "kind": kind,
                    "name": name,
                    "revision": revision,
                    "namespace": namespace,
                    "created_at": 0,
                }
            )
        return found


def version_id(model: int, round_: int) -> int:
    """Versions are created round-robin over models: round r of model m is id r*MODELS+m+1."""
    return round_ * MODELS + model + 1


def commit(model: int, round_: int) -> str:
    return hashlib.sha1(f"{model}:{round_ // 3}".encode()).hexdigest()


def edges_of(
    seeder: Seeder, model: int, round_: int
) -> Iterator[tuple[str, int | None, int | None, dict[str, Any]]]:
    """(role, entity id, parent version id, attributes): 10 edges per version."""
    rng, entity = seeder.rng, seeder.entity
    yield (
        "training",
        entity("dataset", f"s3://lake/shared/table-{model % 20}", f"s{round_ // 10}"),
        None,
        {"row_count": 1_000_000},
    )
    for table in ("features", "labels"):
        uri = f"s3://lake/models/{model}/{table}"
        yield "training", entity("dataset", uri, f"s{round_ // 5}"), None, {"row_count": 50_000}
    yield "evaluation", entity("dataset", f"s3://lake/eval/holdout-{model % 100}", "s0"), None, {}
    repo = f"github.com/acme/model-{model}"
    yield "code", entity("code", repo, commit(model, round_)), None, {"repo": f"https://{repo}"}
    for k in (0, 1):
        view = f"view-{(model * 7 + k * 13) % 500}"
        yield "feature", entity("feature", view, str(round_ // 20), "feast-prod"), None, {}
    yield "run", entity("run", f"run-{model}-{round_}", "", "mlflow"), None, {}
    yield "logged_model", entity("logged_model", f"m-{model:04d}{round_:03d}"), None, {}
    if model < BASE_MODELS:
        if round_ > 0 and rng.random() < 0.3:
            yield "fine_tuned_from", None, version_id(model, round_ - 1), {}
        else:
            hub = entity(
                "external_model",
                f"acme-org/foundation-{model % 5}",
                f"rev{round_ // 25}",
                "huggingface",
            )
            yield "fine_tuned_from", hub, None, {}
    elif round_ > 0 and rng.random() < 0.6:
        yield "fine_tuned_from", None, version_id(model, round_ - 1), {}
    else:
        base = rng.randrange(BASE_MODELS)
        yield "fine_tuned_from", None, version_id(base, rng.randrange(round_ + 1)), {}


def seed(data_dir: Path, rng: random.Random) -> dict[str, float]:
    """A migrated database under ``data_dir`` with the fleet; returns timings in seconds."""
    from sqlalchemy import insert

    from charter import migrate
    from charter.config import Settings
    from charter.db import create_db_engine
    from charter.lineage.models import LineageEdge, LineageEntity, LineageValue
    from charter.registry.models import ModelAlias, ModelVersion, RegisteredModel

    timings: dict[str, float] = {}
    began = time.perf_counter()
    engine = create_db_engine(Settings(data_dir=data_dir))
    migrate.upgrade(engine)
    timings["migrate"] = time.perf_counter() - began
    seeder = Seeder(rng, {}, [])
    began = time.perf_counter()
    edge_id = 0
    with engine.begin() as conn:
        conn.execute(
            insert(RegisteredModel.__table__),
            [
                {
                    "id": m + 1,
                    "name": f"model-{m:04d}",
                    "owner": ACTOR,
                    "next_version": ROUNDS + 1,
                    "created_at": 0,
                    "updated_at": 0,
                }
                for m in range(MODELS)
            ],
        )
        versions: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        for round_ in range(ROUNDS):
            for model in range(MODELS):
                vid = version_id(model, round_)
                versions.append(
                    {
                        "id": vid,
                        "model_id": model + 1,
                        "version": round_ + 1,
                        "status": "READY",
                        "source": "s3://models/x",
                        "created_by": ACTOR,
                        "stage": "None",
                        "file_count": 0,
                        "total_size": 0,
                        "created_at": vid,
                        "updated_at": vid,
                    }
                )
                for role, entity_id, parent_id, attributes in edges_of(seeder, model, round_):
                    edge_id += 1
                    edges.append(
                        {
                            "id": edge_id,
                            "version_id": vid,
                            "role": role,
                            "entity_id": entity_id,
                            "parent_version_id": parent_id,
                            "attributes": attributes,
                            "created_at": vid,
                            "created_by": ACTOR,
                        }
                    )
                for key, value in (("lr", 0.01), ("epochs", 10), ("optimizer", "adam")):
                    values.append(
                        {
                            "version_id": vid,
                            "section": "hyperparameter",
                            "key": key,
                            "value": json.dumps(value),
                            "created_at": vid,
                            "created_by": ACTOR,
                        }
                    )
            if len(edges) >= BATCH or round_ == ROUNDS - 1:
                conn.execute(insert(ModelVersion.__table__), versions)
                if seeder.entity_rows:
                    conn.execute(insert(LineageEntity.__table__), seeder.entity_rows)
                conn.execute(insert(LineageEdge.__table__), edges)
                conn.execute(insert(LineageValue.__table__), values)
                versions, edges, values, seeder.entity_rows = [], [], [], []
        _lifecycle(conn, rng, ModelAlias, ModelVersion)
    timings["seed"] = time.perf_counter() - began
    timings["edges"] = edge_id
    timings["entities"] = len(seeder.entities)
    engine.dispose()
    return timings


def _lifecycle(conn: Any, rng: random.Random, alias: Any, version: Any) -> None:
    from sqlalchemy import insert, update

    conn.execute(
        insert(alias.__table__),
        [
            {
                "model_id": m + 1,
                "alias": "champion",
                "version_id": version_id(m, ROUNDS - 1),
                "updated_at": 0,
            }
            for m in range(MODELS)
        ],
    )
    for stage, count in (("Production", 300), ("Archived", 100)):
        for m in rng.sample(range(MODELS), count):
            target = version_id(m, rng.randrange(ROUNDS - 1))
            conn.execute(update(version.__table__).where(version.id == target).values(stage=stage))


@dataclass(frozen=True)
class Query:
    label: str
    params: Callable[[random.Random], dict[str, str]]


QUERIES = [
    Query(
        "dataset, any snapshot (shared table: 50 models)",
        lambda r: {"dataset": f"s3://lake/shared/table-{r.randrange(20)}"},
    ),
    Query(
        "dataset, one snapshot (shared table)",
        lambda r: {
            "dataset": f"s3://lake/shared/table-{r.randrange(20)}",
            "snapshot": f"s{r.randrange(10)}",
        },
    ),
    Query(
        "dataset, any snapshot (one model's table)",
        lambda r: {"dataset": f"s3://lake/models/{r.randrange(MODELS)}/features"},
    ),
    Query("commit", lambda r: {"commit": commit(r.randrange(MODELS), r.randrange(ROUNDS))}),
    Query("feature view, any version", lambda r: {"feature": f"view-{r.randrange(500)}"}),
    Query(
        "parent (base version), transitive",
        lambda r: {"parent": f"model-{r.randrange(BASE_MODELS):04d}/{r.randrange(1, ROUNDS + 1)}"},
    ),
    Query(
        "parent (any version), transitive",
        lambda r: {"parent": f"model-{r.randrange(MODELS):04d}/{r.randrange(1, ROUNDS + 1)}"},
    ),
    Query(
        "dataset, any snapshot, live only",
        lambda r: {"dataset": f"s3://lake/shared/table-{r.randrange(20)}", "live_only": "true"},
    ),
    Query(
        "parent (base version), transitive, live only",
        lambda r: {
            "parent": f"model-{r.randrange(BASE_MODELS):04d}/{r.randrange(1, ROUNDS + 1)}",
            "live_only": "true",
        },
    ),
]


def measure(data_dir: Path, repeats: int, rng: random.Random, all_pages: bool) -> list[list[str]]:
    from starlette.testclient import TestClient

    from charter.api.app import create_app
    from charter.api.state import AppState
    from charter.config import Settings

    settings = Settings(data_dir=data_dir)
    state = AppState.open(settings)
    rows = []
    try:
        with TestClient(create_app(settings, state)) as http:
            for query in QUERIES:
                times, found, pages_times = [], [], []
                for _ in range(repeats):
                    params = query.params(rng)
                    began = time.perf_counter()
                    response = http.get("/api/v1/lineage/impact", params=params)
                    times.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, response.text
                    body = response.json()
                    total = len(body["versions"])
                    token = body["next_page_token"]
                    if all_pages:
                        began = time.perf_counter()
                        while token:
                            page = http.get(
                                "/api/v1/lineage/impact",
                                params={**params, "page_token": token, "max_results": 1000},
                            ).json()
                            total += len(page["versions"])
                            token = page["next_page_token"]
                        pages_times.append((time.perf_counter() - began) * 1000 + times[-1])
                    found.append(total)
                rows.append(_row(query.label, times, found, pages_times))
    finally:
        state.close()
    return rows


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _row(label: str, times: list[float], found: list[int], pages: list[float]) -> list[str]:
    return [
        label,
        f"{statistics.median(times):.1f}",
        f"{_percentile(times, 0.95):.1f}",
        f"{_percentile(times, 0.99):.1f}",
        f"{statistics.median(found):.0f} (max {max(found)})",
        f"{statistics.median(pages):.1f}" if pages else "-",
    ]


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/charter-lineage-bench"))
    parser.add_argument("--repeats", type=int, default=50, help="queries per row (varied targets)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument(
        "--first-page-only", action="store_true", help="do not follow (and time) every page"
    )
    args = parser.parse_args(argv)
    data_dir = args.work_dir / "data"
    rng = random.Random(args.seed)
    if not (args.reuse and (data_dir / "charter.db").exists()):
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"seeding {MODELS * ROUNDS:,} versions into {data_dir} ...", flush=True)
        timings = seed(data_dir, rng)
        size = (data_dir / "charter.db").stat().st_size / 1e6
        print(
            f"seeded {MODELS * ROUNDS:,} versions, {int(timings['edges']):,} edges, "
            f"{int(timings['entities']):,} entities in {timings['seed']:.1f} s "
            f"(migrations {timings['migrate']:.1f} s); database {size:,.0f} MB",
            flush=True,
        )
    load_before = os.getloadavg()[0]
    rows = measure(data_dir, args.repeats, rng, not args.first_page_only)
    load_after = os.getloadavg()[0]
    print(f"load average (1 min) before / after the queries: {load_before:.1f} / {load_after:.1f}")
    headers = [
        "impact query (first page, 100 versions)",
        "median ms",
        "p95 ms",
        "p99 ms",
        "versions found",
        "all pages ms",
    ]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
