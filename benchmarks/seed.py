"""Seeds a registry in process, through each server's own store, with one shared data set.

Version ``i`` (0-based) belongs to model ``i % models`` and carries three tags, so that
filters are selective in realistic ways at 100,000 versions over 1,000 models:

- ``team``: one of 20 values, fixed per model: a filter matches 5% of all versions;
- ``framework``: one of 5 values, fixed per model: 20%;
- ``dataset``: one of 1,000 values spread over models: 0.1% (100 versions at 100,000).

Every model also gets the alias ``champion`` on its first version, for get-by-alias reads.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MODELS = 1000
BATCH = 1000
FRAMEWORKS = ("sklearn", "pytorch", "xgboost", "lightgbm", "tensorflow")
SOURCE = "s3://b/x"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Dataset:
    """The shape of the seeded data, shared by every store and every workload."""

    models: int = MODELS

    def model_name(self, index: int) -> str:
        return f"model-{index % self.models:05d}"

    def version_tags(self, i: int) -> dict[str, str]:
        model = i % self.models
        return {
            "team": f"team-{model % 20:02d}",
            "framework": FRAMEWORKS[model % len(FRAMEWORKS)],
            "dataset": f"ds-{(i * 7919) % 1000:04d}",
        }

    def versions_of(self, model: int, total: int) -> int:
        """How many seeded versions ``model`` has when ``total`` versions are seeded."""
        return total // self.models + (1 if model % self.models < total % self.models else 0)


def _batches(start: int, stop: int) -> Iterator[range]:
    for first in range(start, stop, BATCH):
        yield range(first, min(first + BATCH, stop))


def seed_charter(
    data_dir: Path, start: int, stop: int, data: Dataset, progress: Progress | None = None
) -> float:
    """Versions ``start..stop-1`` through Charter's services; models first when ``start`` is 0."""
    from charter import migrate
    from charter.config import Settings
    from charter.context import RequestContext
    from charter.db import Database, create_db_engine
    from charter.registry.lifecycle import LifecycleService
    from charter.registry.model_service import ModelService
    from charter.registry.service import VersionService

    began = time.perf_counter()
    engine = create_db_engine(Settings(data_dir=data_dir))
    db = Database(engine)
    ctx = RequestContext()
    try:
        migrate.upgrade(engine)
        if start == 0:
            with db.transaction() as session:
                models = ModelService(session, ctx)
                for m in range(data.models):
                    models.create(data.model_name(m), tags={"owner_team": f"team-{m % 20:02d}"})
        for batch in _batches(start, stop):
            with db.transaction() as session:
                versions = VersionService(session, ctx)
                for i in batch:
                    versions.create(data.model_name(i), source=SOURCE, tags=data.version_tags(i))
                if batch.start == 0:
                    lifecycle = LifecycleService(session, ctx)
                    for m in range(min(data.models, batch.stop)):
                        lifecycle.set_alias(data.model_name(m), "champion", 1)
            if progress:
                progress(batch.stop, stop)
    finally:
        engine.dispose()
    return time.perf_counter() - began


def seed_mlflow(
    db_uri: str, start: int, stop: int, data: Dataset, progress: Progress | None = None
) -> float:
    """The same data through MLflow's own ``SqlAlchemyStore`` (one transaction per call)."""
    from mlflow.entities.model_registry import ModelVersionTag
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    began = time.perf_counter()
    store = SqlAlchemyStore(db_uri)
    try:
        if start == 0:
            for m in range(data.models):
                store.create_registered_model(data.model_name(m))
        for batch in _batches(start, stop):
            for i in batch:
                tags = [ModelVersionTag(k, v) for k, v in data.version_tags(i).items()]
                store.create_model_version(data.model_name(i), SOURCE, tags=tags)
            if batch.start == 0:
                for m in range(min(data.models, batch.stop)):
                    store.set_registered_model_alias(data.model_name(m), "champion", "1")
            if progress:
                progress(batch.stop, stop)
    finally:
        store.engine.dispose()
    return time.perf_counter() - began


def print_progress(label: str, done: int, stop: int) -> None:
    if done % 10_000 == 0 or done == stop:
        print(f"  {label}: seeded {done:,}/{stop:,} versions", flush=True)


def seed_charter_dir(total: int, data: Dataset, target: Path) -> float:
    return seed_charter(target, 0, total, data, functools.partial(print_progress, "charter"))


def seed_mlflow_dir(total: int, data: Dataset, target: Path) -> float:
    uri = f"sqlite:///{target / 'mlflow.db'}"
    return seed_mlflow(uri, 0, total, data, functools.partial(print_progress, "mlflow"))


SEEDERS = {"charter": seed_charter_dir, "mlflow": seed_mlflow_dir}


def prepare(kind: str, cache_root: Path, target: Path, total: int, data: Dataset) -> str:
    """``target`` holding ``total`` seeded versions for ``kind`` (charter or mlflow)."""
    seeder = functools.partial(SEEDERS[kind], total, data)
    return cached_seed(kind, cache_root, target, total, seeder)


def store_version(kind: str) -> str:
    """What a seeded copy depends on: Charter's schema revision, or MLflow's version."""
    if kind == "charter":
        from charter.migrate import head_revision

        return (head_revision() or "none").replace(",", "+")
    import mlflow

    return mlflow.__version__


def cached_seed(
    kind: str, cache_root: Path, target: Path, total: int, seed: Callable[[Path], float]
) -> str:
    """Seeds ``target`` with ``total`` versions, or copies a seeded copy kept from a past run.

    Seeding is deterministic, so a copy made by the same store version is the same data.
    """
    cache = cache_root / f"{kind}-{total}-{store_version(kind)}"
    if target.exists():
        shutil.rmtree(target)
    if cache.is_dir():
        shutil.copytree(cache, target)
        return f"copied from {cache}"
    older = _older_charter_copy(kind, cache_root, total)
    if older is not None:
        # New migrations only add tables and indexes: upgrading a copy gives the same data.
        shutil.copytree(older, target)
        _upgrade_charter(target)
        _keep(target, cache)
        return f"copied from {older} and upgraded"
    target.mkdir(parents=True)
    seconds = seed(target)
    _keep(target, cache)
    return f"seeded in {seconds:.0f} s"


def _keep(target: Path, cache: Path) -> None:
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(target, partial)
    partial.rename(cache)


def _older_charter_copy(kind: str, cache_root: Path, total: int) -> Path | None:
    if kind != "charter" or not cache_root.is_dir():
        return None
    copies = [
        p
        for p in cache_root.glob(f"charter-{total}-*")
        if p.is_dir() and not p.name.endswith(".partial")
    ]
    return max(copies, key=lambda p: p.stat().st_mtime, default=None)


def _upgrade_charter(target: Path) -> None:
    from sqlalchemy import create_engine

    from charter.migrate import upgrade

    engine = create_engine(f"sqlite:///{target / 'charter.db'}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
