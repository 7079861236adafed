"""Version references (``name/3``, ``name@champion``, ``name/Production``) and API paths.

The SDK parses references itself, without the server's modules: it only needs to split a
reference into a model name and a selector that the server accepts in a URL segment. Model
names cannot contain '/' or '@', so splitting on the last one is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from charter.client._exceptions import InvalidArgument
from charter.client._models import ModelVersion

# A reference as the SDK accepts it: text, or a version the SDK returned earlier.
Ref = str | ModelVersion

API = "/api/v1"


@dataclass(frozen=True)
class VersionRef:
    """A model name and a selector: a number, ``@alias`` or a stage name."""

    model: str
    selector: str

    @property
    def number(self) -> int | None:
        return int(self.selector) if self.selector.isdigit() else None

    @property
    def path(self) -> str:
        """The version's URL path in the native API."""
        return f"{model_path(self.model)}/versions/{segment(self.selector)}"

    def __str__(self) -> str:
        if self.selector.startswith("@"):
            return f"{self.model}{self.selector}"
        return f"{self.model}/{self.selector}"


def parse_ref(ref: Ref | VersionRef) -> VersionRef:
    """Split ``name/3``, ``name@alias`` or ``name/Stage`` into model name and selector."""
    if isinstance(ref, VersionRef):
        return ref
    if isinstance(ref, ModelVersion):
        return VersionRef(ref.model, str(ref.version))
    name, sep, alias = ref.rpartition("@")
    if sep:
        selector = f"@{alias}"
    else:
        name, sep, selector = ref.rpartition("/")
    if not sep or not name or selector in ("", "@"):
        raise InvalidArgument(
            f"reference {ref!r} is invalid: expected name/VERSION, name@ALIAS or name/STAGE",
            field="ref",
        )
    return VersionRef(name, selector)


def segment(text: str) -> str:
    """One URL path segment: every reserved character escaped, '/' included."""
    return quote(text, safe="")


def model_path(name: str) -> str:
    return f"{API}/models/{segment(name)}"


def file_path(version: VersionRef, remote_path: str) -> str:
    # Artifact paths keep their '/' separators: the route takes the rest of the URL as the path.
    return f"{version.path}/files/{quote(remote_path, safe='/')}"
