"""The (B) workload: MLflow REST API requests, sent unchanged to MLflow and to Charter."""

from __future__ import annotations

import itertools
import json
import random
from urllib.parse import urlencode

from loadgen import Request
from measure import Operation
from seed import SOURCE, Dataset

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
TARGET_MODELS = 50  # models that receive the benchmark's new versions
ALIAS_MODELS = range(0, 50)  # seeded models whose "challenger" alias moves
STAGE_MODELS = range(100, 150)  # seeded models whose versions change stage
RACE_MODEL = 900  # a seeded model that gets many new aliases
STAGES = ("Staging", "Production", "Archived", "None")


def _post(path: str, body: object) -> Request:
    return Request("POST", f"{API}/{path}", json.dumps(body).encode())


def _get(path: str, params: dict[str, str | int]) -> Request:
    return Request("GET", f"{API}/{path}?{urlencode(params)}")


def target_model(prefix: str, i: int) -> str:
    return f"{prefix}-target-{i % TARGET_MODELS:03d}"


def setup_requests(prefix: str) -> list[Request]:
    return [
        _post("registered-models/create", {"name": target_model(prefix, i)})
        for i in range(TARGET_MODELS)
    ]


def operations(data: Dataset, seeded: int, prefix: str, seed: int = 7) -> dict[str, Operation]:
    rng = random.Random(seed)
    per_model = max(1, seeded // data.models)
    unique = itertools.count()

    def random_model() -> str:
        return data.model_name(rng.randrange(data.models))

    def create_model(n: int) -> list[Request]:
        return [
            _post("registered-models/create", {"name": f"{prefix}-m-{next(unique)}"})
            for _ in range(n)
        ]

    def create_version(n: int) -> list[Request]:
        return [
            _post(
                "model-versions/create",
                {"name": target_model(prefix, next(unique)), "source": SOURCE},
            )
            for _ in range(n)
        ]

    def get_version(n: int) -> list[Request]:
        return [
            _get(
                "model-versions/get", {"name": random_model(), "version": rng.randint(1, per_model)}
            )
            for _ in range(n)
        ]

    def get_alias(n: int) -> list[Request]:
        return [
            _get("registered-models/alias", {"name": random_model(), "alias": "champion"})
            for _ in range(n)
        ]

    def set_alias(n: int) -> list[Request]:
        requests = []
        for _ in range(n):
            i = next(unique)
            body = {
                "name": data.model_name(ALIAS_MODELS[i % len(ALIAS_MODELS)]),
                "alias": "challenger",
                "version": str((i // len(ALIAS_MODELS)) % per_model + 1),
            }
            requests.append(_post("registered-models/alias", body))
        return requests

    def racing_alias(n: int) -> list[Request]:
        # Each run of 8 consecutive requests creates the same new alias on one model: at c=8
        # they race on the insert, the case where MLflow is known to leak a constraint error.
        requests = []
        for _ in range(n):
            i = next(unique)
            body = {
                "name": data.model_name(RACE_MODEL),
                "alias": f"{prefix}-{i // 8}",
                "version": "1",
            }
            requests.append(_post("registered-models/alias", body))
        return requests

    def transition(n: int) -> list[Request]:
        requests = []
        for _ in range(n):
            i = next(unique)
            body = {
                "name": data.model_name(STAGE_MODELS[i % len(STAGE_MODELS)]),
                "version": str((i // len(STAGE_MODELS)) % per_model + 1),
                "stage": STAGES[(i // len(STAGE_MODELS)) % len(STAGES)],
                "archive_existing_versions": False,
            }
            requests.append(_post("model-versions/transition-stage", body))
        return requests

    def latest(n: int) -> list[Request]:
        return [
            _post("registered-models/get-latest-versions", {"name": random_model()})
            for _ in range(n)
        ]

    def search(filter_string: str) -> Request:
        return _get("model-versions/search", {"filter": filter_string, "max_results": 100})

    def search_name(n: int) -> list[Request]:
        return [search(f"name = '{random_model()}'") for _ in range(n)]

    def search_dataset(n: int) -> list[Request]:
        return [search(f"tags.dataset = 'ds-{rng.randrange(1000):04d}'") for _ in range(n)]

    def search_team(n: int) -> list[Request]:
        return [search(f"tags.team = 'team-{rng.randrange(20):02d}'") for _ in range(n)]

    ops = [
        Operation("create model", "write", create_model),
        Operation("create version", "write", create_version),
        Operation("set alias", "write", set_alias),
        Operation("set new alias (8 racing)", "write", racing_alias),
        Operation("transition stage", "write", transition),
        Operation("get version", "read", get_version),
        Operation("get by alias", "read", get_alias),
        Operation("get latest versions", "read", latest),
        Operation("search: model name", "search", search_name),
        Operation("search: tag 0.1%", "search", search_dataset),
        Operation("search: tag 5%", "search", search_team),
    ]
    return {op.name: op for op in ops}
