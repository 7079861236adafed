"""ONNX: opsets, producer, graph inputs and outputs with dtype and shape (the ``onnx`` package).

The model is parsed as protobuf with ``load_external_data=False``: no external file is opened
and nothing runs. An ONNX file cannot carry code unless it uses operators from a custom domain,
which need a native library to run; such files are flagged ``suspicious`` with the domains named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import CANNOT_CARRY_CODE, SUSPICIOUS, FileReport

FORMAT = "onnx"
STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)


def inspect(path: Path, limits: Limits) -> FileReport:
    import onnx  # imported here: only a child process that inspects ONNX pays for it

    size = path.stat().st_size
    if size > limits.max_onnx_bytes:
        raise InspectionFailed(f"ONNX file is {size} bytes; the limit is {limits.max_onnx_bytes}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, onnx's own errors: all mean corrupt
        raise InspectionFailed(f"ONNX file is corrupt or truncated: {exc}") from exc
    graph = model.graph
    if not graph.output and not graph.node:
        raise InspectionFailed("ONNX file has no graph: corrupt, truncated or not ONNX")
    initializers = {t.name for t in graph.initializer}
    opsets = [
        {"domain": o.domain or "ai.onnx", "version": int(o.version)} for o in model.opset_import
    ]
    used = {n.domain for n in graph.node} | {o.domain for o in model.opset_import}
    for function in model.functions:
        used |= {n.domain for n in function.node}
    custom = sorted(d for d in used if d not in STANDARD_DOMAINS and d not in _local(model))
    details: dict[str, Any] = {
        "ir_version": int(model.ir_version),
        "opsets": opsets,
        "producer_name": model.producer_name or None,
        "producer_version": model.producer_version or None,
        "graph_name": graph.name or None,
        "node_count": len(graph.node),
        "inputs": [_value(v) for v in graph.input if v.name not in initializers],
        "outputs": [_value(v) for v in graph.output],
        "custom_domains": custom,
    }
    if custom:
        reason = f"uses operators from custom domains {', '.join(custom)}, which run native code"
        return FileReport(FORMAT, SUSPICIOUS, reason=reason, details=details, suspicious=custom)
    return FileReport(FORMAT, CANNOT_CARRY_CODE, details=details)


def _local(model: Any) -> set[str]:
    """Domains of functions defined inside the model itself (their bodies are checked too)."""
    return {f.domain for f in model.functions}


def _value(info: Any) -> dict[str, Any]:
    from onnx import TensorProto

    kind = info.type.WhichOneof("value")
    if kind != "tensor_type":
        return {"name": info.name, "type": kind or "unknown", "dtype": None, "shape": None}
    tensor = info.type.tensor_type
    dtype = TensorProto.DataType.Name(tensor.elem_type).lower() if tensor.elem_type else None
    shape: list[int | str | None] | None = None
    if tensor.HasField("shape"):
        shape = [
            int(d.dim_value)
            if d.HasField("dim_value")
            else (d.dim_param if d.HasField("dim_param") else None)
            for d in tensor.shape.dim
        ]
    return {"name": info.name, "type": "tensor", "dtype": dtype, "shape": shape}
