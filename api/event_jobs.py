"""The service's side of events (`recommender.events`), shared by the API and the web pages:

- the `event_schedule` background job (params: `event_id`; optional `keep_from`, a previous
  schedule job of the event whose meetings are kept where they can be; `without`, the ids of
  participants who cancelled; `pins`, meetings `[a, b, slot]` that must happen;
  `time_limit_s`). It writes the files of
  `recommender.events.outputs.write_outputs` into the job's folder (schedule.csv,
  summary.json, schedule.xlsx, agendas/<id>.ics) and agendas.zip (every .ics, so the job's
  file list offers them in one download);
- `submit_schedule`: checks and queues one such job (one rule for the API and the page);
- `latest_schedule`: the event's newest finished schedule, read back with names;
- `agenda_token`: the signed token of a participant's personal agenda link.
"""

from __future__ import annotations

import json
import logging
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError, NotFoundError
from recommender.events.model import EventData

from .jobs import Job, JobContext, JobRegistry, JobStore
from .security import check_link_token, link_token, session_secret
from .settings import Settings

logger = logging.getLogger(__name__)

JOB_KIND = "event_schedule"
JOB_TITLE = "زمان‌بندی جلسه‌های رویداد"
AGENDAS_ZIP = "agendas.zip"
SCHEDULE_FILES = ("schedule.xlsx", "schedule.csv", "summary.json", AGENDAS_ZIP)
_AGENDA_PURPOSE = "event-agenda"


def subject_of(event_id: str) -> str:
    return f"events/{event_id}"


