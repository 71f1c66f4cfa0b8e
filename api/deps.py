"""Every dependency of the handlers, declared once as an `Annotated` alias.

Roles: `CurrentUserDep` is any signed-in account (Bearer token); `StaffDep` staff or admin;
`AdminDep` admin only; `ApplicantDep` applicant only. A missing or bad token is 401, a
signed-in account with the wrong role 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from recommender.store.database import Store

from .accounts import Accounts, User
from .engine import RecommenderHolder
from .jobs import JobStore, JobWorker
from .metrics import Metrics
from .ratelimit import RateLimiter
from .security import client_ip
from .settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API token from `peyvand users add`.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.store.session() as session:
        yield session


def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def get_recommender(request: Request) -> RecommenderHolder:
    return request.app.state.recommender


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def get_worker(request: Request) -> JobWorker:
    return request.app.state.worker


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
# One transaction, committed when the handler returns (before the response is sent).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
RecommenderDep = Annotated[RecommenderHolder, Depends(get_recommender)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
WorkerDep = Annotated[JobWorker, Depends(get_worker)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The account of the Bearer token. Raises 401 without a valid token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "sign in: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = request.app.state.accounts.user_for_token(credentials.credentials)
    if user is None:
        raise HTTPException(
            401,
            "the token is not valid (unknown, revoked, or its account is disabled)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.user = user
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]


def require_role(*roles: str) -> Callable[[User], User]:
    """A dependency that lets only these roles through (403 for the others)."""

    def check(user: CurrentUserDep) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"this needs the role: {' or '.join(roles)}")
        return user

    return check


StaffDep = Annotated[User, Depends(require_role("staff", "admin"))]
AdminDep = Annotated[User, Depends(require_role("admin"))]
ApplicantDep = Annotated[User, Depends(require_role("applicant"))]


def check_rate(request: Request, rule: str, key: str) -> None:
    """Count one request against `rule`; 429 with Retry-After when over the limit."""
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.hit(rule, key)
    if wait is not None:
        request.app.state.metrics.rate_limited.labels(rule).inc()
        raise HTTPException(
            429,
            "too many requests; try again later",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )


def rate_limited(rule: str) -> Callable[..., None]:
    """A dependency limiting applicants per account (others per client address) by `rule`."""

    def check(request: Request, user: CurrentUserDep) -> None:
        if user.role == "applicant":
            check_rate(request, rule, f"user:{user.id}")

    return check


def client_key(request: Request) -> str:
    return client_ip(dict(request.scope))


AnyDict = dict[str, Any]
