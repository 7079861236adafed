"""Request and response shapes of the tracking area, in MLflow's wire format.

Field names, types and enum spellings follow ``mlflow/protos/service.proto`` so the official
client parses them unchanged: ids of experiments are strings, times are integer milliseconds,
non-finite doubles travel as "NaN" / "Infinity" / "-Infinity" (protobuf's JSON mapping).
Requests ignore fields they do not know, as protobuf parsing does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ViewType = Literal["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]


# Base of what clients send: unknown fields are ignored, as protobuf parsing does.
class Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Base of what Charter answers: non-finite doubles as protobuf's JSON strings.
class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings")


# -- pieces shared by requests ----------------------------------------------------------------


# A key/value pair sent by the client: a tag of an experiment, a run or a logged model.
class TagIn(Request):
    key: str
    value: str = ""


# A run parameter or logged-model parameter sent by the client.
class ParamIn(Request):
    key: str
    value: str = ""


# One metric point sent by the client.
class MetricIn(Request):
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


# A dataset as the client describes it in log-inputs.
class DatasetIn(Request):
    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None


# One dataset input of a run, with its tags (e.g. mlflow.data.context).
class DatasetInputIn(Request):
    tags: list[TagIn] = Field(default_factory=list)
    dataset: DatasetIn


# A logged model that a run used.
class ModelInputIn(Request):
    model_id: str


# A logged model that a run produced, at a step.
class ModelOutputIn(Request):
    model_id: str
    step: int = 0


# -- experiments ------------------------------------------------------------------------------


# What the client sends to create an experiment.
class ExperimentCreate(Request):
    name: str | None = None
    artifact_location: str | None = None
    tags: list[TagIn] = Field(default_factory=list)


# Delete or restore an experiment.
class ExperimentRef(Request):
    experiment_id: str


# Rename an experiment.
class ExperimentUpdate(Request):
    experiment_id: str
    new_name: str | None = None


# Set a tag of an experiment.
class ExperimentTagSet(Request):
    experiment_id: str
    key: str
    value: str = ""


# Delete a tag of an experiment.
class ExperimentTagDelete(Request):
    experiment_id: str
    key: str


# Search experiments.
class ExperimentSearch(Request):
    max_results: int | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    view_type: ViewType = "ACTIVE_ONLY"


# A tag as returned.
class TagRead(Read):
    key: str
    value: str


# An experiment as MLflow returns it.
class ExperimentRead(Read):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: list[TagRead]


# -- runs -------------------------------------------------------------------------------------


# What the client sends to start a run.
class RunCreate(Request):
    experiment_id: str | None = None
    user_id: str | None = None
    run_name: str | None = None
    start_time: int | None = None
    tags: list[TagIn] = Field(default_factory=list)


# MLflow clients send a run's id as run_id, and older ones as run_uuid.
class RunAddressed(Request):
    run_id: str | None = None
    run_uuid: str | None = None

    @property
    def id(self) -> str | None:
        return self.run_id or self.run_uuid


# Change a run's status, end time or name.
class RunUpdate(RunAddressed):
    status: str | None = None
    end_time: int | None = None
    run_name: str | None = None


# Log one metric point.
class MetricLog(RunAddressed):
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


# Log one parameter, or set one tag.
class KeyValueLog(RunAddressed):
    key: str
    value: str = ""


# Delete one tag of a run.
class RunTagDelete(RunAddressed):
    key: str


# Log metrics, params and tags in one request (MLflow's batch limits apply).
class BatchLog(RunAddressed):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[ParamIn] = Field(default_factory=list)
    tags: list[TagIn] = Field(default_factory=list)


# Record the datasets and logged models a run used.
class InputsLog(RunAddressed):
    datasets: list[DatasetInputIn] = Field(default_factory=list)
    models: list[ModelInputIn] = Field(default_factory=list)


# Record the logged models a run produced.
class OutputsLog(RunAddressed):
    models: list[ModelOutputIn] = Field(default_factory=list)


# MLflow 2's record of a model logged in a run (kept in the mlflow.log-model.history tag).
class ModelHistoryLog(RunAddressed):
    model_json: str


# Search runs.
class RunSearch(Request):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    run_view_type: ViewType = "ACTIVE_ONLY"
    max_results: int | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


# A parameter as returned.
class ParamRead(Read):
    key: str
    value: str


# A metric point as returned.
class MetricRead(Read):
    key: str
    value: float
    timestamp: int
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


# A run's identity and state.
class RunInfoRead(Read):
    run_id: str
    run_uuid: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None = None
    artifact_uri: str
    lifecycle_stage: str


# What a run logged: latest metrics, params and tags.
class RunDataRead(Read):
    metrics: list[MetricRead]
    params: list[ParamRead]
    tags: list[TagRead]


# A dataset as returned.
class DatasetRead(Read):
    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(default=None, serialization_alias="schema")
    profile: str | None = None


# One dataset input of a run.
class DatasetInputRead(Read):
    tags: list[TagRead]
    dataset: DatasetRead


# A logged model a run used.
class ModelInputRead(Read):
    model_id: str


# A logged model a run produced.
class ModelOutputRead(Read):
    model_id: str
    step: int


# The datasets and logged models a run used.
class RunInputsRead(Read):
    dataset_inputs: list[DatasetInputRead]
    model_inputs: list[ModelInputRead]


# The logged models a run produced.
class RunOutputsRead(Read):
    model_outputs: list[ModelOutputRead]


# A run as MLflow returns it.
class RunRead(Read):
    info: RunInfoRead
    data: RunDataRead
    inputs: RunInputsRead
    outputs: RunOutputsRead


# -- logged models ----------------------------------------------------------------------------


# What the client sends to create a logged model.
class LoggedModelCreate(Request):
    experiment_id: str
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[ParamIn] = Field(default_factory=list)
    tags: list[TagIn] = Field(default_factory=list)


# Mark a logged model's upload as done (READY) or failed.
class LoggedModelFinalize(Request):
    status: str


# Set tags of a logged model.
class LoggedModelTagsSet(Request):
    tags: list[TagIn] = Field(default_factory=list)


# Log parameters of a logged model.
class LoggedModelParamsLog(Request):
    params: list[ParamIn] = Field(default_factory=list)


# One ordering of a logged-model search.
class LoggedModelOrder(Request):
    field_name: str
    ascending: bool = True


# Search logged models.
class LoggedModelSearch(Request):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    max_results: int | None = None
    order_by: list[LoggedModelOrder] = Field(default_factory=list)
    page_token: str | None = None


# A logged model's identity, state, location and tags.
class LoggedModelInfoRead(Read):
    model_id: str
    experiment_id: str
    name: str
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    artifact_uri: str
    status: str
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: list[TagRead]


# A logged model's params and the metrics logged for it.
class LoggedModelDataRead(Read):
    params: list[ParamRead]
    metrics: list[MetricRead]


# A logged model as MLflow returns it.
class LoggedModelRead(Read):
    info: LoggedModelInfoRead
    data: LoggedModelDataRead
