"""Who may do what: every role check of every area goes through ``charter.access``.

Areas call it; it calls none of them. See ``charter.access.service`` for the rules.
"""

from __future__ import annotations

from charter.access.service import (
    ModelLike,
    allowed,
    require,
    require_visible,
    role_on,
    visible,
)
from charter.identity.grants import Role

__all__ = ["ModelLike", "Role", "allowed", "require", "require_visible", "role_on", "visible"]
