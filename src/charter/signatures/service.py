"""The rules of signatures: accept a bundle only when it verifies and signs exactly the version's
files; re-check stored ones on demand, for a policy gate and for the model card.

Signing a READY version is allowed: a signature is an addition beside the files, never a change
to them. The server holds no private key; what it checks is the signature over the statement
(with the public key the signer sent) and the statement's files against the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from charter.approvals.authorization import ModelRef, Role, RoleAuthorizer
from charter.artifacts.schemas import VerifyProblem
from charter.artifacts.service import ArtifactService
from charter.audit import AuditService
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, CharterError, Conflict, InvalidArgument, PayloadTooLarge
from charter.registry.models import READY
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView
from charter.signatures.bundle import (
    MAX_BUNDLE_BYTES,
    file_problems,
    load_public_key,
    parse_bundle,
    signature_problem,
)
from charter.signatures.models import VersionSignature
from charter.signatures.repository import SignatureRepository


@dataclass(frozen=True)
class SignatureView:
    id: int
    model: str
    version: int
    key_fingerprint: str
    manifest_digest: str
    created_by: str
    created_at: int
    bundle: str
    public_key: str


@dataclass(frozen=True)
class SignatureCheck:
    id: int
    key_fingerprint: str
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SignatureReport:
    model: str
    version: int
    manifest_digest: str | None
    files_checked: int
    file_problems: list[VerifyProblem]
    signatures: list[SignatureCheck]

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def ok(self) -> bool:
        return not self.file_problems and all(s.ok for s in self.signatures)


@dataclass(frozen=True)
class SignatureStatus:
    """What a policy gate or a model card needs: each signature with its check, now."""

    version: VersionView
    signatures: list[tuple[SignatureView, SignatureCheck]]

    def valid_keys(self) -> list[str]:
        return [view.key_fingerprint for view, check in self.signatures if check.ok]


class SignatureService:
    def __init__(self, session: Session, ctx: RequestContext, blobs: BlobStore) -> None:
        self.session = session
        self.ctx = ctx
        self.blobs = blobs
        self.versions = VersionService(session, ctx)
        self.signatures = SignatureRepository(session)

    def add(
        self, name: str, selector: VersionSelector, bundle: str, public_key: str
    ) -> SignatureView:
        size = len(bundle.encode())
        if size > MAX_BUNDLE_BYTES:
            raise PayloadTooLarge(
                f"the bundle is {size} bytes; the limit is {MAX_BUNDLE_BYTES}",
                field="bundle",
                limit=MAX_BUNDLE_BYTES,
            )
        model, version = self.versions.get_row(name, selector)
        ref = f"{model.name}/{version.version}"
        if version.status != READY:
            raise Conflict(
                f"version {ref} is {version.status}: only a READY version's files can be signed",
                status=version.status,
            )
        RoleAuthorizer().require(self.ctx, Role.CONTRIBUTOR, ModelRef(model.id, model.name))
        key = load_public_key(public_key)
        parsed = parse_bundle(bundle)
        problem = signature_problem(parsed, key)
        if problem is not None:
            raise InvalidArgument(f"the bundle's signature is invalid: {problem}", field="bundle")
        mismatches = file_problems(parsed.files, self._manifest(model.name, version.version))
        if mismatches:
            raise InvalidArgument(
                f"the bundle does not sign version {ref}'s files: {mismatches[0][1]}"
                + (f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""),
                field="bundle",
                path=mismatches[0][0],
                problems=[{"path": p, "problem": m} for p, m in mismatches],
            )
        if self.signatures.by_key(version.id, key.fingerprint) is not None:
            raise AlreadyExists(
                f"version {ref} is already signed with the key {key.fingerprint}",
                key_fingerprint=key.fingerprint,
            )
        row = self.signatures.add(
            VersionSignature(
                version_id=version.id,
                bundle=bundle,
                public_key=key.pem,
                key_fingerprint=key.fingerprint,
                manifest_digest=version.manifest_digest or "",
                created_at=now_ms(),
                created_by=self.ctx.actor.name,
            )
        )
        AuditService(self.session, self.ctx).record(
            "signature.add",
            "version",
            version.id,
            ref,
            after={
                "signature_id": row.id,
                "key_fingerprint": key.fingerprint,
                "manifest_digest": row.manifest_digest,
            },
        )
        return _view(row, model.name, version.version)

    def list(self, name: str, selector: VersionSelector) -> list[SignatureView]:
        model, version = self.versions.get_row(name, selector)
        return [_view(r, model.name, version.version) for r in self.signatures.list(version.id)]

    def status(self, name: str, selector: VersionSelector) -> SignatureStatus:
        """Every signature of the version, each checked against its manifest now (no file reads)."""
        model, version = self.versions.get_row(name, selector)
        manifest = self._manifest(model.name, version.version)
        rows = self.signatures.list(version.id)
        return SignatureStatus(
            version=self.versions.view(model, version),
            signatures=[(_view(r, model.name, version.version), _check(r, manifest)) for r in rows],
        )

    def verify(self, name: str, selector: VersionSelector) -> SignatureReport:
        """Re-hash every file from the blob store, then check every signature against them."""
        files = ArtifactService(self.session, self.ctx, self.blobs).verify(name, selector)
        status = self.status(name, selector)
        return SignatureReport(
            model=files.model,
            version=files.version,
            manifest_digest=files.manifest_digest,
            files_checked=files.files_checked,
            file_problems=list(files.problems),
            signatures=[check for _, check in status.signatures],
        )

    def _manifest(self, name: str, number: int) -> dict[str, str]:
        artifacts = ArtifactService(self.session, self.ctx, self.blobs)
        _, files = artifacts.list_files(name, VersionSelector(number=number))
        return {f.path: f.sha256 for f in files}


def _check(row: VersionSignature, manifest: dict[str, str]) -> SignatureCheck:
    problems: list[VerifyProblem] = []
    try:
        parsed = parse_bundle(row.bundle)
        problem = signature_problem(parsed, load_public_key(row.public_key))
        if problem is not None:
            problems.append(VerifyProblem(path=None, problem=problem))
        for path, text in file_problems(parsed.files, manifest):
            problems.append(VerifyProblem(path=path, problem=text))
    except CharterError as exc:  # a stored bundle or key that no longer reads
        problems.append(VerifyProblem(path=None, problem=exc.message))
    return SignatureCheck(id=row.id, key_fingerprint=row.key_fingerprint, problems=problems)


def _view(row: VersionSignature, model: str, number: int) -> SignatureView:
    return SignatureView(
        id=row.id,
        model=model,
        version=number,
        key_fingerprint=row.key_fingerprint,
        manifest_digest=row.manifest_digest,
        created_by=row.created_by,
        created_at=row.created_at,
        bundle=row.bundle,
        public_key=row.public_key,
    )
