"""The one place where the SDK talks HTTP: authentication, and errors turned into exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from charter import __version__
from charter.client._exceptions import CharterError, TransportError, error_from_body

Params = Mapping[str, str | int | list[str] | None]


class HTTP:
    """Sends requests to one Charter server through an ``httpx.Client``."""

    def __init__(self, client: httpx.Client, *, token: str | None, owns_client: bool) -> None:
        self.client = client
        self._owns_client = owns_client
        self._headers = {"user-agent": f"charter-client/{__version__}"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"

    @property
    def url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def close(self) -> None:
        # A client the caller handed in is theirs to close.
        if self._owns_client:
            self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: Iterable[bytes] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        request = self._build(
            method, path, params=params, json=json, content=content, timeout=timeout
        )
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.is_error:
            raise _error_of(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            # Something other than Charter answered: a proxy's page, a different service.
            raise CharterError(
                f"{self.url}{path} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    @contextmanager
    def stream(self, path: str) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives; errors while reading are mapped as well."""
        request = self._build("GET", path)
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        try:
            if response.is_error:
                response.read()
                raise _error_of(response)
            yield response
        except httpx.TransportError as exc:
            raise self._unreachable(exc, "lost the connection to") from exc
        finally:
            response.close()

    def without_read_timeout(self) -> httpx.Timeout:
        """The client's timeouts with no limit on waiting for the answer (long server work)."""
        current = self.client.timeout
        return httpx.Timeout(
            connect=current.connect, read=None, write=current.write, pool=current.pool
        )

    def _build(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: Iterable[bytes] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self.client.build_request(
            method,
            path,
            params=query,
            json=json,
            content=content,
            headers=self._headers,
            timeout=timeout or httpx.USE_CLIENT_DEFAULT,
        )

    def _unreachable(self, exc: httpx.TransportError, what: str = "cannot reach") -> TransportError:
        reason = str(exc) or type(exc).__name__
        return TransportError(f"{what} Charter at {self.url}: {reason}", url=self.url)


def _error_of(response: httpx.Response) -> CharterError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from_body(response.status_code, body, response.text)
