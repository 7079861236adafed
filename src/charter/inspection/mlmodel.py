"""MLflow's ``MLmodel`` file (flavors, signature, input example) and ``requirements.txt``.

Both are text, read with a size limit; the YAML with ``yaml.safe_load`` semantics (no Python
objects) and without aliases, which could make a small document expand into a huge one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import CANNOT_CARRY_CODE, NOT_SCANNED, FileReport

FORMAT = "mlflow_mlmodel"
REQUIREMENTS = "requirements"
MAX_TEXT_BYTES = 10 << 20
MAX_REQUIREMENTS = 1000


def inspect(path: Path, limits: Limits) -> FileReport:
    data = _load_yaml(_read_text(path, min(limits.max_header_bytes, MAX_TEXT_BYTES), "MLmodel"))
    if not isinstance(data, dict):
        raise InspectionFailed("MLmodel is not a YAML mapping")
    flavors = data.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise InspectionFailed("MLmodel has no flavors: not an MLflow model")
    pyfunc = flavors.get("python_function")
    details: dict[str, Any] = {
        "flavors": sorted(str(f) for f in flavors),
        "loader_module": pyfunc.get("loader_module") if isinstance(pyfunc, dict) else None,
        "env": pyfunc.get("env") if isinstance(pyfunc, dict) else None,
        "mlflow_version": _text(data.get("mlflow_version")),
        "run_id": _text(data.get("run_id")),
        "model_uuid": _text(data.get("model_uuid")),
        "signature": signature(data.get("signature")),
        "input_example": _example(data.get("saved_input_example_info")),
    }
    # The YAML describes the model; the files it names (pickles, ...) are scanned on their own.
    return FileReport(FORMAT, CANNOT_CARRY_CODE, details=details)


def inspect_requirements(path: Path, limits: Limits) -> FileReport:
    text = _read_text(path, min(limits.max_header_bytes, MAX_TEXT_BYTES), "requirements.txt")
    lines = [line.strip() for line in text.splitlines()]
    wanted = [line for line in lines if line and not line.startswith("#")]
    details = {"requirements": wanted[:MAX_REQUIREMENTS], "count": len(wanted)}
    return FileReport(REQUIREMENTS, NOT_SCANNED, details=details)


def signature(value: Any) -> dict[str, Any] | None:
    """MLflow's signature (inputs, outputs and params as JSON strings) as plain lists."""
    if not isinstance(value, dict):
        return None
    result: dict[str, Any] = {}
    for part in ("inputs", "outputs", "params"):
        raw = value.get(part)
        if raw is None:
            continue
        try:
            specs = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise InspectionFailed(f"MLmodel signature {part} is not valid JSON: {exc}") from exc
        if not isinstance(specs, list):
            raise InspectionFailed(f"MLmodel signature {part} is not a list")
        result[part] = [_spec(i, s) for i, s in enumerate(specs)]
    return result


def _spec(index: int, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise InspectionFailed(f"MLmodel signature entry {index} is not a mapping")
    tensor = spec.get("tensor-spec")
    if isinstance(tensor, dict):
        return {
            "name": _text(spec.get("name")) or f"#{index}",
            "type": "tensor",
            "dtype": _text(tensor.get("dtype")),
            "shape": tensor.get("shape"),
        }
    return {
        "name": _text(spec.get("name")) or f"#{index}",
        "type": _text(spec.get("type")),
        "dtype": None,
        "shape": spec.get("shape"),
    }


def _example(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    keys = ("artifact_path", "type", "pandas_orient", "format", "serving_input_path")
    return {k: _text(value[k]) for k in keys if k in value}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _read_text(path: Path, limit: int, what: str) -> str:
    size = path.stat().st_size
    if size > limit:
        raise InspectionFailed(f"{what} is {size} bytes; the limit is {limit}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InspectionFailed(f"{what} is not UTF-8 text: {exc}") from exc


def _load_yaml(text: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InspectionFailed("MLmodel is empty")
        _refuse_aliases(node, set())
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InspectionFailed(f"MLmodel is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise InspectionFailed("MLmodel is nested too deeply") from exc
    finally:
        loader.dispose()


def _refuse_aliases(node: yaml.Node, seen: set[int]) -> None:
    if id(node) in seen:
        raise InspectionFailed("MLmodel reuses a value through a YAML alias; refused")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _refuse_aliases(key, seen)
            _refuse_aliases(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_aliases(item, seen)
