"""The two event use cases, shared by the CLI and (later) the service: suggest who should
meet, and schedule the meetings (suggestions -> problem -> exact solve -> tables)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from recommender.events.model import EventData
from recommender.events.problem import MeetingKey, build_problem
from recommender.events.result import Schedule, assemble
from recommender.events.solver import DEFAULT_TIME_LIMIT_S, solve
from recommender.events.suggest import FitTable, Suggestion, suggest_meetings


def request_scores(data: EventData, table: FitTable) -> dict[tuple[str, str], float]:
    """The fit of every requested pair (their `score` in the schedule)."""
    known = data.by_id()
    return {
        (p.id, other): table.score(p.id, other)
        for p in data.participants
        for other in p.requests
        if other in known
    }


def schedule_event(
    data: EventData,
    embedder: Any | None = None,
    *,
    suggestions: Sequence[Suggestion] | None = None,
    scores: Mapping[tuple[str, str], float] | None = None,
    keep: Iterable[MeetingKey] = (),
    previous_tables: Mapping[MeetingKey, int] | None = None,
    pins: Iterable[Sequence[str]] = (),
    without: Iterable[str] = (),
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
) -> Schedule:
    """The exact schedule of an event.

    Args:
        data: the event and its participants.
        embedder: a fitted embedder, for the suggestions and fit (or pass `suggestions`).
        suggestions / scores: precomputed suggestions and request fits (benchmarks, tests).
        keep / previous_tables: a previous schedule's meetings, kept where they can be.
        pins: meetings that must happen; without: participants who cancelled.
        time_limit_s: for the whole solve.

    Raises:
        InvalidInputError / InfeasibleError: a pin or `without` that cannot be used.
    """
    started = time.perf_counter()
    if suggestions is None:
        if embedder is None:
            raise ValueError("schedule_event needs an embedder or suggestions")
        table, suggestions = suggest_meetings(data, embedder)
        scores = {**request_scores(data, table), **(scores or {})}
    problem = build_problem(
        data,
        suggestions={(s.startup_id, s.partner_id): s.score for s in suggestions},
        scores=scores,
        keep=keep,
        pins=pins,
        without=without,
    )
    solution = solve(problem, time_limit_s=time_limit_s)
    return assemble(
        problem,
        solution,
        previous_tables=previous_tables,
        seconds=time.perf_counter() - started,
    )
