"""The houses of tests/api/_houses.py with an event of house A (`demo-day`, the events tests'
small event) and a text embedder on the fake recommender, and a way to run an
`event_schedule` job at once (the test apps run no worker)."""

from __future__ import annotations

from typing import Any

from tests.api._houses import HOUSE_A, Houses
from tests.recommender._round_fixtures import FakeEmbedder
from tests.recommender.events._event_fixtures import payload

EVENT_ID = "demo-day"


def add_event(h: Houses, house: str = HOUSE_A, event_id: str = EVENT_ID) -> str:
    """House A's event (made anew, the same, each time) and an embedder for suggestions."""
    from recommender.events.model import EventData

    h.app.state.recommender.get().embedder = FakeEmbedder()
    raw = payload(id=event_id, org_id=house)
    data = EventData.model_validate(raw)
    h.store.save_event(data)
    return event_id


def run_job(h: Houses, job_id: str) -> Any:
    """Run a queued job now, in this thread; returns it finished."""
    jobs = h.app.state.jobs
    return h.app.state.worker.run_one(jobs.get(job_id))


def scheduled(h: Houses, **params: Any) -> str:
    """A finished schedule of house A's event; returns its job id."""
    from api.event_jobs import submit_schedule

    add_event(h)
    jobs = h.app.state.jobs
    job = submit_schedule(jobs, h.store.get_event(EVENT_ID), actor="user:staff_a", **params)
    done = run_job(h, job.id)
    assert done.status == "succeeded", done.error
    return str(job.id)
