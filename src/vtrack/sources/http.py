"""HTTP to a cloud API the way its documentation asks: paced, token-refreshing, honouring Retry-After.

Every REST connector (Dropbox, Graph, Drive, Imou, Ezviz) talks through `CloudHttp`, so the rules live
in one place:
- requests are paced to the connector's `RateLimit` (a token bucket), so a big first sync does not
  trip the provider's throttling in the first place;
- a 401 refreshes the access token once (single-flight: `AccessTokens.renew`) and repeats the request;
- 429 and 503 wait what `Retry-After` says (seconds or an HTTP date; capped), other 5xx back off
  exponentially with full jitter, a few times, then fail as a transient `DeviceError` the sync retries
  later; every other status is a `DeviceError` whose kind the sync engine understands.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RateLimit

_JITTER = random.SystemRandom()
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class AccessTokens(Protocol):
    """Where a connector gets its bearer token; OAuth accounts refresh it (sources/oauth.py)."""

    async def current(self) -> str: ...

    async def renew(self, rejected: str) -> str:
        """The provider refused `rejected`: return a fresh token, refreshing at most once for all callers."""
        ...


class StaticToken:
    """A token that never changes (tests, long-lived app tokens)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def current(self) -> str:
        return self.token

    async def renew(self, rejected: str) -> str:
        raise DeviceError("the provider refused the access token and it cannot be refreshed", "auth")


class Pacer:
    """A token bucket: at most `rate` requests a second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) / self.rate)
                self._stamp = time.monotonic()
                self._tokens = 1.0
            self._tokens -= 1.0


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def status_error(response: httpx.Response, where: str) -> DeviceError:
    """A DeviceError for a status the request did not expect, with the provider's own words."""
    status = response.status_code
    try:
        detail = response.text[:300].strip()
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        detail = ""
    message = f"{where}: HTTP {status}" + (f" {detail}" if detail else "")
    if status in (401, 403):
        return DeviceError(message, "auth")
    if status in (404, 410):
        return DeviceError(message, "not_found")
    if status == 429:
        return DeviceError(message, "throttled")
    if status >= 500:
        return DeviceError(message, "unreachable")
    return DeviceError(message, "protocol")


def transport_error(exc: httpx.HTTPError, where: str) -> DeviceError:
    if isinstance(exc, httpx.TimeoutException):
        return DeviceError(f"{where}: timed out ({type(exc).__name__})", "timeout")
    return DeviceError(f"{where} could not be reached: {exc or type(exc).__name__}", "unreachable")


class CloudHttp:
    def __init__(
        self,
        base_url: str,
        *,
        where: str,
        rate: RateLimit,
        tokens: AccessTokens | None = None,
        client: httpx.AsyncClient | None = None,
        attempts: int = 6,
        max_wait_seconds: float = 60.0,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.where = where
        self.tokens = tokens
        self.attempts = attempts
        self.max_wait_seconds = max_wait_seconds
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.pacer = Pacer(rate.requests_per_second)
        self.throttled = 0  # how many 429/503 answers were waited out (for tests and the run summary)
        self.client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=max(4, rate.concurrent_downloads * 2)),
            follow_redirects=True,
        )

    async def _wait_before_retry(self, response: httpx.Response | None, attempt: int) -> None:
        after = retry_after_seconds(response) if response is not None else None
        if response is not None and response.status_code in (429, 503):
            self.throttled += 1
        if after is None:
            after = _JITTER.random() * self.backoff_seconds * 2.0**attempt
        await self.sleep(min(after, self.max_wait_seconds))

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        expect: Collection[int] = (200,),
        authorized: bool = True,
        **kwargs: Any,
    ) -> AsyncIterator[httpx.Response]:
        """The response, its body unread, once its status is one of `expect` (retrying the rest)."""
        headers = dict(kwargs.pop("headers", None) or {})
        token = await self.tokens.current() if authorized and self.tokens is not None else None
        renewed = False
        for attempt in range(self.attempts):
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            await self.pacer.wait()
            request = self.client.build_request(method, url, headers=headers, **kwargs)
            try:
                response = await self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                if attempt == self.attempts - 1:
                    raise transport_error(exc, self.where) from None
                await self._wait_before_retry(None, attempt)
                continue
            try:
                if response.status_code in expect:
                    yield response
                    return
                await response.aread()
                if response.status_code == 401 and token is not None and self.tokens and not renewed:
                    token, renewed = await self.tokens.renew(token), True
                    continue
                if response.status_code in RETRY_STATUSES and attempt < self.attempts - 1:
                    await self._wait_before_retry(response, attempt)
                    continue
                raise status_error(response, self.where)
            finally:
                await response.aclose()
        raise DeviceError(f"{self.where}: gave up after {self.attempts} attempts", "throttled")

    async def request(
        self, method: str, url: str, *, expect: Collection[int] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """Like `stream`, with the body read."""
        async with self.stream(method, url, expect=expect, **kwargs) as response:
            await response.aread()
            return response

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise DeviceError(f"{self.where}: the answer to {url} is not JSON", "protocol") from None

    async def close(self) -> None:
        await self.client.aclose()


async def body_chunks(response: httpx.Response, where: str, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """A streamed body whose cut connection is a transient DeviceError (the sync resumes at the offset)."""
    try:
        async for chunk in response.aiter_bytes(size):
            yield chunk
    except httpx.HTTPError as exc:
        raise transport_error(exc, where) from None
