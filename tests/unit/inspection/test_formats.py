"""Format introspection and pickle scanning on real files made in the test; nothing is loaded.

Hostile files carry payloads that would create a marker file if anything executed them; every
test that handles one asserts the marker is still absent afterwards.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from charter.inspection import sandbox
from charter.inspection.detect import inspect_file
from charter.inspection.limits import Limits
from charter.inspection.verdicts import FileReport
from tests.support import model_files

LIMITS = Limits()


def inspect(tmp_path: Path, name: str, data: bytes, limits: Limits = LIMITS) -> FileReport:
    path = tmp_path / "blob"
    path.write_bytes(data)
    return inspect_file(path, name, limits)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """Where a payload would leave its mark; asserted absent after each hostile test."""
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a payload was executed"


class TestSafetensors:
    def test_header_gives_tensors_dtypes_shapes_and_parameter_count(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.safetensors", model_files.safetensors_file())
        assert (report.format, report.verdict) == ("safetensors", "cannot_carry_code")
        assert report.details["tensors"] == [
            {"name": "dense.bias", "dtype": "F32", "shape": [4]},
            {"name": "dense.weight", "dtype": "F32", "shape": [4, 3]},
        ]
        assert report.details["parameter_count"] == 16
        assert report.details["metadata"] == {"format": "np"}

    def test_truncated_file_fails_with_a_reason(self, tmp_path: Path) -> None:
        data = model_files.safetensors_file()[:-10]
        report = inspect(tmp_path, "model.safetensors", data)
        assert report.verdict == "failed"
        assert "truncated" in (report.reason or "")

    def test_a_header_claiming_a_terabyte_is_refused_without_allocating(
        self, tmp_path: Path
    ) -> None:
        report = inspect(tmp_path, "model.safetensors", model_files.safetensors_claiming(1 << 40))
        assert report.verdict == "failed"
        assert "1099511627776" in (report.reason or "")
        assert "truncated or corrupt" in (report.reason or "")

    def test_a_header_length_past_the_file_or_the_limit_is_refused(self, tmp_path: Path) -> None:
        past_end = struct.pack("<Q", 1 << 40) + b"{}"
        report = inspect(tmp_path, "model.safetensors", past_end)
        assert report.verdict == "failed"
        assert "header claims" in (report.reason or "")
        small = Limits(max_header_bytes=8)
        report = inspect(tmp_path, "x.safetensors", model_files.safetensors_file(), small)
        assert report.verdict == "failed"
        assert "the limit is 8" in (report.reason or "")

    def test_a_header_that_is_not_json_fails(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "m.safetensors", struct.pack("<Q", 4) + b"{{{{")
        assert report.verdict == "failed"
        assert "not valid JSON" in (report.reason or "")


class TestOnnx:
    def test_opsets_producer_and_typed_inputs_and_outputs(self, tmp_path: Path) -> None:
        data = model_files.onnx_model()
        model_files.check_onnx(data)
        report = inspect(tmp_path, "model.onnx", data)
        assert (report.format, report.verdict) == ("onnx", "cannot_carry_code")
        assert report.details["producer_name"] == "charter-tests"
        assert {"domain": "ai.onnx", "version": 17} in report.details["opsets"]
        assert report.details["inputs"] == [
            {"name": "x", "type": "tensor", "dtype": "float", "shape": ["batch", 3]}
        ]
        assert report.details["outputs"][0]["name"] == "y"

    def test_custom_operator_domains_are_suspicious(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.onnx", model_files.onnx_model(domain="com.evil"))
        assert report.verdict == "suspicious"
        assert report.suspicious == ["com.evil"]

    @pytest.mark.parametrize("cut", [20, 60])
    def test_corrupt_or_truncated_onnx_fails_with_a_reason(self, tmp_path: Path, cut: int) -> None:
        report = inspect(tmp_path, "model.onnx", model_files.onnx_model()[:cut])
        assert report.verdict == "failed"
        assert "ONNX" in (report.reason or "")


class TestMLmodel:
    def test_flavors_signature_and_input_example(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model/MLmodel", model_files.MLMODEL.encode())
        assert report.format == "mlflow_mlmodel"
        assert report.details["flavors"] == ["python_function", "sklearn"]
        assert report.details["loader_module"] == "mlflow.sklearn"
        signature = report.details["signature"]
        assert [i["name"] for i in signature["inputs"]] == ["amount", "age"]
        assert signature["outputs"][0]["dtype"] == "int64"
        assert report.details["input_example"]["artifact_path"] == "input_example.json"

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("flavors: [unclosed", "not valid YAML"),
            ("artifact_path: x\n", "no flavors"),
            ("a: &x [1, 2]\nb: *x\nflavors: {x: {}}\n", "alias"),
            ("flavors: {sklearn: {}}\nsignature: {inputs: '[{bad'}\n", "not valid JSON"),
        ],
    )
    def test_bad_mlmodel_fails_with_a_reason(self, tmp_path: Path, text: str, problem: str) -> None:
        report = inspect(tmp_path, "MLmodel", text.encode())
        assert report.verdict == "failed"
        assert problem in (report.reason or "")

    def test_requirements_are_recorded(self, tmp_path: Path) -> None:
        text = b"# generated\nmlflow==3.1.0\nscikit-learn==1.5.0\n\n"
        report = inspect(tmp_path, "model/requirements.txt", text)
        assert report.details["requirements"] == ["mlflow==3.1.0", "scikit-learn==1.5.0"]


class TestGguf:
    def test_header_metadata(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.gguf", model_files.gguf_file())
        assert (report.format, report.verdict) == ("gguf", "cannot_carry_code")
        assert report.details["metadata"]["general.architecture"] == "llama"
        assert report.details["metadata"]["llama.context_length"] == 4096
        assert report.details["metadata"]["tokenizer.tokens"] == ["a", "b", "c"]

    def test_truncated_or_lying_header_fails(self, tmp_path: Path) -> None:
        data = model_files.gguf_file()
        assert "truncated" in (inspect(tmp_path, "m.gguf", data[:40]).reason or "")
        lying = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 50)
        assert "corrupt" in (inspect(tmp_path, "m.gguf", lying).reason or "")


class TestPickles:
    def test_a_real_sklearn_pickle_is_never_called_safe(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.pkl", model_files.sklearn_pickle())
        assert report.verdict == "no_known_dangerous_pattern"
        assert "cannot prove" in (report.reason or "")
        assert "sklearn.linear_model._logistic.LogisticRegression" in report.globals
        assert report.dangerous == []
        assert report.suspicious == []

    @pytest.mark.parametrize("protocol", [0, 2, 4, 5])
    def test_a_malicious_pickle_is_dangerous_and_never_executed(
        self, tmp_path: Path, marker: Path, protocol: int
    ) -> None:
        data = model_files.malicious_pickle(marker, protocol)
        report = inspect(tmp_path, "model.pkl", data)
        assert report.verdict == "dangerous"
        # Protocols 0 to 2 name the module as Python 2 did.
        expected = "__builtin__.exec" if protocol < 3 else "builtins.exec"
        assert report.dangerous == [expected]
        assert expected in report.globals

    def test_the_payload_is_live_when_really_unpickled(self, tmp_path: Path) -> None:
        control = tmp_path / "control-marker"
        model_files.load_for_control(model_files.malicious_pickle(control))
        assert control.exists()  # so the marker's absence elsewhere proves nothing ran

    def test_a_global_outside_the_allow_list_is_suspicious(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.pkl", model_files.unknown_global_pickle())
        assert report.verdict == "suspicious"
        assert report.suspicious == ["tests.support.model_files._Unknown"]

    def test_a_pickle_under_another_name_is_still_scanned(
        self, tmp_path: Path, marker: Path
    ) -> None:
        report = inspect(tmp_path, "notes.txt", model_files.malicious_pickle(marker))
        assert (report.format, report.verdict) == ("pickle", "dangerous")

    def test_truncated_pickle_fails_with_a_reason(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "model.pkl", model_files.sklearn_pickle()[:100])
        assert report.verdict == "failed"
        assert "could not be parsed" in (report.reason or "")

    def test_joblib_files_are_walked_past_their_inline_arrays(self, tmp_path: Path) -> None:
        path = tmp_path / "model.joblib"
        features = np.random.default_rng(0).random((20, 2))
        joblib.dump(LogisticRegression().fit(features, features[:, 0] > 0.5), path)
        report = inspect_file(path, "model.joblib", LIMITS)
        assert report.verdict == "no_known_dangerous_pattern"
        assert "sklearn.linear_model._logistic.LogisticRegression" in report.globals
        assert "joblib.numpy_pickle.NumpyArrayWrapper" in report.globals

    def test_a_payload_after_a_joblib_array_is_found(self, tmp_path: Path, marker: Path) -> None:
        path = tmp_path / "model.joblib"
        joblib.dump({"w": np.arange(1000.0), "hook": model_files._Payload(marker)}, path)
        report = inspect_file(path, "model.joblib", LIMITS)
        assert report.verdict == "dangerous"
        assert report.dangerous == ["builtins.exec"]

    def test_joblib_object_arrays_are_walked_as_the_pickles_they_are(
        self, tmp_path: Path, marker: Path
    ) -> None:
        hostile = np.empty(2, dtype=object)
        hostile[0], hostile[1] = "x", model_files._Payload(marker)
        path = tmp_path / "o.joblib"
        joblib.dump({"a": np.zeros(3), "objects": hostile, "b": np.ones(2)}, path)
        assert inspect_file(path, "o.joblib", LIMITS).verdict == "dangerous"

    def test_a_truncated_or_compressed_joblib_fails_with_a_reason(self, tmp_path: Path) -> None:
        path = tmp_path / "model.joblib"
        joblib.dump({"w": np.arange(1000.0), "z": [1, 2]}, path)
        path.write_bytes(path.read_bytes()[:600])
        report = inspect_file(path, "model.joblib", LIMITS)
        assert report.verdict == "failed"
        assert "could not be parsed" in (report.reason or "")
        compressed = tmp_path / "c.joblib"
        joblib.dump({"a": 1}, compressed, compress=3)
        assert "compressed" in (inspect_file(compressed, "c.joblib", LIMITS).reason or "")

    def test_a_pickle_longer_than_the_limit_fails(self, tmp_path: Path) -> None:
        data = pickle.dumps(list(range(10_000)))
        report = inspect(tmp_path, "big.pkl", data, Limits(max_pickle_bytes=1000))
        assert report.verdict == "failed"
        assert "limit" in (report.reason or "")


class TestNumpy:
    def test_a_plain_array_cannot_carry_code(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "w.npy", model_files.npy(np.zeros((2, 3))))
        assert (report.format, report.verdict) == ("numpy", "cannot_carry_code")
        assert report.details["shape"] == [2, 3]

    def test_an_object_array_is_scanned_as_the_pickle_it_is(
        self, tmp_path: Path, marker: Path
    ) -> None:
        clean = model_files.npy(np.array([{"a": 1}, None], dtype=object))
        assert inspect(tmp_path, "o.npy", clean).verdict == "no_known_dangerous_pattern"
        hostile = np.empty(1, dtype=object)
        hostile[0] = model_files._Payload(marker)
        report = inspect(tmp_path, "o.npy", model_files.npy(hostile))
        assert report.verdict == "dangerous"
        assert report.details["object_array"] is True


class TestPytorchZip:
    def test_a_torch_save_layout_is_recognised_and_its_pickle_scanned(self, tmp_path: Path) -> None:
        data = model_files.torch_zip(model_files.torch_state_dict_pickle())
        report = inspect(tmp_path, "model.pt", data)
        assert (report.format, report.verdict) == ("pytorch_zip", "no_known_dangerous_pattern")
        assert report.details["archive"] == "archive"
        assert report.details["version"] == "3"
        assert report.details["scanned"] == {"archive/data.pkl": "no_known_dangerous_pattern"}
        assert "torch._utils._rebuild_tensor_v2" in report.globals

    def test_a_malicious_data_pkl_is_dangerous(self, tmp_path: Path, marker: Path) -> None:
        data = model_files.torch_zip(model_files.malicious_pickle(marker))
        report = inspect(tmp_path, "pytorch_model.bin", data)
        assert (report.format, report.verdict) == ("pytorch_zip", "dangerous")
        assert "archive/data.pkl" in (report.reason or "")

    def test_a_zip_bomb_disguised_as_pytorch_fails_before_inflating(self, tmp_path: Path) -> None:
        bomb = model_files.zip_bomb()
        assert len(bomb) < (1 << 20)
        report = inspect(tmp_path, "model.pt", bomb)
        assert report.verdict == "failed"
        assert "zip bomb" in (report.reason or "")

    def test_too_many_entries_or_declared_bytes_fail(self, tmp_path: Path) -> None:
        data = model_files.torch_zip(model_files.torch_state_dict_pickle())
        few = inspect(tmp_path, "model.pt", data, Limits(max_zip_entries=2))
        assert "entries" in (few.reason or "")
        small = inspect(tmp_path, "model.pt", data, Limits(max_zip_bytes=10))
        assert "would expand" in (small.reason or "")

    def test_a_corrupt_zip_fails(self, tmp_path: Path) -> None:
        data = model_files.torch_zip(model_files.torch_state_dict_pickle())
        report = inspect(tmp_path, "model.pt", data[:60])
        assert report.verdict == "failed"

    def test_a_legacy_torch_file_is_scanned_pickle_by_pickle(
        self, tmp_path: Path, marker: Path
    ) -> None:
        magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
        legacy = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2)
        clean = legacy + model_files.torch_state_dict_pickle() + pickle.dumps(["0"], 2)
        report = inspect(tmp_path, "old.pth", clean + b"\x00" * 16)
        assert (report.format, report.verdict) == ("pytorch_legacy", "no_known_dangerous_pattern")
        hostile = legacy + model_files.malicious_pickle(marker, 2)
        assert inspect(tmp_path, "old.pth", hostile).verdict == "dangerous"


class TestOtherFiles:
    def test_unknown_files_are_not_scanned(self, tmp_path: Path) -> None:
        report = inspect(tmp_path, "README.md", b"# my model\n")
        assert (report.format, report.verdict) == ("unknown", "not_scanned")

    def test_an_ordinary_zip_without_pickles_is_not_scanned(self, tmp_path: Path) -> None:
        path = tmp_path / "bundle.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{}")
        report = inspect_file(path, "bundle.zip", LIMITS)
        assert (report.format, report.verdict) == ("zip", "not_scanned")


class TestSandbox:
    def test_the_child_process_reports_like_the_inspector(
        self, tmp_path: Path, marker: Path
    ) -> None:
        path = tmp_path / "model.pkl"
        path.write_bytes(model_files.malicious_pickle(marker))
        report = sandbox.run(path, "model.pkl", LIMITS)
        assert (report.format, report.verdict) == ("pickle", "dangerous")

    def test_an_inspection_that_takes_too_long_is_killed_and_recorded(self, tmp_path: Path) -> None:
        path = tmp_path / "model.onnx"
        path.write_bytes(model_files.onnx_model())
        report = sandbox.run(path, "model.onnx", Limits(timeout_seconds=0.001))
        assert report.verdict == "failed"
        assert "timed out" in (report.reason or "")
