"""Request and response shapes of the signatures area."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from charter.artifacts.schemas import VerifyProblem
from charter.registry.schemas import Strict, Timestamp


# What a client sends to sign a version: the bundle model_signing wrote, and the public key
# (PEM) that verifies it. The private key never leaves the client.
class SignatureCreate(Strict):
    bundle: str
    public_key: str


# A stored signature, with the bundle and key anyone can verify it with.
class SignatureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model: str
    version: int
    key_fingerprint: str
    manifest_digest: str
    created_by: str
    created_at: Timestamp
    bundle: str
    public_key: str


class SignatureList(BaseModel):
    signatures: list[SignatureRead]


# The check of one stored signature against the version as it is now.
class SignatureCheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_fingerprint: str
    ok: bool
    problems: list[VerifyProblem]


# Every file re-hashed from the blob store and every signature checked against the manifest.
class SignatureVerifyReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    version: int
    manifest_digest: str | None
    files_checked: int
    file_problems: list[VerifyProblem]
    signed: bool
    signatures: list[SignatureCheckRead]
    ok: bool
