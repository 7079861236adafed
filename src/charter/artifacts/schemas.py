"""Request and response shapes of the artifacts area."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


# One file of a version's manifest.
class FileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    path: str
    size: int
    sha256: str


# A version's manifest: its files and the digest that identifies its content.
class ManifestRead(BaseModel):
    model: str
    version: int
    status: str
    manifest_digest: str | None
    files: list[FileRead]


# A file the client says it uploaded, to be checked at finalize.
class ExpectedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


# What a client sends to finalize a version; both checks are optional.
class FinalizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_files: list[ExpectedFile] | None = None
    expected_digest: str | None = None


# One discrepancy found while verifying a version's files.
class VerifyProblem(BaseModel):
    path: str | None
    problem: str


# The result of recomputing every hash of a version.
class VerifyReport(BaseModel):
    model: str
    version: int
    manifest_digest: str | None
    files_checked: int
    bytes_checked: int
    ok: bool
    problems: list[VerifyProblem]
