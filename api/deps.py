"""Every dependency of the handlers, declared once as an `Annotated` alias.

Roles: `CurrentUserDep` is any signed-in account (Bearer token); `StaffDep` staff of a house,
the network operator or admin; `NetworkDep` the network operator or admin; `AdminDep` admin
only; `ApplicantDep` applicant only. A missing or bad token is 401, a signed-in account with
the wrong role 403.

`StoreDep` is the store as the signed-in caller sees it (`store_for`): every handler that
takes it reads and writes within the caller's house (or their own applications).
`ServiceStoreDep` is the whole store, for what no caller owns (health checks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from recommender.store.database import Store

from .accounts import Accounts, User
from .engine import RecommenderHolder
from .jobs import JobStore, JobWorker
from .metrics import Metrics
from .queue import QueueDispatcher
from .ratelimit import LimiterUnavailableError, RateLimiter, RedisRateLimiter
from .security import client_ip
from .settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API token from `peyvand users add`.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_service_store(request: Request) -> Store:
    return request.app.state.store


def store_for(request: Request, user: User) -> Store:
    """The store scoped to what `user` may see (the API's and the web pages' one way in)."""
    store: Store = request.app.state.store
    return store.scoped(user.scope)


def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def get_recommender(request: Request) -> RecommenderHolder:
    return request.app.state.recommender




def get_worker(request: Request) -> JobWorker | QueueDispatcher:
    return request.app.state.worker


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceStoreDep = Annotated[Store, Depends(get_service_store)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
RecommenderDep = Annotated[RecommenderHolder, Depends(get_recommender)]
WorkerDep = Annotated[JobWorker | QueueDispatcher, Depends(get_worker)]
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


def get_store(request: Request, user: CurrentUserDep) -> Store:
    return store_for(request, user)


StoreDep = Annotated[Store, Depends(get_store)]


def jobs_for(request: Request, user: User) -> JobStore:
    """The jobs `user` may see (staff: their house's)."""
    jobs: JobStore = request.app.state.jobs
    return jobs.scoped(user.scope)


def get_jobs(request: Request, user: CurrentUserDep) -> JobStore:
    return jobs_for(request, user)


JobsDep = Annotated[JobStore, Depends(get_jobs)]


def require_role(*roles: str) -> Callable[[User], User]:
    """A dependency that lets only these roles through (403 for the others)."""

    def check(user: CurrentUserDep) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"this needs the role: {' or '.join(roles)}")
        return user

    return check


StaffDep = Annotated[User, Depends(require_role("staff", "network", "admin"))]
NetworkDep = Annotated[User, Depends(require_role("network", "admin"))]
AdminDep = Annotated[User, Depends(require_role("admin"))]
ApplicantDep = Annotated[User, Depends(require_role("applicant"))]


def check_rate(request: Request, rule: str, key: str) -> None:
    """Count one request against `rule`; 429 with Retry-After when over the limit."""
    limiter: RateLimiter | RedisRateLimiter = request.app.state.limiter
    try:
        wait = limiter.hit(rule, key)
    except LimiterUnavailableError as exc:
        raise HTTPException(
            503, "the service is briefly unavailable; try again shortly",
            headers={"Retry-After": "5"},
        ) from exc
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
