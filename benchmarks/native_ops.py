"""The (A) workload: Charter's native ``/api/v1`` requests over the seeded data set."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import Callable
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


def setup_requests(prefix: str, token: str | None = None) -> list[Request]:
    """Models that the create-version operation adds versions to (made before measuring)."""
    return _signed(
        [
            _json("POST", f"{API}/models", {"name": target_model(prefix, i)})
            for i in range(TARGET_MODELS)
        ],
        token,
    )


def _signed(requests: list[Request], token: str | None) -> list[Request]:
    """The requests with the token as a Bearer credential (for a server with auth on)."""
    if token is None:
        return requests
    return [dataclasses.replace(r, authorization=f"Bearer {token}") for r in requests]


def operations(
    data: Dataset, seeded: int, prefix: str, seed: int = 7, token: str | None = None
) -> dict[str, Operation]:
    """Every operation by name; ``seeded`` is how many versions the data set has; ``token``,
    when given, is sent with every request (the server runs with CHARTER_AUTH=on)."""
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
    if token is not None:
        ops = [dataclasses.replace(op, build=_signing(op.build, token)) for op in ops]
    return {op.name: op for op in ops}


def _signing(build: Callable[[int], list[Request]], token: str) -> Callable[[int], list[Request]]:
    return lambda n: _signed(build(n), token)


def bare_operation() -> Operation:
    return Operation("bare ASGI GET /", "read", lambda n: [Request("GET", "/")] * n)
