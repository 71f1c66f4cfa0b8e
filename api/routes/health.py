"""Liveness, readiness and Prometheus metrics (no authentication; nothing confidential)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ..deps import MetricsDep, RecommenderDep, ServiceStoreDep, WorkerDep
from ..schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(store: ServiceStoreDep, recommender: RecommenderDep, worker: WorkerDep) -> Response:
    """Ready to serve: the store answers, the model and index are loaded, the job worker runs."""
    checks: dict[str, str] = {}
    try:
        with store.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unreachable ({type(exc).__name__})"
    checks["recommender"] = (
        "ok" if recommender.state == "ready" else (f"{recommender.state}: {recommender.reason}")
    )
    checks["jobs"] = "ok" if worker.alive else "the job worker is not running"
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(ready=ready, checks=checks)
    if ready:
        return JSONResponse(body.model_dump())
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "10"})


@router.get("/metrics", response_class=Response)
def metrics(registry: MetricsDep, recommender: RecommenderDep) -> Response:
    """Prometheus text format."""
    registry.recommender_ready.set(1 if recommender.state == "ready" else 0)
    return Response(registry.render(), media_type=registry.content_type)
