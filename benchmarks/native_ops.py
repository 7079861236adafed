"""The (A) workload: Charter's native ``/api/v1`` requests over the seeded data set."""

from __future__ import annotations

import itertools
import json
import random
from urllib.parse import urlencode

from loadgen import Request
from measure import Operation
from seed import SOURCE, Dataset

API = "/api/v1"
TARGET_MODELS = 50  # models that receive the benchmark's new versions
ALIAS_MODELS = 50  # seeded models whose "challenger" alias moves (some races at c=8)


def _json(method: str, path: str, body: object) -> Request:
    return Request(method, path, json.dumps(body).encode())


def target_model(prefix: str, i: int) -> str:
    return f"{prefix}-target-{i % TARGET_MODELS:03d}"


def setup_requests(prefix: str) -> list[Request]:
    """Models that the create-version operation adds versions to (made before measuring)."""
    return [
        _json("POST", f"{API}/models", {"name": target_model(prefix, i)})
        for i in range(TARGET_MODELS)
    ]


def operations(data: Dataset, seeded: int, prefix: str, seed: int = 7) -> dict[str, Operation]:
    """Every operation by name; ``seeded`` is how many versions the data set has."""
    rng = random.Random(seed)
    per_model = max(1, seeded // data.models)
    unique = itertools.count()

    def create_model(n: int) -> list[Request]:
        return [
            _json("POST", f"{API}/models", {"name": f"{prefix}-m-{next(unique)}"}) for _ in range(n)
        ]

    def create_version(n: int) -> list[Request]:
        return [
            _json(
                "POST",
                f"{API}/models/{target_model(prefix, next(unique))}/versions",
                {"source": SOURCE},
            )
            for _ in range(n)
        ]

    def get_version(n: int) -> list[Request]:
        return [
            Request(
                "GET",
                f"{API}/models/{data.model_name(rng.randrange(data.models))}/versions/"
                f"{rng.randint(1, per_model)}",
            )
            for _ in range(n)
        ]

    def get_alias(n: int) -> list[Request]:
        return [
            Request(
                "GET",
                f"{API}/models/{data.model_name(rng.randrange(data.models))}/versions/@champion",
            )
            for _ in range(n)
        ]

    def set_alias(n: int) -> list[Request]:
        requests = []
        for _ in range(n):
            i = next(unique)
            model = data.model_name(i % ALIAS_MODELS)
            version = (i // ALIAS_MODELS) % per_model + 1
            requests.append(
                _json("PUT", f"{API}/models/{model}/aliases/challenger", {"version": version})
            )
        return requests

    def search(params: dict[str, str]) -> Request:
        return Request("GET", f"{API}/versions?{urlencode({**params, 'max_results': 100})}")

    def search_name(n: int) -> list[Request]:
        return [search({"model": data.model_name(rng.randrange(data.models))}) for _ in range(n)]

    def search_dataset(n: int) -> list[Request]:
        return [search({"tag": f"dataset=ds-{rng.randrange(1000):04d}"}) for _ in range(n)]

    def search_team(n: int) -> list[Request]:
        return [search({"tag": f"team=team-{rng.randrange(20):02d}"}) for _ in range(n)]

    ops = [
        # Charter's framework floor: a sync FastAPI route through the same middleware, no DB.
        Operation("GET /health (no DB)", "floor", lambda n: [Request("GET", "/health")] * n),
        Operation("create model", "write", create_model),
        Operation("create version", "write", create_version),
        Operation("set alias", "write", set_alias),
        Operation("get version", "read", get_version),
        Operation("get by alias", "read", get_alias),
        Operation("search: model name", "search", search_name),
        Operation("search: tag 0.1%", "search", search_dataset),
        Operation("search: tag 5%", "search", search_team),
    ]
    return {op.name: op for op in ops}


def bare_operation() -> Operation:
    return Operation("bare ASGI GET /", "read", lambda n: [Request("GET", "/")] * n)
