"""What the store holds about the past, and the one query over it that serving needs.

`History` gathers a store's programs, applications, intake rounds and outcomes; `program_load`
(applications per seat in past rounds, a ranking feature) is computed from it both when the
rankers are trained (`training.dataset`, training rounds only) and when the service loads its
recommender (every round).

May import: recommender.schemas (and `Store` for typing only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from recommender.schemas import Application, IntakeRound, Outcome, Program

if TYPE_CHECKING:
    from recommender.store.database import Store

__all__ = ["History", "load_history", "program_load"]


@dataclass
class History:
    """What the store holds about the past: programs, applications, rounds, outcomes."""

    programs: list[Program]
    applications: list[Application]
    rounds: list[IntakeRound]
    outcomes: list[Outcome]

    def round_of(self, outcome: Outcome) -> str | None:
        """The outcome's round: its own, else its application's."""
        if outcome.round_id:
            return outcome.round_id
        app = self.application_index.get(outcome.application_id)
        return app.round_id if app is not None else None

    @cached_property
    def application_index(self) -> dict[str, Application]:
        """application id -> application."""
        return {a.id: a for a in self.applications}


def load_history(store: Store) -> History:
    """Every program, application, round (by opening date) and outcome of the store."""
    return History(
        programs=store.list_programs(),
        applications=store.list_applications(),
        rounds=store.list_rounds(),
        outcomes=store.list_outcomes(),
    )


def program_load(
    store_or_history: Store | History, round_ids: Sequence[str] | None = None
) -> dict[str, float]:
    """Applications per seat of each program, averaged over the past rounds it took part in.

    For a (round, program): applications = outcomes of that program in that round; seats =
    the round's seat override, else the program's `residency_seats`, at least 1 (so for
    programs without seats the load is applications per round). A program takes part in a
    round when the round lists it, or (rounds that list no programs) when it has outcomes
    there.

    Args:
        store_or_history: a `Store`, or a loaded `History`.
        round_ids: only these rounds (e.g. the training rounds); default: every round with
            outcomes.

    Returns:
        program id -> mean applications per seat (programs without history are absent).
    """
    history = (
        store_or_history
        if isinstance(store_or_history, History)
        else load_history(store_or_history)
    )
    wanted = set(round_ids) if round_ids is not None else None
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for outcome in history.outcomes:
        rid = history.round_of(outcome)
        if rid and (wanted is None or rid in wanted):
            counts[rid][outcome.program_id] += 1
    seats_of = {p.id: p.residency_seats for p in history.programs}
    rounds = {r.id: r for r in history.rounds}
    loads: dict[str, list[float]] = defaultdict(list)
    for rid, per_program in counts.items():
        round_ = rounds.get(rid)
        if round_ is not None and round_.programs:
            taking_part = {rp.program_id: rp.seats for rp in round_.programs}
        else:
            taking_part = dict.fromkeys(per_program)
        for pid, override in taking_part.items():
            if pid not in seats_of:
                continue
            seats = override if override is not None else seats_of[pid]
            loads[pid].append(per_program.get(pid, 0) / max(int(seats), 1))
    return {pid: float(np.mean(values)) for pid, values in loads.items()}
