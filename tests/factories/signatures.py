"""Keys and OpenSSF model-signing bundles made the way a signer outside Charter makes them."""

from __future__ import annotations

from pathlib import Path

import model_signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def ec_keypair(directory: Path, name: str = "key") -> tuple[Path, Path]:
    """A new P-256 private key and its public key, as PEM files: (private, public)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def write_files(directory: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(data)
    return directory


def hashing() -> model_signing.hashing.Config:
    # Every file is signed, .git* ones too: as Charter's client signs a version.
    return model_signing.hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)


def sign_dir(directory: Path, private_key: Path) -> str:
    """The bundle model_signing's elliptic-key signer writes for a directory."""
    bundle = directory.parent / f"{directory.name}.sig"
    model_signing.signing.Config().use_elliptic_key_signer(
        private_key=private_key
    ).set_hashing_config(hashing()).sign(directory, bundle)
    return bundle.read_text()


def sign_files(workdir: Path, files: dict[str, bytes], private_key: Path) -> str:
    return sign_dir(write_files(workdir / "model", files), private_key)


def verify_dir(directory: Path, bundle: str, public_key: Path) -> None:
    """model_signing's own verification of files against a bundle; raises if it fails."""
    path = directory.parent / f"{directory.name}.check.sig"
    path.write_text(bundle)
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=public_key
    ).set_hashing_config(hashing()).verify(directory, path)
