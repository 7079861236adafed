"""Property-based API testing: schemathesis generates valid and invalid requests for every
operation of the native API from its OpenAPI document, and chains operations into workflows
along the links it infers (create a model, then read, tag, version, alias it…).

In process over ASGI, on SQLite only (the checks are about HTTP, not the backend), with a
bounded number of examples so the whole module runs in well under two minutes. The streaming
upload and download routes are included: the generated bodies are small.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)
from starlette.testclient import TestClient

from charter.api.app import create_app
from charter.api.state import AppState
from charter.config import Settings

MAX_EXAMPLES = 20
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,  # the same examples on every run: a red build is reproducible
    "database": None,  # no .hypothesis directory written into the working tree
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # one clean database per operation, on purpose
    ],
}


def served_document() -> dict[str, Any]:
    """The document the app serves at /api/v1/openapi.json (FastAPI serves ``app.openapi()``).

    Built at import from an app that never starts, so loading it touches no database; each
    test then sends its requests to the fixture's app, which has a clean one.
    ``schemathesis.pytest.from_fixture`` would fetch it from the fixture's app instead, but
    schemathesis 4.32.5 reads ``request.node._nodeid``, which pytest 9 no longer has.
    """
    return create_app(Settings(data_dir=Path("never-opened"))).openapi()


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))  # it adds inferred links


def _free_text_query_parameters(document: dict[str, Any]) -> frozenset[str]:
    """Optional query parameters that take any string, or a list of any strings.

    Every query value travels as a string, so no value schemathesis can put in such a
    parameter (a number, a boolean, a nested list) is invalid once it is on the wire.
    """
    free = ({"type": "string"}, {"type": "array", "items": {"type": "string"}})
    names = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                variants = [
                    {k: v for k, v in variant.items() if k not in ("title", "description")}
                    for variant in schema.get("anyOf", [schema])
                    if variant != {"type": "null"}
                ]
                if (
                    parameter["in"] == "query"
                    and not parameter.get("required", False)
                    and variants
                    and all(variant in free for variant in variants)
                ):
                    names.add(parameter["name"])
    return frozenset(names)


FREE_TEXT_QUERY = _free_text_query_parameters(DOCUMENT)


def _negation_invisible_on_the_wire(case: schemathesis.Case[Any]) -> bool:
    """Whether the case negates nothing but free-text query parameters.

    ``?tag=false`` is what a client sends for the valid list ``["false"]``, and
    ``?name_ilike=true`` for the valid string ``"true"``: the server cannot (and must not) tell
    them apart from valid input. Schemathesis 4.32.5 discounts such type changes for a single
    scalar parameter, but not for ``anyOf: [array of string, null]`` ones (``tag``,
    ``order_by``) nor for several parameters at once, and reports the 200 as accepted
    negative data.
    """
    meta = case.meta
    if meta is None:
        return False
    negated = {loc for loc, info in meta.components.items() if info.mode.is_negative}
    if negated != {ParameterLocation.QUERY}:
        return False
    data = meta.phase.data
    mutated = {m.parameter for m in data.mutations} or {data.parameter}
    return all(name in FREE_TEXT_QUERY for name in mutated)


@schemathesis.check
def schema_violating_request_rejected(
    ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """schemathesis's negative_data_rejection, minus the wire-identical case above."""
    if _negation_invisible_on_the_wire(case):
        return None
    return negative_data_rejection(ctx, response, case)


# Contract violations, not opinions: a 5xx; a response whose body, content type or headers
# contradict what the document declares for that status; a request the schema forbids that is
# accepted with a 2xx. Left out: positive_data_acceptance (a valid request for a model that
# does not exist is rightly a 404) and status_code_conformance (the document lists only 2xx and
# FastAPI's default 422, while the contract's errors are 400/404/409/413/503 — see the report).
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    schema_violating_request_rejected,
]


@pytest.fixture
def backend() -> str:
    """Overrides the conftest's sqlite/postgresql parameter: this module runs on SQLite once."""
    return "sqlite"


def test_the_document_tested_is_the_one_served(http: TestClient) -> None:
    response = http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **SETTINGS)
def test_each_operation_honours_its_contract(case: schemathesis.Case[Any], app: FastAPI) -> None:
    case.call_and_validate(checks=CHECKS, app=app)


class FreshApp:
    """A new app over a new copy of the migrated SQLite template, for one scenario.

    Hypothesis replays scenarios while it shrinks them and insists that each replay behaves
    the same, so every scenario must start from the same (empty) registry.
    """

    def __init__(self, template: Path, directory: Path) -> None:
        self.template = template
        self.directory = directory
        self.count = 0
        self.state: AppState | None = None
        self.app: FastAPI | None = None

    def open(self) -> FastAPI:
        self.close()
        self.count += 1
        data = self.directory / f"scenario-{self.count}"
        data.mkdir(parents=True)
        shutil.copyfile(self.template, data / "charter.db")
        settings = Settings(data_dir=data)
        self.state = AppState.open(settings)
        self.app = create_app(settings, self.state)
        return self.app

    def close(self) -> None:
        if self.state is not None:
            self.state.close()
            self.state = None


def test_workflows_honour_the_contract(sqlite_template: Path, tmp_path: Path) -> None:
    """Sequences of calls linked by the values they return (names, version numbers)."""
    fresh = FreshApp(sqlite_template, tmp_path)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.app = fresh.open()

        def teardown(self) -> None:
            fresh.close()

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"app": self.app}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case[Any],
            additional_checks: object = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    try:
        Workflow.run(settings=settings(max_examples=25, stateful_step_count=10, **SETTINGS))
    finally:
        fresh.close()
