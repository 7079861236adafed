"""What the SDK returns: immutable, typed views of the native API's responses.

Unknown fields are ignored, so a newer server that adds fields does not break an older SDK.
Timestamps are ``datetime`` objects in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

T = TypeVar("T")

# Called as bytes move: (bytes done so far, total bytes or None when the total is unknown).
ProgressCallback = Callable[[int, int | None], None]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RegisteredModel(_Result):
    """A registered model: its name, description, tags and where its aliases point."""

    id: int
    name: str
    description: str | None
    owner: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ModelVersion(_Result):
    """One version of a model, with its status, lifecycle labels and content digest."""

    id: int
    model: str
    version: int
    status: str
    status_message: str | None
    stage: str
    aliases: list[str]
    source: str | None
    run_id: str | None
    run_link: str | None
    description: str | None
    created_by: str
    tags: dict[str, str]
    metrics: dict[str, float]
    manifest_digest: str | None
    file_count: int
    total_size: int
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @property
    def ref(self) -> str:
        """The reference that names exactly this version: ``name/3``."""
        return f"{self.model}/{self.version}"


class Holding(_Result):
    """A period during which a version held an alias or a stage; open while ``ended_at`` is None."""

    kind: str
    label: str
    version: int
    started_at: UtcDatetime
    started_by: str
    ended_at: UtcDatetime | None
    ended_by: str | None
    end_reason: str | None


class FileEntry(_Result):
    """One file of a version: its path inside the version, size and SHA-256."""

    path: str
    size: int
    sha256: str


class Manifest(_Result):
    """A version's files and the digest that identifies its content (once READY)."""

    model: str
    version: int
    status: str
    manifest_digest: str | None
    files: list[FileEntry]

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


class VerifyProblem(_Result):
    """One discrepancy found by a verification; ``path`` is None for the manifest itself."""

    path: str | None
    problem: str


class VerifyReport(_Result):
    """The server's recomputation of every hash of a version."""

    model: str
    version: int
    manifest_digest: str | None
    files_checked: int
    bytes_checked: int
    ok: bool
    problems: list[VerifyProblem]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass ``next_page_token`` back to get the next, None on the last."""

    items: Sequence[T]
    next_page_token: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Signature(_Result):
    """A signature of a version's files: an OpenSSF model-signing bundle and its public key."""

    id: int
    model: str
    version: int
    key_fingerprint: str
    manifest_digest: str
    created_by: str
    created_at: UtcDatetime
    bundle: str
    public_key: str


class SignatureCheck(_Result):
    """The check of one signature; ``problems`` name the file or the signature at fault."""

    id: int
    key_fingerprint: str
    ok: bool
    problems: list[VerifyProblem]


class SignatureReport(_Result):
    """The server's check: every file re-hashed, every signature checked against the manifest."""

    model: str
    version: int
    manifest_digest: str | None
    files_checked: int
    file_problems: list[VerifyProblem]
    signed: bool
    signatures: list[SignatureCheck]
    ok: bool


class SignatureVerification(_Result):
    """This client's own check of a version's signatures over the files it downloaded, with
    ``model_signing``'s verifier: what anyone can repeat outside Charter."""

    model: str
    version: int
    signed: bool
    pinned_key: str | None  # the fingerprint of the key given to verify with, if any
    signatures: list[SignatureCheck]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.signatures)


class CardFields(_Result):
    """The texts written on a model's or a version's card (``effective``: with inherited ones)."""

    model: str
    version: int | None
    fields: dict[str, str]
    effective: dict[str, str]


class CardSection(_Result):
    key: str
    title: str
    data: dict[str, Any]


class ModelCard(_Result):
    """A version's model card as data: its front matter and its sections."""

    model: str
    version: int
    metadata: dict[str, Any]
    sections: list[CardSection]
