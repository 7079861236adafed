"""Signing a version's files and verifying its signatures, on the client, with ``model_signing``.

The private key never leaves this machine: ``sign_version`` downloads the version (each file
checked against the manifest), signs the directory with model_signing's elliptic-key signer,
and sends the server only the bundle and the public key. ``verify_signatures`` repeats what
anyone can do outside Charter: download the files and run model_signing's own verifier on them.

Every file of a version is signed, ``.git*`` files included, so the hashing configuration does
not ignore them (model_signing's CLI needs ``--no-ignore-git-paths`` to verify the same way).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from charter.client._artifacts import ArtifactMethods, PathLike
from charter.client._exceptions import ChecksumMismatch, Conflict, InvalidArgument
from charter.client._models import (
    Signature,
    SignatureCheck,
    SignatureReport,
    SignatureVerification,
    VerifyProblem,
)
from charter.client._references import Ref, VersionRef, parse_ref


def public_key_pem(key: Any) -> str:
    """The canonical PEM of a public key: what model_signing hashes to name the key."""
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()


def key_fingerprint(pem: str) -> str:
    """A public key's fingerprint as Charter shows it: ``sha256:`` and the bundle's key hint."""
    key = serialization.load_pem_public_key(pem.encode())
    return "sha256:" + hashlib.sha256(public_key_pem(key).encode()).hexdigest()


def _hashing_config() -> Any:
    # Imported here: it is heavy (sigstore), and only signing and verifying need it.
    import model_signing

    config = model_signing.hashing.Config()  # type: ignore[no-untyped-call] # untyped __init__
    return config.set_ignored_paths(paths=[], ignore_git_paths=False)


def _model_dir(root: Path, model: str) -> Path:
    """The directory the files go in; its name is the signed statement's subject name."""
    name = model if model not in (".", "..") and len(model.encode()) <= 200 else "model"
    return root / name


class SigningMethods(ArtifactMethods):
    def sign_version(
        self, ref: Ref, private_key: PathLike, *, password: str | None = None
    ) -> Signature:
        """Sign every file of a READY version with an elliptic-curve private key (PEM)."""
        import model_signing  # heavy: see _hashing_config

        key_path = Path(private_key)
        secret = password.encode() if password is not None else None
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), secret)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(
                f"{key_path} is not a PEM private key (or the password is wrong): {exc}",
                field="key",
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidArgument(
                f"{key_path} is not an elliptic-curve key; model_signing signs with P-256, "
                "P-384 or P-521 keys",
                field="key",
            )
        version = self.get_version(ref)
        if version.status != "READY":
            raise Conflict(f"version {version.ref} is {version.status}: only READY can be signed")
        with tempfile.TemporaryDirectory(prefix="charter-sign-") as temp:
            directory = _model_dir(Path(temp), version.model)
            manifest = self.download_version(version.ref, directory)
            if not manifest.files:
                raise Conflict(f"version {version.ref} has no files in Charter to sign")
            bundle_path = Path(temp) / "model.sig"
            signing = model_signing.signing.Config()  # type: ignore[no-untyped-call]
            signing.use_elliptic_key_signer(
                private_key=key_path, password=password
            ).set_hashing_config(_hashing_config()).sign(directory, bundle_path)
            bundle = bundle_path.read_text(encoding="utf-8")
        return self.add_signature(version.ref, bundle, public_key_pem(key.public_key()))

    def add_signature(self, ref: Ref, bundle: str, public_key: str) -> Signature:
        """Store a bundle made elsewhere (model_signing's CLI, say) with its PEM public key."""
        body = {"bundle": bundle, "public_key": public_key}
        result = self._http.json("POST", f"{parse_ref(ref).path}/signatures", json=body)
        return Signature.model_validate(result)

    def list_signatures(self, ref: Ref) -> list[Signature]:
        result = self._http.json("GET", f"{parse_ref(ref).path}/signatures")
        return [Signature.model_validate(s) for s in result["signatures"]]

    def check_signatures(self, ref: Ref) -> SignatureReport:
        """Have the server re-hash every file and check every signature against the manifest."""
        timeout = self._http.without_read_timeout()
        path = f"{parse_ref(ref).path}/signatures/verify"
        return SignatureReport.model_validate(self._http.json("POST", path, timeout=timeout))

    def verify_signatures(
        self,
        ref: Ref,
        *,
        public_key: PathLike | None = None,
        require_signature: bool = False,
    ) -> SignatureVerification:
        """Download the version and verify its signatures here, with model_signing's verifier.

        With ``public_key`` (a PEM file) only signatures by that key count, and they are checked
        with that file rather than the key the server stored: the server is then not trusted.
        """
        signatures = self.list_signatures(ref)
        pinned_pem = Path(public_key).read_text() if public_key is not None else None
        pinned = _fingerprint_of_file(pinned_pem, public_key) if pinned_pem else None
        first = signatures[0] if signatures else None
        version = (
            VersionRef(first.model, str(first.version)) if first else self._pinned(parse_ref(ref))
        )
        problems: list[str] = []
        wanted = [s for s in signatures if pinned is None or s.key_fingerprint == pinned]
        if not signatures and (require_signature or pinned):
            problems.append(f"version {version} is not signed")
        elif pinned and not wanted:
            keys = ", ".join(s.key_fingerprint for s in signatures)
            problems.append(f"version {version} has no signature by the key {pinned} (only {keys})")
        checks: list[SignatureCheck] = []
        if wanted:
            checks = self._verify_downloaded(version, wanted, pinned_pem, problems)
        return SignatureVerification(
            model=version.model,
            version=int(version.selector),
            signed=bool(signatures),
            pinned_key=pinned,
            signatures=checks,
            problems=problems,
        )

    def _pinned(self, ref: VersionRef) -> VersionRef:
        if ref.number is not None:
            return ref
        version = self.get_version(str(ref))
        return VersionRef(version.model, str(version.version))

    def _verify_downloaded(
        self,
        version: VersionRef,
        signatures: list[Signature],
        pinned_pem: str | None,
        problems: list[str],
    ) -> list[SignatureCheck]:
        import model_signing  # heavy: see _hashing_config

        checks = []
        with tempfile.TemporaryDirectory(prefix="charter-verify-") as temp:
            directory = _model_dir(Path(temp), version.model)
            try:
                self.download_version(str(version), directory)
            except ChecksumMismatch as exc:
                problems.append(f"download of {version}: {exc.message}")
                return []
            for signature in signatures:
                bundle = Path(temp) / f"signature-{signature.id}.json"
                bundle.write_text(signature.bundle, encoding="utf-8")
                key = Path(temp) / f"key-{signature.id}.pem"
                key.write_text(pinned_pem or signature.public_key)
                found: list[VerifyProblem] = []
                try:
                    verifying = model_signing.verifying.Config()  # type: ignore[no-untyped-call]
                    verifying.use_elliptic_key_verifier(public_key=key).set_hashing_config(
                        _hashing_config()
                    ).verify(directory, bundle)
                except Exception as exc:  # model_signing raises ValueError, KeyError, OSError, ...
                    found.append(VerifyProblem(path=None, problem=str(exc) or type(exc).__name__))
                checks.append(
                    SignatureCheck(
                        id=signature.id,
                        key_fingerprint=signature.key_fingerprint,
                        ok=not found,
                        problems=found,
                    )
                )
        return checks


def _fingerprint_of_file(pem: str, path: PathLike | None) -> str:
    try:
        return key_fingerprint(pem)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{path} is not a PEM public key: {exc}", field="key") from exc
