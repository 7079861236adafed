"""The envelopes MLflow wraps its tracking answers in (``{"run": …}``, ``{"runs": […]}``, …)."""

from __future__ import annotations

from charter.tracking.artifact_schemas import FileInfoRead
from charter.tracking.schemas import (
    ExperimentRead,
    LoggedModelRead,
    MetricRead,
    Read,
    RunInfoRead,
    RunRead,
)


# The answer of calls that return nothing.
class Empty(Read):
    pass


class ExperimentCreated(Read):
    experiment_id: str


class ExperimentResponse(Read):
    experiment: ExperimentRead


class ExperimentsPage(Read):
    experiments: list[ExperimentRead]
    next_page_token: str | None = None


class RunResponse(Read):
    run: RunRead


class RunInfoResponse(Read):
    run_info: RunInfoRead


class RunsPage(Read):
    runs: list[RunRead]
    next_page_token: str | None = None


class MetricsPage(Read):
    metrics: list[MetricRead]
    next_page_token: str | None = None


class LoggedModelResponse(Read):
    model: LoggedModelRead


class LoggedModelsPage(Read):
    models: list[LoggedModelRead]
    next_page_token: str | None = None


# A run's artifacts under a path (the tracking API's artifacts/list).
class RunArtifacts(Read):
    root_uri: str
    files: list[FileInfoRead]


# A directory of the artifact namespace (the mlflow-artifacts API's list).
class ArtifactFiles(Read):
    files: list[FileInfoRead]
