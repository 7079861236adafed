"""The real ``mlflow`` client against a real ``charter serve``: the model registry, unchanged.

One server per backend for the module (SQLite, and PostgreSQL); every test uses its own
model names, so tests do not see each other's models.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
from sklearn.linear_model import LogisticRegression

from tests.support.postgres import PostgresServer
from tests.support.server import CharterServer, running_server

TEMPLATE_DB = "charter_template"  # migrated once per run by the postgres_server fixture

pytestmark = [
    pytest.mark.e2e,
    # Stages are deprecated in MLflow 2.9 but still served, and clients still call them.
    pytest.mark.filterwarnings(
        r"ignore:``mlflow\.tracking\.client\.MlflowClient\.\w+`` is deprecated since 2\.9\.0"
        ":FutureWarning"
    ),
    # mlflow.sklearn.log_model infers a signature from type hints of its own pyfunc wrapper
    # and says so; nothing in the test can give it more specific hints.
    pytest.mark.filterwarnings(r"ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]

_names = itertools.count()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CharterServer]:
    env = {}
    if request.param == "postgresql":
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        env["CHARTER_DATABASE_URL"] = postgres.create_database(
            "charter_mlflow_e2e", template=TEMPLATE_DB
        )
    data_dir = tmp_path_factory.mktemp(f"mlflow-{request.param}") / "data"
    with running_server(data_dir, request=request, env=env) as started:
        yield started
    if request.param == "postgresql":
        postgres.drop_database("charter_mlflow_e2e")


@pytest.fixture(scope="module")
def tracking_uri(server: CharterServer) -> Iterator[str]:
    """MLFLOW_TRACKING_URI pointing at Charter, and no retries on the errors tests expect."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", server.url)
        patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        patch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        # The fluent API prefers a URI set by set_tracking_uri over the environment.
        mlflow.set_tracking_uri(server.url)
        yield server.url
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@pytest.fixture
def name() -> str:
    """A model name no other test uses."""
    return f"e2e-model-{next(_names)}"


def error_code(call: object) -> str:
    assert callable(call)
    with pytest.raises(MlflowException) as caught:
        call()
    return caught.value.error_code


