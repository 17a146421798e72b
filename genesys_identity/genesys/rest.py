"""A small client for the Genesys Cloud Platform API: OAuth client credentials, region-aware URLs, retries.

The official SDK (PureCloudPlatformClientV2, ~170 MB installed) would serve, but the project needs a dozen
calls; a thin client keeps the dynamic providers small to serialize and makes every retry decision visible
here. The SDK is a test-only dependency: the tests check every body this client sends against its models.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from genesys_identity.errors import GenesysApiError, SettingsError
from genesys_identity.genesys.schema import load

ENV_CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
ENV_CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
ENV_REGION = "GENESYSCLOUD_REGION"

_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_TRANSIENT = frozenset({502, 503, 504})


def region_domain(region: str) -> str:
    """``us-east-1`` -> ``mypurecloud.com``, from the provider schema's own region table."""
    domains = load().region_domains
    try:
        return domains[region.lower()]
    except KeyError:
        known = ", ".join(sorted(domains))
        raise SettingsError(f"unknown Genesys Cloud region {region!r} (expected one of: {known})") from None


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ClientCredentials:
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if not env.get(name)]
        if missing:
            raise SettingsError(
                f"Genesys Cloud OAuth client credentials are not set: export {' and '.join(missing)} "
                "(the same variables the genesyscloud provider reads)"
            )
        return cls(env[ENV_CLIENT_ID], env[ENV_CLIENT_SECRET])


class GenesysApiClient:
    """Calls the Platform API with a cached client-credentials token.

    429 answers are retried after their ``Retry-After`` delay (any method: the call was not processed);
    502/503/504 and connection failures are retried with backoff for idempotent methods only.
    """

    def __init__(
        self,
        *,
        api_base: str,
        login_base: str,
        credentials: ClientCredentials,
        timeout_s: float = 30.0,
        max_attempts: int = 5,
        max_retry_after_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.api_base = api_base.rstrip("/")
        self.login_base = login_base.rstrip("/")
        self._credentials = credentials
        self._http = httpx.Client(timeout=timeout_s)
        self._max_attempts = max_attempts
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._token: str | None = None
        self._token_expiry = 0.0
        self._lock = threading.Lock()

    @classmethod
    def for_region(cls, region: str, credentials: ClientCredentials, **kwargs: Any) -> GenesysApiClient:
        domain = region_domain(region)
        return cls(api_base=f"https://api.{domain}", login_base=f"https://login.{domain}",
                   credentials=credentials, **kwargs)

    @classmethod
    def from_environment(cls, region: str | None = None) -> GenesysApiClient:
        chosen = region or os.environ.get(ENV_REGION)
        if not chosen:
            raise SettingsError(f"no Genesys Cloud region: pass one or export {ENV_REGION}")
        return cls.for_region(chosen, ClientCredentials.from_environment())

    def close(self) -> None:
        self._http.close()

    # -- calls -----------------------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def get_all(self, path: str) -> list[dict[str, Any]]:
        """Every entity of a paged listing (``pageSize``/``pageNumber``/``pageCount``)."""
        entities: list[dict[str, Any]] = []
        number = 1
        separator = "&" if "?" in path else "?"
        while True:
            page = self.get(f"{path}{separator}pageSize=100&pageNumber={number}") or {}
            entities += [e for e in page.get("entities") or [] if isinstance(e, dict)]
            if number >= int(page.get("pageCount") or 1) or not page.get("entities"):
                return entities
            number += 1

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        url = self.api_base + path
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
            try:
                response = self._http.request(method, url, json=body, headers=headers)
            except httpx.TransportError as exc:
                if method in _IDEMPOTENT and attempt < self._max_attempts:
                    self._sleep(self._backoff(attempt))
                    continue
                raise GenesysApiError(f"{method} {path}: {type(exc).__name__} reaching {self.api_base}") from None
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._token = None
                continue
            if response.status_code == 429 and attempt < self._max_attempts:
                self._sleep(self._retry_after(response, attempt))
                continue
            if response.status_code in _TRANSIENT and method in _IDEMPOTENT and attempt < self._max_attempts:
                self._sleep(self._backoff(attempt))
                continue
            if response.is_success:
                return response.json() if response.content else None
            raise _api_error(method, path, response)

    # -- internals -------------------------------------------------------------------------------------
    def _access_token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token_expiry:
                return self._token
            try:
                response = self._http.post(
                    f"{self.login_base}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self._credentials.client_id, self._credentials.client_secret),
                )
            except httpx.TransportError as exc:
                raise GenesysApiError(f"OAuth token: {type(exc).__name__} reaching {self.login_base}") from None
            if not response.is_success:
                # The body may echo request details; report the status only.
                raise GenesysApiError(
                    f"OAuth token: HTTP {response.status_code} from {self.login_base} "
                    "(check the OAuth client id, secret and region)",
                    status=response.status_code,
                )
            payload = response.json()
            self._token = str(payload["access_token"])
            # Renew a minute early so a token never expires mid-call.
            self._token_expiry = time.monotonic() + max(float(payload.get("expires_in", 3600)) - 60.0, 1.0)
            return self._token

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        delay: float | None = None
        if header:
            try:
                delay = float(header)
            except ValueError:
                try:  # the other form RFC 9110 allows: an HTTP date
                    delay = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
                except (TypeError, ValueError):
                    delay = None
        if delay is None:
            delay = self._backoff(attempt)
        return min(max(delay, 0.0), self._max_retry_after_s)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(2 ** (attempt - 1), 30))


def _api_error(method: str, path: str, response: httpx.Response) -> GenesysApiError:
    message = response.reason_phrase
    correlation = response.headers.get("ININ-Correlation-Id")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        message = str(payload.get("message") or payload.get("code") or message)
        correlation = str(payload.get("contextId") or correlation or "") or None
    suffix = f" (correlation id {correlation})" if correlation else ""
    return GenesysApiError(
        f"{method} {path}: HTTP {response.status_code}: {message}{suffix}",
        status=response.status_code,
        correlation_id=correlation,
    )
