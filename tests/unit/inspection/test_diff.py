"""The pure parts of a version diff, and how verdicts combine."""

from __future__ import annotations

from charter.inspection.diff import files_diff, mapping_diff, signature_diff
from charter.inspection.verdicts import FILE_VERDICTS, worst


class TestMappingDiff:
    def test_added_removed_and_changed_keys_with_numeric_deltas(self) -> None:
        diff = mapping_diff({"auc": 0.8, "loss": 0.3, "f1": 0.5}, {"auc": 0.9, "f1": 0.5, "n": 3})
        assert diff.added == {"n": 3}
        assert diff.removed == {"loss": 0.3}
        assert diff.changed["auc"]["a"] == 0.8
        assert diff.changed["auc"]["b"] == 0.9
        assert abs(diff.changed["auc"]["delta"] - 0.1) < 1e-9
        assert "f1" not in diff.changed


class TestSignatureDiff:
    def test_inputs_added_removed_and_changed_by_name(self) -> None:
        a = {"inputs": [{"name": "x", "dtype": "float"}, {"name": "old", "dtype": "int64"}]}
        b = {"inputs": [{"name": "x", "dtype": "double"}, {"name": "new", "dtype": "int64"}]}
        diff = signature_diff(a, b)
        assert list(diff.inputs.added) == ["new"]
        assert list(diff.inputs.removed) == ["old"]
        assert diff.inputs.changed["x"]["b"]["dtype"] == "double"
        assert diff.a_available
        assert diff.b_available

    def test_a_missing_signature_is_said_so(self) -> None:
        diff = signature_diff(None, {"outputs": [{"name": "y"}]})
        assert not diff.a_available
        assert list(diff.outputs.added) == ["y"]


class TestFilesDiff:
    def test_files_by_path_and_hash(self) -> None:
        a = [("model.pkl", 10, "a" * 64), ("MLmodel", 5, "b" * 64), ("gone", 1, "c" * 64)]
        b = [("model.pkl", 11, "d" * 64), ("MLmodel", 5, "b" * 64), ("new", 2, "e" * 64)]
        diff = files_diff(a, b)
        assert [f["path"] for f in diff.added] == ["new"]
        assert [f["path"] for f in diff.removed] == ["gone"]
        assert diff.changed == [
            {
                "path": "model.pkl",
                "a_sha256": "a" * 64,
                "b_sha256": "d" * 64,
                "a_size": 10,
                "b_size": 11,
            }
        ]
        assert diff.unchanged == 1


class TestVerdicts:
    def test_the_worst_verdict_wins_and_nothing_is_ever_called_safe(self) -> None:
        assert worst(["cannot_carry_code", "suspicious", "no_known_dangerous_pattern"]) == (
            "suspicious"
        )
        assert worst(["suspicious", "dangerous", "failed"]) == "dangerous"
        assert worst([]) == "not_scanned"
        assert "safe" not in FILE_VERDICTS