class TestRegisteredModels:
    def test_create_get_update_rename_delete(self, client: MlflowClient, name: str) -> None:
        created = client.create_registered_model(name, tags={"team": "risk"}, description="d")
        assert (created.name, created.description, created.tags) == (name, "d", {"team": "risk"})
        assert isinstance(created.creation_timestamp, int)
        client.update_registered_model(name, description="new")
        assert client.get_registered_model(name).description == "new"
        client.rename_registered_model(name, f"{name}-renamed")
        assert client.get_registered_model(f"{name}-renamed").description == "new"
        assert error_code(lambda: client.get_registered_model(name)) == "RESOURCE_DOES_NOT_EXIST"
        client.delete_registered_model(f"{name}-renamed")
        gone = error_code(lambda: client.get_registered_model(f"{name}-renamed"))
        assert gone == "RESOURCE_DOES_NOT_EXIST"

    def test_a_duplicate_is_resource_already_exists(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        code = error_code(lambda: client.create_registered_model(name))
        assert code == "RESOURCE_ALREADY_EXISTS"

    def test_deleting_a_missing_model_is_resource_does_not_exist(
        self, client: MlflowClient, name: str
    ) -> None:
        code = error_code(lambda: client.delete_registered_model(name))
        assert code == "RESOURCE_DOES_NOT_EXIST"

    def test_tags(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        client.set_registered_model_tag(name, "k", "v")
        client.set_registered_model_tag(name, "k", "v2")
        assert client.get_registered_model(name).tags == {"k": "v2"}
        client.delete_registered_model_tag(name, "k")
        client.delete_registered_model_tag(name, "never-set")
        assert client.get_registered_model(name).tags == {}


class TestModelVersions:
    def test_create_get_update_delete(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        version = client.create_model_version(
            name, "s3://bucket/model", run_id="r1", tags={"k": "v"}, description="first"
        )
        assert (version.version, version.status, version.current_stage) == ("1", "READY", "None")
        assert (version.source, version.run_id, version.tags) == (
            "s3://bucket/model",
            "r1",
            {"k": "v"},
        )
        client.update_model_version(name, "1", description="changed")
        assert client.get_model_version(name, "1").description == "changed"
        assert client.get_model_version_download_uri(name, "1") == "s3://bucket/model"
        client.delete_model_version(name, "1")
        code = error_code(lambda: client.get_model_version(name, "1"))
        assert code == "RESOURCE_DOES_NOT_EXIST"
        assert client.create_model_version(name, "s3://bucket/model").version == "2"

    def test_a_missing_version_is_resource_does_not_exist(
        self, client: MlflowClient, name: str
    ) -> None:
        client.create_registered_model(name)
        assert error_code(lambda: client.get_model_version(name, "7")) == "RESOURCE_DOES_NOT_EXIST"

    def test_a_local_source_without_a_run_is_invalid(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        code = error_code(lambda: client.create_model_version(name, "/tmp/model"))
        assert code == "INVALID_PARAMETER_VALUE"

    def test_tags(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        client.create_model_version(name, "s3://bucket/model")
        client.set_model_version_tag(name, "1", "k", "v")
        assert client.get_model_version(name, "1").tags == {"k": "v"}
        client.delete_model_version_tag(name, "1", "k")
        assert client.get_model_version(name, "1").tags == {}


class TestAliasesAndStages:
    def test_aliases(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        for _ in range(2):
            client.create_model_version(name, "s3://bucket/model")
        client.set_registered_model_alias(name, "champion", "1")
        assert client.get_model_version_by_alias(name, "champion").version == "1"
        assert client.get_registered_model(name).aliases == {"champion": "1"}
        client.set_registered_model_alias(name, "champion", "2")
        assert client.get_model_version(name, "2").aliases == ["champion"]
        client.delete_registered_model_alias(name, "champion")
        code = error_code(lambda: client.get_model_version_by_alias(name, "champion"))
        assert code == "INVALID_PARAMETER_VALUE"

    def test_bad_aliases_are_invalid(self, client: MlflowClient, name: str) -> None:
        client.create_registered_model(name)
        client.create_model_version(name, "s3://bucket/model")
        for alias in ("latest", "v1", "not an alias"):
            code = error_code(lambda a=alias: client.set_registered_model_alias(name, a, "1"))
            assert code == "INVALID_PARAMETER_VALUE"

    def test_transition_with_archive_and_latest_versions(
        self, client: MlflowClient, name: str
    ) -> None:
        client.create_registered_model(name)
        for _ in range(3):
            client.create_model_version(name, "s3://bucket/model")
        client.transition_model_version_stage(name, "1", "Production")
        moved = client.transition_model_version_stage(
            name, "2", "production", archive_existing_versions=True
        )
        assert moved.current_stage == "Production"
        assert client.get_model_version(name, "1").current_stage == "Archived"
        latest = client.get_latest_versions(name, stages=["Production"])
        assert [v.version for v in latest] == ["2"]
        every = client.get_latest_versions(name)
        assert sorted((v.current_stage, v.version) for v in every) == [
            ("Archived", "1"),
            ("None", "3"),
            ("Production", "2"),
        ]
        code = error_code(lambda: client.transition_model_version_stage(name, "3", "Live"))
        assert code == "INVALID_PARAMETER_VALUE"


class TestSearch:
    @pytest.fixture
    def models(self, client: MlflowClient, name: str) -> list[str]:
        names = [f"{name}-{i:02d}" for i in range(7)]
        for model in names:
            client.create_registered_model(model, tags={"group": name})
            client.create_model_version(model, "s3://bucket/a", run_id="run-a")
            client.create_model_version(model, "s3://bucket/b", run_id="run-b")
        return names

    def test_models_by_filter_with_ordering_across_pages(
        self, client: MlflowClient, name: str, models: list[str]
    ) -> None:
        seen: list[str] = []
        token = None
        pages = 0
        while True:
            page = client.search_registered_models(
                filter_string=f"tags.group = '{name}' AND name LIKE '{name}-%'",
                max_results=3,
                order_by=["name DESC"],
                page_token=token,
            )
            seen += [m.name for m in page]
            pages += 1
            token = page.token
            if not token:
                break
        assert pages == 3
        assert seen == sorted(models, reverse=True)

    def test_versions_by_filter_with_ordering_across_pages(
        self, client: MlflowClient, name: str, models: list[str]
    ) -> None:
        seen: list[tuple[str, str]] = []
        token = None
        while True:
            page = client.search_model_versions(
                filter_string=(
                    f"name LIKE '{name}-%' AND run_id IN ('run-b') AND version_number > 1"
                ),
                max_results=2,
                order_by=["name ASC"],
                page_token=token,
            )
            seen += [(v.name, v.version) for v in page]
            token = page.token
            if not token:
                break
        assert seen == [(model, "2") for model in models]

    def test_a_bad_filter_is_invalid_parameter_value(self, client: MlflowClient) -> None:
        for call in (
            lambda: client.search_registered_models(filter_string="name = "),
            lambda: client.search_registered_models(filter_string="name = 'x' OR name = 'y'"),
            lambda: client.search_model_versions(filter_string="colour = 'red'"),
            lambda: client.search_model_versions(order_by=["size DESC"]),
        ):
            assert error_code(call) == "INVALID_PARAMETER_VALUE"

    def test_errors_carry_the_message(self, client: MlflowClient) -> None:
        with pytest.raises(RestException, match="unterminated string at character 8"):
            client.search_model_versions(filter_string="name = 'x")


class TestLoggedModels:
    def test_log_register_and_load_a_scikit_learn_model(
        self, server: CharterServer, tracking_uri: str, client: MlflowClient, name: str
    ) -> None:
        features = np.array([[0.0], [1.0], [2.0], [3.0]])
        classifier = LogisticRegression().fit(features, np.array([0, 0, 1, 1]))
        with mlflow.start_run() as run:
            logged = mlflow.sklearn.log_model(
                classifier,
                name="model",
                registered_model_name=name,
                pip_requirements=["scikit-learn"],  # inferring them takes a subprocess and ~20 s
            )
        assert str(logged.registered_model_version) == "1"
        version = client.get_model_version(name, "1")
        assert (version.status, version.run_id) == ("READY", run.info.run_id)
        # The same version in the native API, its manifest taken from the logged model's files.
        native = httpx.get(f"{server.url}/api/v1/models/{name}/versions/1").json()
        files = httpx.get(f"{server.url}/api/v1/models/{name}/versions/1/files").json()
        assert native["source"] == logged.model_uri
        assert "MLmodel" in {f["path"] for f in files["files"]}
        client.set_registered_model_alias(name, "champion", "1")
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        assert list(loaded.predict(features)) == [0, 0, 1, 1]
        again = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        assert again.version == "2"
        reloaded = mlflow.sklearn.load_model(f"models:/{name}/2")
        assert list(reloaded.predict(features)) == [0, 0, 1, 1]


def test_the_server_log_has_no_tracebacks(server: CharterServer) -> None:
    assert "Traceback" not in server.log_text()
