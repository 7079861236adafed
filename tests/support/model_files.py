"""Real model files for the inspection tests, made in the test (no torch, nothing downloaded).

The hostile ones carry payloads that would create a marker file if anything ever loaded them;
the tests assert the marker never appears.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from safetensors.numpy import save as save_safetensors
from sklearn.linear_model import LogisticRegression

_INPUTS = [
    {"type": "double", "name": "amount", "required": True},
    {"type": "long", "name": "age", "required": True},
]
_OUTPUTS = [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
MLMODEL = f"""\
artifact_path: model
flavors:
  python_function:
    env: {{conda: conda.yaml, virtualenv: python_env.yaml}}
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.9
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.1.0
model_uuid: 0a1b2c
saved_input_example_info: {{artifact_path: input_example.json, type: dataframe}}
signature:
  inputs: '{json.dumps(_INPUTS)}'
  outputs: '{json.dumps(_OUTPUTS)}'
  params: null
"""


def onnx_model(inputs: int = 3, producer: str = "charter-tests", domain: str = "") -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", inputs])
    node = helper.make_node("Relu", ["x"], ["y"], domain=domain)
    graph = helper.make_graph([node], "relu", [x], [y])
    opsets = [helper.make_opsetid("", 17)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, producer_name=producer, opset_imports=opsets)
    return bytes(model.SerializeToString())


def safetensors_file() -> bytes:
    tensors = {
        "dense.weight": np.zeros((4, 3), dtype=np.float32),
        "dense.bias": np.ones(4, dtype=np.float32),
    }
    return bytes(save_safetensors(tensors, metadata={"format": "np"}))


def safetensors_claiming(bytes_claimed: int) -> bytes:
    """A safetensors header that claims one huge tensor over a few real bytes."""
    header = json.dumps(
        {"w": {"dtype": "U8", "shape": [bytes_claimed], "data_offsets": [0, bytes_claimed]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 16


def sklearn_pickle() -> bytes:
    rng = np.random.default_rng(0)
    features = rng.random((40, 3))
    labels = (features[:, 0] > 0.5).astype(int)
    return pickle.dumps(LogisticRegression().fit(features, labels))


class _Payload:
    """Pickles as a call that creates ``marker``: what a real attack would do, made harmless."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def malicious_pickle(marker: Path, protocol: int = 4) -> bytes:
    return pickle.dumps(_Payload(marker), protocol=protocol)


class _Unknown:
    """A class outside the allow-list; it is never loaded, only named."""


def unknown_global_pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "kind": _Unknown()})


def torch_zip(data_pkl: bytes, *, compression: int = zipfile.ZIP_STORED) -> bytes:
    """The layout ``torch.save`` writes: archive/data.pkl, archive/data/0, archive/version."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", np.arange(4, dtype=np.float32).tobytes())
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def torch_state_dict_pickle() -> bytes:
    """A data.pkl as torch.save writes for {"w": tensor}: torch globals and a persistent id."""
    return (
        b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02("
        b"(X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05"
        b"X\x03\x00\x00\x00cpuq\x06K\x04tq\x07QK\x00K\x04\x85q\x08K\x01\x85q\t\x89ccollections"
        b"\nOrderedDict\nq\n)Rq\x0btq\x0cRq\rs."
    )


def zip_bomb(expanded: int = 256 << 20) -> bytes:
    """A small PyTorch-looking zip whose data.pkl inflates to ``expanded`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("archive/data.pkl", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1 << 20)
            for _ in range(expanded >> 20):
                entry.write(chunk)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def gguf_file() -> bytes:
    def text(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw

    kv = text("general.architecture") + struct.pack("<I", 8) + text("llama")
    kv += text("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", 4096)
    kv += text("tokenizer.tokens") + struct.pack("<IIQ", 9, 8, 3)
    kv += text("a") + text("b") + text("c")
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 3) + kv


def load_for_control(data: bytes) -> None:
    """Unpickle for real: only the control test calls this, to prove a payload is live."""
    pickle.loads(data)


def check_onnx(data: bytes) -> None:
    onnx.checker.check_model(onnx.load_from_string(data))
