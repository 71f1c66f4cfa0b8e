"""ASGI middleware: a request-body size limit, and observability (metrics, an access log that
names route templates only, security headers)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics

access_log = logging.getLogger("api.access")

TOO_LARGE = "the request body is too large (at most {limit} bytes here)"

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_HTML_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class BodySizeLimitMiddleware:
    """Refuse request bodies over a size limit with 413, before or while they are read.

    Args:
        app: the wrapped ASGI app.
        default_limit: bytes allowed for any path.
        limits: (path prefix, bytes) pairs that override the default (first match wins),
            e.g. file uploads.
    """

    def __init__(
        self,
        app: ASGIApp,
        default_limit: int = 1024 * 1024,
        limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = list(limits)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(scope, send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, TOO_LARGE.format(limit=limit))
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    path = scope.get("path", "")
    if path.startswith("/v1") or b"text/html" not in dict(scope.get("headers", [])).get(
        b"accept", b""
    ):
        body = json.dumps({"detail": TOO_LARGE.format(limit=limit)}).encode()
        kind = b"application/json"
    else:
        text = "فایل یا متن فرستاده‌شده بیش از حد بزرگ است."
        body = (
            '<!doctype html><html lang="fa" dir="rtl"><meta charset="utf-8">'
            f"<title>413</title><p>{text}</p></html>"
        ).encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ObservabilityMiddleware:
    """Count and time every request by route template, log one access line (method, route
    template, status, milliseconds: never bodies or query strings), add security headers.

    An exception that no handler took is answered here with `on_error` (which logs it once)
    and not re-raised: Starlette's outermost error middleware re-raises, and the server then
    logs the full traceback with the exception's message, which can quote user data.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        on_error: Callable[[Request, Exception], Awaitable[Response]] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        self.metrics.in_flight.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", _HTML_CSP))
                message = {**message, "headers": headers}
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
            await send_wrapper(message)

        try:
            try:
                await self.app(scope, receive, send_tracked)
            except Exception as exc:
                if self.on_error is None:
                    raise
                response = await self.on_error(Request(scope), exc)
                if not started_response:
                    await response(scope, receive, send_tracked)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.requests.labels(scope.get("method", ""), route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            access_log.info(
                "%s %s %d %.1fms", scope.get("method", ""), route, status, elapsed * 1000
            )


def _route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    raw = str(scope.get("path", ""))
    if raw.startswith("/static/"):
        return "/static"
    return "unmatched"
