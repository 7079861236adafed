"""``charter versions sign`` and the signature half of ``charter versions verify``.

Signing and verifying run here, with ``model_signing``: the private key never leaves this
machine, and a verification is the one anyone can repeat outside Charter on the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from charter.cli import output
from charter.cli.connection import DEFAULT_URL, JsonOption, TokenOption, UrlOption, connect
from charter.client import Signature, SignatureVerification

RefArg = Annotated[str, typer.Argument(help="name/VERSION, name@ALIAS or name/STAGE.")]
KeyOption = Annotated[
    Path,
    typer.Option(
        "--key", exists=True, dir_okay=False, help="PEM elliptic-curve private key (P-256/384/521)."
    ),
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="CHARTER_KEY_PASSWORD",
        help="Password of an encrypted private key.",
        show_envvar=True,
        show_default=False,
    ),
]


def sign(
    ref: RefArg,
    key: KeyOption,
    password: PasswordOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Sign a READY version's files here (OpenSSF model signing) and store the signature."""
    with connect(url, token) as client:
        signature = client.sign_version(ref, key, password=password)
    output.emit(signature, as_json, show_signature)


def signatures(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """List a version's signatures: key fingerprint, signer and time."""
    with connect(url, token) as client:
        found = client.list_signatures(ref)
    output.emit(found, as_json, show_signatures)


def show_signature(signature: Signature) -> None:
    output.message(
        f"signed {signature.model}/{signature.version} with key {signature.key_fingerprint} "
        f"(signature {signature.id})"
    )


def show_signatures(found: list[Signature]) -> None:
    if not found:
        output.message("no signatures")
        return
    for s in found:
        output.message(
            f"{s.id}  {s.key_fingerprint}  {s.created_by}  {s.created_at:%Y-%m-%d %H:%M:%SZ}"
        )


def show_verification(result: SignatureVerification) -> None:
    """One line per signature, and one per problem; nothing when unsigned and not required."""
    for problem in result.problems:
        output.message(f"FAILED: {problem}")
    for check in result.signatures:
        if check.ok:
            output.message(
                f"ok: signature {check.id} by {check.key_fingerprint} verifies over the "
                "downloaded files (model_signing)"
            )
        for found in check.problems:
            output.message(
                f"FAILED: signature {check.id} by {check.key_fingerprint}: {found.problem}"
            )
