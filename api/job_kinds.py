"""Every job kind of the service, in one place: the API process (jobs in its own thread) and
the queue workers (`peyvand worker`) register the same kinds, so a job submitted through any
API process can be run by any worker."""

from __future__ import annotations

from .embed_tasks import register as register_embed_jobs
from .event_jobs import register as register_event_jobs
from .jobs import JobRegistry
from .round_jobs import register as register_round_jobs
from .train_jobs import register as register_train_jobs

__all__ = ["register_all"]


def register_all(registry: JobRegistry) -> JobRegistry:
    """Give `registry` every kind it does not have yet (a kind already registered — a test's
    own model, say — is kept); returns it."""
    register_round_jobs(registry)
    register_train_jobs(registry)
    register_event_jobs(registry)
    register_embed_jobs(registry)
    return registry
