"""Imports every area's tables so that ``Base.metadata`` knows the whole schema (Alembic)."""

from __future__ import annotations

from charter.approvals import models as approvals_models  # noqa: F401 - registers its tables
from charter.artifacts import models as artifacts_models
from charter.audit import models as audit_models  # noqa: F401 - registers its tables
from charter.db import Base
from charter.identity import models as identity_models  # noqa: F401 - registers its tables
from charter.inspection import models as inspection_models  # noqa: F401 - registers its tables
from charter.lineage import models as lineage_models  # noqa: F401 - registers its tables
from charter.modelcards import models as modelcards_models  # noqa: F401 - registers its tables
from charter.registry import models as registry_models
from charter.signatures import models as signatures_models  # noqa: F401 - registers its tables
from charter.tracking import models as tracking_models  # noqa: F401 - registers its tables

metadata = Base.metadata

__all__ = ["artifacts_models", "metadata", "registry_models"]
