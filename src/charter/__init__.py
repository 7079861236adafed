"""Charter: an open-source model registry with governance built in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from charter.client import Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The server never needs the SDK: import it only when asked for.
    if name == "Client":
        from charter.client import Client

        return Client
    raise AttributeError(name)
