"""The Charter SDK: a typed, synchronous client of the native API, built on httpx.

    from charter import Client

    with Client("http://127.0.0.1:8080", token=...) as client:
        version = client.register_version_from_dir("fraud", "./model")
        client.set_alias("fraud", "challenger", version.version)
        request = client.request_promotion(version, alias="champion", justification="...")

The client imports nothing of the server but its error tree (``charter.errors``).
"""

from charter.client._artifacts import ExpectedFiles
from charter.client._client import Client
from charter.client._exceptions import (
    AlreadyExists,
    CharterError,
    ChecksumMismatch,
    Conflict,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PolicyViolation,
    TransportError,
    Unauthenticated,
    Unavailable,
)
from charter.client._governance_models import (
    Approvals,
    Decision,
    Grant,
    Policy,
    Promotion,
    RuleResult,
)
from charter.client._inspection import (
    FileFormat,
    FileScan,
    ScanJob,
    ScanReport,
    VersionDiff,
    VersionFormat,
)
from charter.client._lineage import (
    ExternalModel,
    ImpactedVersion,
    Lineage,
    LineageCode,
    LineageDataset,
    LineageFeature,
    LineageLoggedModel,
    LineageParent,
    LineageRun,
    Upstream,
    UpstreamEdge,
    UpstreamNode,
    VersionKey,
)
from charter.client._models import (
    CardFields,
    CardSection,
    FileEntry,
    Holding,
    Manifest,
    ModelCard,
    ModelVersion,
    Page,
    ProgressCallback,
    RegisteredModel,
    Signature,
    SignatureCheck,
    SignatureReport,
    SignatureVerification,
    VerifyProblem,
    VerifyReport,
)
from charter.client._references import Ref

__all__ = [
    "AlreadyExists",
    "Approvals",
    "CardFields",
    "CardSection",
    "CharterError",
    "ChecksumMismatch",
    "Client",
    "Conflict",
    "Decision",
    "ExpectedFiles",
    "ExternalModel",
    "FileEntry",
    "FileFormat",
    "FileScan",
    "Grant",
    "Holding",
    "ImpactedVersion",
    "InvalidArgument",
    "Lineage",
    "LineageCode",
    "LineageDataset",
    "LineageFeature",
    "LineageLoggedModel",
    "LineageParent",
    "LineageRun",
    "Manifest",
    "ModelCard",
    "ModelVersion",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PermissionDenied",
    "Policy",
    "PolicyViolation",
    "ProgressCallback",
    "Promotion",
    "Ref",
    "RegisteredModel",
    "RuleResult",
    "ScanJob",
    "ScanReport",
    "Signature",
    "SignatureCheck",
    "SignatureReport",
    "SignatureVerification",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "Upstream",
    "UpstreamEdge",
    "UpstreamNode",
    "VerifyProblem",
    "VerifyReport",
    "VersionDiff",
    "VersionFormat",
    "VersionKey",
]

# Public names say where to import them from, as httpx does: charter.client.NotFound in
# tracebacks and reprs rather than the private module that defines it.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "charter.client"
del _name, _obj
