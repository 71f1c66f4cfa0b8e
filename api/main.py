"""Builds the FastAPI app: the JSON API under `/v1` (OpenAPI at `/openapi.json`), health and
metrics, and the Persian web UI.

    uvicorn --factory api.main:create_app     # or: peyvand serve

At start-up the store is migrated (idempotent), jobs left running by a dead process are failed,
the job worker thread starts and the recommender (model + index) loads in the background;
`/readyz` says 503 until it is loaded.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from recommender.constants import MAX_IMPORT_BYTES
from recommender.scoring.pipeline import Recommender
from recommender.store.database import Store

from . import errors
from .accounts import SESSION_TTL, Accounts
from .engine import Loader, RecommenderHolder
from .follow import Follower, service_stamp
from .job_kinds import register_all as register_job_kinds
from .jobs import JobRegistry, JobStore, JobWorker, default_registry
from .metrics import Metrics
from .middleware import BodySizeLimitMiddleware, ObservabilityMiddleware
from .queue import QueueDispatcher, make_broker
from .ratelimit import RateLimiter, Rule
from .routes import (
    applications,
    events,
    health,
    imports,
    jobs,
    models,
    network,
    orgs,
    outcomes,
    programs,
    referrals,
    rounds,
    staff,
    users,
    workflow,
)
from .security import session_secret
from .services import load_recommender
from .settings import Settings
from .web import install as install_web
from .web.views import render_error

logger = logging.getLogger(__name__)

API_VERSION = "1"
DEFAULT_BODY_LIMIT = 1024 * 1024  # JSON bodies; a 50,000-character plan is ~300 KB escaped
UPLOAD_BODY_LIMIT = MAX_IMPORT_BYTES + 256 * 1024  # file uploads (+ multipart overhead)
UPLOAD_PREFIXES = (
    "/v1/imports",
    "/me/applications",
    "/staff/imports",
    "/v1/events",
    "/staff/events",
)
SESSION_COOKIE = "peyvand_session"


def _default_loader(settings: Settings) -> Loader:
    def load(previous: Recommender | None) -> Recommender:
        # A reload keeps the embedding model it already has (one copy in memory, no
        # second load); the index, rankers and features are read fresh.
        embedder = previous.embedder if previous is not None else None
        return load_recommender(settings, embedder=embedder)

    return load


def _job_worker(
    settings: Settings,
    job_store: JobStore,
    registry: JobRegistry,
    holder: RecommenderHolder,
    metrics: Metrics,
    poll_interval: float,
) -> JobWorker:
    return JobWorker(
        job_store,
        registry,
        # Jobs wait for a reload in progress (after an import), so they see every program.
        {
            "recommender": holder.get_settled,
            "settings": settings,
            # a train job that promotes a new version reloads the service's model
            "reload_recommender": holder.reload_in_background,
        },
        poll_interval=poll_interval,
        on_done=lambda job: metrics.jobs_finished.labels(job.kind, job.status).inc(),
    )


def _lifespan(
    store: Store,
    worker: JobWorker | QueueDispatcher,
    holder: RecommenderHolder,
    follower: Follower,
    *,
    own_store: bool,
    start_worker: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up and shutdown: migrate the store, start (or only recover) the job worker, load
    the recommender in the background and follow changes other processes make
    (`api.follow`); stop them and close a store the app opened.
    """
    running = 0  # lifespans entered (a test client and a fuzzer may both start one)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal running
        running += 1
        if running == 1:
            store.upgrade()
            if start_worker:
                worker.start()
            else:
                worker.recover()
            holder.load_in_background()
            follower.start()
        try:
            yield
        finally:
            running -= 1
            if running == 0:
                follower.stop()
                worker.stop()
                if own_store:
                    store.close()

    return lifespan


