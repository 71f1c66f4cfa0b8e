"""The one place where domain errors become HTTP status codes.

| error | status |
|---|---|
| NotFoundError | 404 |
| ImportValidationError | 422, with every bad row (row, field, reason) |
| InvalidInputError (incl. EmptyTextError), request validation | 422, a readable message |
| PermissionDeniedError | 403 |
| InfeasibleError, ConflictError | 409 |
| ModelMismatchError, CorruptArtifactError, NotFittedError, ConfigurationError | 503 |
| NotReadyError (the model and index are not loaded) | 503 |
| any other PeyvandError | 400 |
| sqlalchemy DataError / IntegrityError (a value the database refuses) | 422 / 409 |
| anything else | 500, logged as one line (types and frames, never messages) |

Bodies are `{"detail": "<plain words>"}` (+ `"errors": [...]` for row and field problems) on
`/v1`, `/healthz`, `/readyz`; web pages get a Persian HTML page instead (rendered by the
page renderer the web UI registers, see `install`). Nothing echoes the
request's input back (a 422 for a 50,000-character plan must not quote the plan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from recommender.errors import (
    ImportValidationError,
    PeyvandError,
    status_of,
)

from .engine import NotReadyError
from .security import safe_traceback_line

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 10  # the Retry-After of a 503 while the model and index load
_JSON_PREFIXES = ("/v1", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")

#: Renders an error as a web page: (request, status, detail, errors, headers) -> response.
#: The web UI registers one (`install(app, error_page=...)`); without it every error is JSON.
ErrorPage = Callable[
    [Request, int, str, list[dict[str, Any]] | None, dict[str, str] | None], Response
]


def status_for(exc: BaseException) -> int:
    """The HTTP status of a domain error (`recommender.errors.status_of`; 503 while the
    service is not ready)."""
    if isinstance(exc, NotReadyError):
        return 503
    return status_of(exc)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def readable_errors(errors: list[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI errors as `{"field", "message"}` pairs, without the input values."""
    out = []
    for error in errors:
        loc = error.get("loc", ()) if isinstance(error, dict) else ()
        message = str(error.get("msg", "invalid value")) if isinstance(error, dict) else str(error)
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        out.append({"field": _location(loc), "message": message})
    return out


def summary(errors: list[dict[str, str]]) -> str:
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"invalid request: {shown}{more}"


def wants_json(request: Request) -> bool:
    """JSON for the API; everything else is a web page."""
    return request.url.path.startswith(_JSON_PREFIXES) or request.url.path.startswith("/static")


def _respond(
    request: Request,
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if 300 <= status < 400 and headers and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=status)
    error_page: ErrorPage | None = request.app.state.error_page
    if error_page is not None and not wants_json(request):
        return error_page(request, status, detail, errors, headers)
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    status = status_for(exc)
    if isinstance(exc, ImportValidationError):
        rows = [{"row": e.row, "field": e.field, "message": e.reason} for e in exc.errors]
        head = str(exc).splitlines()[0]
        return _respond(request, status, head, rows)
    if status >= 500:
        logger.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    headers = None
    if status == 503:
        # Loading or reloading: say when to ask again.
        retry_after = exc.retry_after if isinstance(exc, NotReadyError) else RETRY_AFTER_S
        headers = {"Retry-After": str(retry_after)}
    return _respond(request, status, str(exc) or type(exc).__name__, headers=headers)


async def _on_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errors = readable_errors(list(exc.errors()))
    return _respond(request, 422, summary(errors), errors)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    return _respond(request, exc.status_code, str(exc.detail), None, headers or None)


async def _on_database_refusal(request: Request, exc: Exception) -> Response:
    # The database refused a value that passed validation (a number out of its range, a
    # duplicate key written by a concurrent request). The message could quote the value.
    logger.warning("database refused a write on %s: %s", request.url.path, type(exc).__name__)
    if isinstance(exc, IntegrityError):
        return _respond(request, 409, "the change conflicts with stored data; reload and retry")
    return _respond(request, 422, "a value cannot be stored (out of range or not valid text)")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """A 500 for an unexpected exception, logged as one line: the exception types and frames,
    never the exception's message (it may quote a plan or other user data).

    Called by `middleware.ObservabilityMiddleware`, which does not re-raise, so the server
    (uvicorn: "Exception in ASGI application") logs no second, full traceback.
    """
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    logger.error(
        "unexpected error on %s %s: %s", request.method, route, safe_traceback_line(exc)
    )
    return _respond(request, 500, "internal error; the details are in the server log")


def install(app: FastAPI, error_page: ErrorPage | None = None) -> None:
    """Register every handler on `app`; `error_page` renders the errors of web pages."""
    app.state.error_page = error_page
    app.add_exception_handler(PeyvandError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DataError, _on_database_refusal)
    app.add_exception_handler(IntegrityError, _on_database_refusal)
    app.add_exception_handler(Exception, on_unexpected)
