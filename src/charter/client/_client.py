"""``Client``: the SDK's one entry point, a synchronous client of Charter's native API."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Self

import httpx

from charter.client._artifacts import PathLike
from charter.client._cards import CardMethods
from charter.client._exceptions import Conflict
from charter.client._governance import GovernanceMethods
from charter.client._http import HTTP
from charter.client._inspection import InspectionMethods
from charter.client._lineage import LineageMethods
from charter.client._models import ModelVersion, ProgressCallback
from charter.client._signing import SigningMethods

DEFAULT_URL = "http://127.0.0.1:8080"


class Client(SigningMethods, CardMethods, LineageMethods, InspectionMethods, GovernanceMethods):
    """A connection to one Charter server.

    Constructing a client does no I/O; connections open on the first request and close with
    ``close()`` or at the end of a ``with`` block.

    ``transport`` replaces httpx's network transport (``httpx.MockTransport``, a WSGI
    transport, ...). ``http_client`` goes further and hands over a ready ``httpx.Client`` —
    Starlette's ``TestClient`` is one, which is how tests run the SDK against the ASGI app in
    process. Requests then go to that client's ``base_url`` with its timeouts, ``url`` and
    ``timeout`` are not used, and closing this client leaves it open.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout: float = 60,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise TypeError("pass either transport or http_client, not both")
        owns_client = http_client is None
        if http_client is None:
            http_client = httpx.Client(base_url=url, timeout=timeout, transport=transport)
        self._http = HTTP(http_client, token=token, owns_client=owns_client)
        self._uploaded = {}

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._http.url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def register_version_from_dir(
        self,
        model: str,
        directory: PathLike,
        *,
        source: str | None = None,
        run_id: str | None = None,
        run_link: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ModelVersion:
        """Create a pending version, upload a directory into it and finalize it: READY or raise.

        Raises ``Conflict`` (with the server's reason) if finalize marks the version
        FAILED_REGISTRATION. An upload that fails leaves the version PENDING_REGISTRATION.
        """
        version = self.create_version(
            model,
            source=source,
            run_id=run_id,
            run_link=run_link,
            description=description,
            tags=tags,
            metrics=metrics,
            await_upload=True,
        )
        self.upload_dir(version, directory, progress=progress)
        finalized = self.finalize(version)
        if finalized.status != "READY":
            raise Conflict(
                f"version {finalized.ref} is {finalized.status}: {finalized.status_message}",
                model=finalized.model,
                version=finalized.version,
                status=finalized.status,
            )
        return finalized