def _add_routes(app: FastAPI, *, with_web: bool) -> None:
    """The error handlers, the `/v1` routers and (optionally) the web UI."""
    errors.install(app, error_page=render_error if with_web else None)
    for module in (
        health,
        users,
        orgs,
        applications,
        referrals,
        staff,
        programs,
        imports,
        rounds,
        jobs,
        outcomes,
        network,
        workflow,
        models,
        events,
    ):
        app.include_router(module.router)
    if with_web:
        install_web(app)


def _add_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, body_limit: int, upload_limit: int
) -> None:
    # Added last = runs first: observability wraps everything, then the size limit.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings.resolved_home, settings.session_secret),
        session_cookie=SESSION_COOKIE,
        max_age=int(SESSION_TTL.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        default_limit=body_limit,
        limits=[(prefix, upload_limit) for prefix in UPLOAD_PREFIXES],
    )
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, on_error=errors.on_unexpected)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    recommender: Recommender | None = None,
    recommender_loader: Loader | None = None,
    job_registry: JobRegistry | None = None,
    rate_rules: dict[str, Rule] | None = None,
    start_worker: bool = True,
    job_poll_interval: float = 2.0,
    max_concurrent_matches: int = 4,
    body_limit: int = DEFAULT_BODY_LIMIT,
    upload_limit: int = UPLOAD_BODY_LIMIT,
    web: bool = True,
) -> FastAPI:
    """The app of one Peyvand home.

    Args:
        settings: PEYVAND_* settings (read from the environment when None).
        store: the store to use (default: `Store(settings.db_url)`, closed at shutdown).
        recommender: an already-loaded Recommender (tests pass a fake).
        recommender_loader: how to load one, given the current one (None at first; default
            `api.services.load_recommender`).
        job_registry: job kinds (default: the shared registry + `round_score` + `train`).
        rate_rules: rate-limit rules (default `api.ratelimit.DEFAULT_RULES`).
        start_worker: run the in-process job worker.
        job_poll_interval: seconds between looks at the job queue.
        max_concurrent_matches: recommend calls allowed at once.
        body_limit: largest request body in bytes (413 beyond).
        upload_limit: largest body on upload paths.
        web: serve the Persian web UI.
    """
    settings = settings or Settings()
    limiter = RateLimiter(rate_rules, settings.ratelimit_url)  # an unreachable Redis stops here
    own_store = store is None
    store = store or Store(settings.db_url)
    registry = register_job_kinds((job_registry or default_registry).copy())
    metrics = Metrics()
    holder = RecommenderHolder(
        loader=None
        if recommender is not None
        else (recommender_loader or _default_loader(settings)),
        instance=recommender,
        max_concurrent=max_concurrent_matches,
        stamp=functools.partial(service_stamp, store, settings)
        if recommender is None and settings.follow_interval > 0
        else None,
    )
    follower = Follower(holder, settings.follow_interval)
    job_store = JobStore(store, settings.resolved_home / "jobs")
    worker: JobWorker | QueueDispatcher
    if settings.queue_url:
        # Jobs go to `peyvand worker` processes through Redis (api.queue).
        worker = QueueDispatcher(job_store, make_broker(settings), settings.queue_heartbeat_s)
    else:
        worker = _job_worker(settings, job_store, registry, holder, metrics, job_poll_interval)
    app = FastAPI(
        title="Peyvand",
        version=API_VERSION,
        description=(
            "Matches Persian business plans with accelerators, funds and support programs. "
            "Authenticate with `Authorization: Bearer <token>` (see `peyvand users add`)."
        ),
        lifespan=_lifespan(
            store, worker, holder, follower, own_store=own_store, start_worker=start_worker
        ),
    )
    app.state.settings = settings
    app.state.store = store
    app.state.accounts = Accounts(store)
    app.state.recommender = holder
    app.state.jobs = job_store
    app.state.worker = worker
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.limiter = limiter
    _add_routes(app, with_web=web)
    _add_middleware(app, settings, metrics, body_limit, upload_limit)
    return app
