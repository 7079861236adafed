"""What the rest of Charter asks of the tracking area: which files a model source names.

The registry calls ``TrackingService(session, ctx).resolve_source(source, run_id, model_id)``
when a version is created from a source URI (MLflow's way): when the URI points into Charter's
own artifact namespace, the version's manifest is taken from those files (the bytes are
already in the blob store, so nothing is copied); otherwise the source is external.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.tracking.artifact_repository import TrackedArtifactRepository
from charter.tracking.artifact_store import ARTIFACTS_SCHEME, clean_path, namespace_path
from charter.tracking.model_repository import LoggedModelRepository
from charter.tracking.models import LoggedModel, Run
from charter.tracking.repository import RunRepository

PROXY_ROUTES = ("/api/2.0/mlflow-artifacts/artifacts/", "/ajax-api/2.0/mlflow-artifacts/artifacts/")
LOGGED_MODEL_PREFIX = "m-"


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to ResolvedSource.prefix, e.g. "MLmodel", "model.pkl"
    size: int
    sha256: str


@dataclass(frozen=True)
class ResolvedSource:
    """A source inside Charter's artifact namespace and the files under it."""

    prefix: str  # namespace path, e.g. "1/models/m-0a1b…/artifacts"
    download_uri: str  # "mlflow-artifacts:/1/models/m-0a1b…/artifacts": what clients download
    files: list[SourceFile]  # sorted by path; empty when nothing was uploaded there
    run_id: str | None  # the run that produced it, when known
    model_id: str | None  # the logged model it is, when known

    def entries(self) -> list[tuple[str, int, str]]:
        """(path, size, sha256) triples, as ``ArtifactService.adopt_files`` takes them."""
        return [(f.path, f.size, f.sha256) for f in self.files]


class TrackingService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.runs = RunRepository(session)
        self.models = LoggedModelRepository(session)
        self.files = TrackedArtifactRepository(session)

    def resolve_source(
        self, source: str, run_id: str | None, model_id: str | None
    ) -> ResolvedSource | None:
        """The files a model version's ``source`` names, or None when it is outside Charter.

        Understood forms (anything else, e.g. ``s3://…``, ``file://…`` or
        ``models:/<name>/<version>``, returns None):

        - ``mlflow-artifacts:/<path>`` (and ``mlflow-artifacts://host/<path>``);
        - ``runs:/<run_id>/<subpath>``: the run's artifacts below ``subpath``; when there
          are none and the run logged an MLflow 3 model named ``subpath``, that model's
          artifacts (what the mlflow client does for ``register_model("runs:/…")``);
        - ``models:/m-<id>`` (a logged model, optionally ``/<subpath>``);
        - ``http(s)://<host>/api/2.0/mlflow-artifacts/artifacts/<path>``.

        A run or logged-model id pointing into an external location (an experiment created
        with ``s3://`` artifacts) also returns None. ``run_id`` and ``model_id`` are the
        caller's hints for lineage: the result's ids come from the source when it names
        them (the source wins), else from the hints. Raises NotFound for an unknown run or
        logged model and InvalidArgument for a path with traversal or the namespace root.
        """
        parsed = urlparse(source)
        if parsed.scheme == "runs":
            return self._from_run(parsed.netloc + parsed.path, model_id)
        if parsed.scheme == "models":
            return self._from_models_uri(parsed.netloc + parsed.path, run_id)
        if parsed.scheme in ("http", "https"):
            path = _proxy_path(parsed.path)
            return None if path is None else self._resolve(path, run_id, model_id)
        if parsed.scheme == ARTIFACTS_SCHEME:
            return self._resolve(parsed.path.strip("/"), run_id, model_id)
        return None

    def _from_run(self, path: str, model_id: str | None) -> ResolvedSource | None:
        run_id, _, subpath = path.strip("/").partition("/")
        run = self._run(run_id)
        base = namespace_path(run.artifact_uri)
        if base is None:
            return None
        subpath = subpath.strip("/")
        prefix = posixpath.join(base, clean_path(subpath)) if subpath else base
        resolved = self._resolve(prefix, run.id, model_id)
        if resolved.files or not subpath:
            return resolved
        logged = self.models.by_run_and_name(run.id, subpath)
        return self._from_model(logged[0], "", run.id) if logged else resolved

    def _from_models_uri(self, path: str, run_id: str | None) -> ResolvedSource | None:
        model_id, _, subpath = path.strip("/").partition("/")
        if not model_id.startswith(LOGGED_MODEL_PREFIX):
            return None  # models:/<name>/<version> names a registered version, not files
        model = self.models.get(model_id)
        if model is None or model.deleted_at is not None:
            raise NotFound(f"Logged model with ID '{model_id}' not found", model_id=model_id)
        return self._from_model(model, subpath.strip("/"), run_id)

    def _from_model(
        self, model: LoggedModel, subpath: str, run_id: str | None
    ) -> ResolvedSource | None:
        base = namespace_path(model.artifact_location)
        if base is None:
            return None
        prefix = posixpath.join(base, clean_path(subpath)) if subpath else base
        return self._resolve(prefix, model.source_run_id or run_id, model.id)

    def _resolve(self, prefix: str, run_id: str | None, model_id: str | None) -> ResolvedSource:
        prefix = prefix.strip("/")
        if not prefix:
            raise InvalidArgument(
                "source must name a directory below the artifact root, not the root itself",
                field="source",
            )
        prefix = clean_path(prefix)
        single = self.files.get(prefix)
        if single is not None:
            files = [SourceFile(posixpath.basename(prefix), single.size, single.sha256)]
        else:
            start = len(prefix) + 1
            files = [
                SourceFile(f.path[start:], f.size, f.sha256) for f in self.files.files_below(prefix)
            ]
        known_run, known_model = self._ids_in(prefix)
        return ResolvedSource(
            prefix=prefix,
            download_uri=f"{ARTIFACTS_SCHEME}:/{prefix}",
            files=files,
            run_id=known_run or run_id,
            model_id=known_model or model_id,
        )

    def _ids_in(self, prefix: str) -> tuple[str | None, str | None]:
        """The run or logged model whose artifacts ``prefix`` lies in, by MLflow's layout:
        ``<experiment>/<run_id>/artifacts/…`` or ``<experiment>/models/<model_id>/artifacts/…``.
        """
        segments = prefix.split("/")
        if len(segments) >= 4 and segments[1] == "models" and segments[3] == "artifacts":
            model = self.models.get(segments[2])
            if model is not None:
                return model.source_run_id, model.id
        if len(segments) >= 3 and segments[2] == "artifacts":
            run = self.runs.get(segments[1])
            if run is not None:
                return run.id, None
        return None, None

    def _run(self, run_id: str) -> Run:
        run = self.runs.get(run_id) if run_id else None
        if run is None:
            raise NotFound(f"Run with id={run_id} not found", run_id=run_id)
        return run


def _proxy_path(url_path: str) -> str | None:
    for route in PROXY_ROUTES:
        _, found, tail = url_path.partition(route)
        if found:
            return unquote(tail)
    return None
