"""Imports point one way (STYLE.md): interfaces -> services -> repositories -> models -> db.

Read from the source with ``ast`` (nothing is imported), so a new module is checked the day it
is written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import charter

PACKAGE = Path(charter.__file__).parent
INTERFACES = {"api", "cli", "web"}
WEB_FRAMEWORKS = {"fastapi", "starlette"}


def _areas() -> set[str]:
    return {
        p.name
        for p in PACKAGE.iterdir()
        if p.is_dir() and ((p / "service.py").exists() or (p / "repository.py").exists())
    }


AREAS = _areas()


def _imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every import in the package's source."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.relative_to(PACKAGE).parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield module, node.module


IMPORTS = list(_imports())


def _part(module: str, index: int) -> str:
    parts = module.split(".")
    return parts[index] if len(parts) > index else ""


def test_the_areas_are_found() -> None:
    assert {"registry", "artifacts", "tracking", "identity", "approvals", "audit"} <= AREAS
    assert len(IMPORTS) > 500


def test_only_the_http_layer_imports_the_web_framework() -> None:
    wrong = [
        (importer, imported)
        for importer, imported in IMPORTS
        if imported.split(".")[0] in WEB_FRAMEWORKS and _part(importer, 1) not in {"api", "web"}
    ]
    assert wrong == []


def test_nothing_below_the_interfaces_imports_them() -> None:
    wrong = [
        (importer, imported)
        for importer, imported in IMPORTS
        if imported.startswith("charter.")
        and _part(imported, 1) in INTERFACES
        and _part(importer, 1) not in INTERFACES
    ]
    assert wrong == []


def test_the_sdk_stands_alone_on_http() -> None:
    wrong = [
        (importer, imported)
        for importer, imported in IMPORTS
        if _part(importer, 1) == "client"
        and imported.startswith("charter.")
        and _part(imported, 1) != "client"
    ]
    assert wrong == []


def test_areas_call_each_others_services_never_their_repositories() -> None:
    wrong = [
        (importer, imported)
        for importer, imported in IMPORTS
        if _part(importer, 1) in AREAS
        and _part(imported, 1) in AREAS
        and _part(imported, 1) != _part(importer, 1)
        and _part(imported, 2) == "repository"
    ]
    assert wrong == []


def test_repositories_and_models_never_import_services() -> None:
    wrong = [
        (importer, imported)
        for importer, imported in IMPORTS
        if _part(importer, 1) in AREAS
        and _part(importer, 2) in {"repository", "models"}
        and imported.startswith("charter.")
        and _part(imported, 2) == "service"
    ]
    assert wrong == []
