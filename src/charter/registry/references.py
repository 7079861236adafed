"""Version references: ``name/3``, ``name@champion``, ``name/Production``."""

from __future__ import annotations

from dataclasses import dataclass

from charter import naming
from charter.errors import InvalidArgument


@dataclass(frozen=True)
class VersionSelector:
    """Which version of a model: exactly one of a number, an alias or a stage."""

    number: int | None = None
    alias: str | None = None
    stage: str | None = None

    def __str__(self) -> str:
        if self.number is not None:
            return str(self.number)
        if self.alias is not None:
            return f"@{self.alias}"
        return str(self.stage)


def parse_selector(text: str) -> VersionSelector:
    """``3``, ``@champion`` or ``Production`` (as in a URL path segment)."""
    value = text.strip()
    if not value:
        raise InvalidArgument("version reference is empty", field="version")
    if value.startswith("@"):
        return VersionSelector(alias=naming.alias(value[1:]))
    if value.isdigit():
        return VersionSelector(number=naming.version_number(value))
    if naming.is_stage(value):
        return VersionSelector(stage=naming.stage(value))
    raise InvalidArgument(
        f"version reference {text!r} is invalid: expected a number, @alias or a stage",
        field="version",
    )


def parse_reference(ref: str) -> tuple[str, VersionSelector]:
    """A full reference: ``name/3``, ``name@alias`` or ``name/Stage``."""
    if "@" in ref:
        name, _, alias = ref.rpartition("@")
        return naming.model_name(name, "model"), VersionSelector(alias=naming.alias(alias))
    if "/" in ref:
        name, _, selector = ref.rpartition("/")
        return naming.model_name(name, "model"), parse_selector(selector)
    raise InvalidArgument(
        f"reference {ref!r} is invalid: expected name/VERSION, name@ALIAS or name/STAGE",
        field="ref",
    )
