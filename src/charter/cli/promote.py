"""``charter promote`` and ``charter policy``: promotions through approvals, and the policies
that gate them. Like every registry command they talk HTTP to CHARTER_URL with CHARTER_TOKEN.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from charter.cli import output
from charter.cli.connection import (
    DEFAULT_URL,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    page_size,
)
from charter.client import Policy, Promotion

promote_app = typer.Typer(
    help="Promotion requests: move a version to a protected alias or stage through approvals.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="Policies: the rules and approvals a promotion needs.", no_args_is_help=True
)

RefArg = Annotated[str, typer.Argument(help="The version: name/VERSION or name@ALIAS.")]
IdArg = Annotated[int, typer.Argument(help="The request's id (charter promote list).")]
ToOption = Annotated[
    str | None, typer.Option("--to", "--alias", help="The protected alias, e.g. champion.")
]
StageOption = Annotated[str | None, typer.Option("--stage", help="The protected stage.")]
ArchiveOption = Annotated[
    bool, typer.Option(help="For a stage: archive the versions that hold it now.")
]
CommentOption = Annotated[str, typer.Option("--comment", "-m", help="Why (required).")]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="A model's policy; without it, the global one.")
]


def _one_target(to: str | None, stage: str | None) -> None:
    if (to is None) == (stage is None):
        raise typer.BadParameter("give exactly one of --to ALIAS and --stage STAGE")


@promote_app.command("request")
def request(
    ref: RefArg,
    justification: Annotated[
        str, typer.Option("--justification", "-j", help="Why this version should go there.")
    ],
    to: ToOption = None,
    stage: StageOption = None,
    archive_existing: ArchiveOption = False,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Ask for a version to take a protected alias or stage; prints every rule of the policy."""
    _one_target(to, stage)
    with connect(url, token) as client:
        result = client.request_promotion(
            ref,
            alias=to,
            stage=stage,
            justification=justification,
            archive_existing=archive_existing,
        )
    output.emit(result, as_json, show_promotion)


@promote_app.command("approve")
def approve(
    request_id: IdArg,
    comment: CommentOption,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Approve a request; the last approval needed moves the version if every rule passes."""
    with connect(url, token) as client:
        result = client.approve_promotion(request_id, comment)
    output.emit(result, as_json, show_promotion)


@promote_app.command("reject")
def reject(
    request_id: IdArg,
    comment: CommentOption,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Reject a request: it closes, and the version stays where it is."""
    with connect(url, token) as client:
        result = client.reject_promotion(request_id, comment)
    output.emit(result, as_json, show_promotion)


@promote_app.command("show")
def show(
    request_id: IdArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """One request: its rules with what they saw, its approvals and decisions."""
    with connect(url, token) as client:
        result = client.get_promotion(request_id)
    output.emit(result, as_json, show_promotion)


@promote_app.command("list")
def list_requests(
    model: Annotated[str | None, typer.Option("--model", help="Only this model's.")] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="open, blocked, executed, rejected or expired."),
    ] = None,
    max_results: Annotated[int | None, typer.Option(min=1, help="Stop after this many.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Promotion requests, newest first."""
    with connect(url, token) as client:
        found = client.iter_promotions(
            model=model, status=state, max_results=page_size(max_results)
        )
        requests = list(islice(found, max_results))
    output.emit(requests, as_json, show_promotions)


@promote_app.command("force")
def force(
    ref: RefArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required); on the record.")],
    to: ToOption = None,
    stage: StageOption = None,
    archive_existing: ArchiveOption = False,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Break-glass (admins): move a protected label now, flagged in the audit trail."""
    _one_target(to, stage)
    with connect(url, token) as client:
        result = client.force_promotion(
            ref, alias=to, stage=stage, reason=reason, archive_existing=archive_existing
        )
    output.emit(result, as_json, show_promotion)


@policy_app.command("set")
def set_policy(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The YAML file.")],
    model: ModelOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Store a policy as the next version (maintainers; admins for the global one)."""
    with connect(url, token) as client:
        result = client.set_policy(file.read_text(encoding="utf-8"), model)
    output.emit(result, as_json, show_policy)


@policy_app.command("show")
def show_current_policy(
    model: ModelOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """The policy that applies: the model's own, else the global one, else the default."""
    with connect(url, token) as client:
        result = client.get_policy(model)
    output.emit(result, as_json, show_policy)


def show_promotion(request: Promotion) -> None:
    output.print_fields(
        [
            ("request", request.id),
            ("version", f"{request.model}/{request.version}"),
            ("target", request.target),
            ("status", request.status + (" (forced)" if request.forced else "")),
            ("requested by", f"{request.requested_by} at {output.when(request.requested_at)}"),
            ("justification", request.justification),
            ("policy", f"{request.policy_scope} v{request.policy_version}"),
            ("approvals", f"{request.approvals.received} of {request.approvals.required}"),
            ("expires", output.when(request.expires_at)),
        ]
    )
    output.print_table(
        ("rule", "result", "message"),
        [(r.rule, "pass" if r.passed else "FAIL", r.message) for r in request.rules],
    )
    if request.decisions:
        output.print_table(
            ("decision", "by", "comment", "at"),
            [
                (d.decision, d.decided_by, d.comment, output.when(d.decided_at))
                for d in request.decisions
            ],
        )


def show_promotions(requests: Sequence[Promotion]) -> None:
    output.print_table(
        ("id", "version", "target", "status", "approvals", "requested by", "requested"),
        [
            (
                r.id,
                f"{r.model}/{r.version}",
                r.target,
                r.status,
                f"{r.approvals.received}/{r.approvals.required}",
                r.requested_by,
                output.when(r.requested_at),
            )
            for r in requests
        ],
    )


def show_policy(policy: Policy) -> None:
    where = f"model {policy.model}" if policy.scope == "model" else policy.scope
    typer.echo(f"# {where} policy, version {policy.version}", err=True)
    typer.echo(policy.yaml.rstrip("\n"))