def embedder_of(recommender: Any) -> Any:
    """The service's fitted text embedder (the live recommender's). Raises: InvalidInputError."""
    embedder = getattr(recommender, "embedder", None)
    if embedder is None:
        raise InvalidInputError("مدل متن سامانه بارگذاری نشده است؛ کمی بعد دوباره بکوشید")
    return embedder


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError("«without» باید فهرستی از شناسهٔ شرکت‌کنندگان باشد")
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def event_schedule_job(ctx: JobContext) -> dict[str, Any]:
    """Schedule one event exactly (a `JobContext` in, the job's small JSON result out)."""
    from recommender.events.outputs import read_previous, write_outputs
    from recommender.events.planner import schedule_event

    params = dict(ctx.params or {})
    event_id = str(params.get("event_id") or "")
    if not event_id:
        raise InvalidInputError("کار زمان‌بندی به شناسهٔ رویداد (event_id) نیاز دارد")
    try:
        time_limit = float(params.get("time_limit_s", 60.0))
    except (TypeError, ValueError):
        raise InvalidInputError("«time_limit_s» باید عدد باشد") from None
    ctx.progress(0, 3, "خواندن رویداد")
    data = ctx.store.get_event(event_id)
    keep: list[Any] = []
    tables: dict[Any, int] = {}
    keep_from = params.get("keep_from")
    if keep_from:
        keep, tables = read_previous(ctx.output_dir.parent / str(keep_from))
    ctx.progress(1, 3, "پیشنهاد دیدارها")
    embedder = embedder_of(ctx.services["recommender"]())
    ctx.progress(2, 3, "حل دقیق زمان‌بندی")
    schedule = schedule_event(
        data,
        embedder,
        keep=keep,
        previous_tables=tables,
        without=_ids(params.get("without")),
        pins=[tuple(pin) for pin in params.get("pins") or []],
        time_limit_s=time_limit,
    )
    facts = write_outputs(schedule, ctx.output_dir)
    agendas = ctx.output_dir / "agendas"
    with zipfile.ZipFile(ctx.output_dir / AGENDAS_ZIP, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(agendas.glob("*.ics")):
            bundle.write(path, f"agendas/{path.name}")
    ctx.progress(3, 3, "پرونده‌ها نوشته شد")
    return {
        "event_id": event_id,
        "meetings": facts["meetings"],
        "optimal": facts["optimal"],
        "gap": facts["gap"],
        "requests_met": facts["requests_met"],
        "kept": {"met": facts["kept"]["met"], "total": facts["kept"]["total"]},
    }


def register(registry: JobRegistry) -> None:
    """Give `registry` the `event_schedule` kind unless it has one."""
    if registry.get(JOB_KIND) is None:
        registry.register(JOB_KIND, event_schedule_job, JOB_TITLE)


# ------------------------------------------------------------------------ submitting
def submit_schedule(
    jobs: JobStore,
    data: EventData,
    *,
    actor: str,
    keep_from: str | None = None,
    without: list[str] | None = None,
    pins: list[list[str]] | None = None,
    time_limit_s: float = 60.0,
) -> Job:
    """Queue the schedule of `data`'s event (`jobs` scoped to the caller).

    Re-scheduling (`keep_from`, a finished schedule job of this event) keeps its meetings
    where it can and keeps out those who cancelled then too (its `without`), plus `without`.

    The cancellations and pins (meetings `[a, b, slot]` that must happen) are checked now,
    by the schedule's own encoder (`recommender.events.problem.build_problem`), so a bad one
    is refused before anything is queued.

    Raises:
        InvalidInputError: `without` or a pin names someone or a slot not in the event, or
            `keep_from` is not a finished schedule of this event (one Persian line naming it).
        InfeasibleError: the pins cannot all happen (the culprit named).
    """
    from recommender.events.problem import build_problem

    cancelled = _ids(without)
    if keep_from:
        previous = _schedule_job(jobs, data.event.id, keep_from)
        cancelled = list(dict.fromkeys([*_ids(previous.params.get("without")), *cancelled]))
    pinned = [[str(v).strip() for v in pin] for pin in pins or []]
    build_problem(data, pins=pinned, without=cancelled)
    params: dict[str, Any] = {
        "event_id": data.event.id,
        "without": cancelled,
        "pins": pinned,
        "time_limit_s": time_limit_s,
    }
    if keep_from:
        params["keep_from"] = keep_from
    return jobs.submit(
        JOB_KIND,
        params,
        created_by=actor,
        subject=subject_of(data.event.id),
        org_id=data.event.org_id,
    )


def _schedule_job(jobs: JobStore, event_id: str, job_id: str) -> Job:
    try:
        job = jobs.get(job_id)
    except NotFoundError:
        job = None
    if job is None or job.subject != subject_of(event_id) or job.status != "succeeded":
        raise InvalidInputError(
            f"«{job_id}» یک زمان‌بندی پایان‌یافتهٔ رویداد «{event_id}» نیست"
        )
    return job


# ------------------------------------------------------------------------ reading back
@dataclass(frozen=True)
class EventSchedule:
    """The newest finished schedule of an event: its job, folder, meetings and summary."""

    job: Job
    folder: Path
    meetings: list[Any]
    summary: dict[str, Any]

    @property
    def without(self) -> list[str]:
        return list(self.job.params.get("without") or [])


def latest_schedule(jobs: JobStore, event_id: str) -> EventSchedule | None:
    """The event's newest succeeded schedule job with its files, or None."""
    from recommender.events.outputs import read_meetings

    for job in jobs.list(subject=subject_of(event_id), limit=20):
        if job.status != "succeeded":
            continue
        folder = jobs.output_dir(job.id)
        if not (folder / "summary.json").is_file():
            continue
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return EventSchedule(job, folder, read_meetings(folder), summary)
    return None


def schedule_file(found: EventSchedule | None, name: str) -> Path:
    """A file of the latest schedule: one of `SCHEDULE_FILES` or `agendas/<id>.ics`.

    Raises: NotFoundError."""
    if found is not None:
        if name in SCHEDULE_FILES:
            path = found.folder / name
        elif name.startswith("agendas/") and name.endswith(".ics") and "/" not in name[8:]:
            path = found.folder / "agendas" / name[8:]
        else:
            path = None
        if path is not None and path.is_file():
            return path
    raise NotFoundError(f"پرونده‌ای به نام «{name}» در آخرین زمان‌بندی این رویداد نیست")


# ------------------------------------------------------------------------ personal links
def _secret(settings: Settings) -> str:
    return session_secret(settings.resolved_home, settings.session_secret)


def agenda_token(settings: Settings, event_id: str, participant_id: str) -> str:
    """The token of a participant's personal agenda link (no account needed)."""
    return link_token(_secret(settings), _AGENDA_PURPOSE, event_id, participant_id)


def agenda_token_ok(settings: Settings, event_id: str, participant_id: str, token: str) -> bool:
    return check_link_token(_secret(settings), token, _AGENDA_PURPOSE, event_id, participant_id)


# ------------------------------------------------------------------------ suggestions
def named_suggestions(
    data: EventData, embedder: Any, *, participant: str | None = None, top: int | None = None
) -> list[dict[str, Any]]:
    """Each startup's suggested partners (`recommender.events.suggest`), with names and
    kinds; with `participant`, only the suggestions that name them (as startup or partner),
    each with `other_id`/`other_name`/`other_kind`: whom they would meet.

    Raises: NotFoundError (`participant` is not in the event)."""
    from recommender.events.suggest import suggest_meetings

    people = data.by_id()
    if participant is not None and participant not in people:
        raise NotFoundError(
            f"شرکت‌کننده‌ای با شناسهٔ «{participant}» در رویداد «{data.event.id}» نیست"
        )
    _, suggestions = suggest_meetings(data, embedder, top)
    out = []
    for s in suggestions:
        if participant is not None and participant not in (s.startup_id, s.partner_id):
            continue
        item = {
            **s.to_json(),
            "startup_name": people[s.startup_id].name,
            "partner_name": people[s.partner_id].name,
        }
        if participant is not None:
            other = people[s.partner_id if participant == s.startup_id else s.startup_id]
            item.update(other_id=other.id, other_name=other.name, other_kind=other.kind)
        out.append(item)
    return out


def warm_suggestions(holder: Any, store: Any, event_id: str) -> threading.Thread:
    """Compute the event's suggestions once, in the background, right after an import: the
    participants' profiles are embedded then (into the vector cache, shared by the service's
    processes on PostgreSQL), so the event's page and agendas open at once instead of taking
    the embedding time of every profile on the first view.

    Args:
        holder: the app's `RecommenderHolder` (its live recommender's embedder is used).
        store: the store as the importing caller sees it.
        event_id: the event just imported.
    """

    def run() -> None:
        try:
            named_suggestions(store.get_event(event_id), embedder_of(holder.get()))
        except Exception as exc:  # the page computes them itself then; never the profiles' text
            logger.info("event suggestions not warmed: %s", type(exc).__name__)

    thread = threading.Thread(target=run, name="peyvand-event-warm", daemon=True)
    thread.start()
    return thread
