"""Jobs recorded as already finished, for tests that need a run's files without running it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from recommender.store.tables import JobRow, utcnow

if TYPE_CHECKING:
    from api.jobs import JobStore


def finished_job(
    jobs: JobStore,
    kind: str,
    params: dict[str, Any],
    *,
    subject: str,
    created_by: str,
    org_id: str | None,
    files: dict[str, str],
) -> str:
    """A `succeeded` job of `kind` whose folder holds `files` (name → text); returns its id.

    It is recorded finished at once: a job submitted as `queued` could be claimed first by
    the service's job runner, which empties its folder and runs it for real."""
    now = utcnow()
    row = JobRow(
        id=uuid.uuid4().hex,
        kind=kind,
        subject=subject,
        params=params,
        status="succeeded",
        progress=1.0,
        message="",
        result={"files": sorted(files)},
        created_by=created_by,
        org_id=org_id,
        created_at=now,
        started_at=now,
        heartbeat_at=now,
        finished_at=now,
    )
    out = jobs.output_dir(row.id)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    with jobs.store.session() as s:
        s.add(row)
    return row.id
