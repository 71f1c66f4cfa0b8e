"""The demo's last round of every house is open on the day the demo is built; earlier rounds
are closed and shifted with it (so applying, scoring and the closed-round rule can be tried on
a fresh demo). Each house runs its own round each season (names: tests/api/test_demo_network.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from api.cli.demo_cmds import demo_history
from data.catalog import load_programs
from data.synthetic import generate_history
from recommender.schemas import IntakeRound


@pytest.mark.parametrize(
    "today", [dt.date(2026, 11, 27), dt.date(2031, 3, 22), dt.date(2027, 6, 30), None]
)
def test_each_houses_last_round_is_open_on_the_build_day(today: dt.date | None):
    history, open_rounds, outcomes = demo_history(
        load_programs(), seed=42, rounds=5, per_round=10, today=today
    )
    day = today or dt.date.today()
    rounds = [IntakeRound.model_validate(r) for r in history.rounds]
    assert len({r.id for r in rounds}) == len(rounds)
    by_house: dict[str | None, list[IntakeRound]] = defaultdict(list)
    for r in rounds:
        by_house[r.org_id].append(r)
    houses = {p.org_id for p in load_programs() if p.active}
    assert set(by_house) == houses and None not in by_house
    open_ids = {r["id"] for r in open_rounds}
    assert len(open_ids) == len(houses)
    for house_rounds in by_house.values():
        assert len(house_rounds) == 6  # five past seasons and the open one
        last = max(house_rounds, key=lambda r: r.opens_on)
        assert last.id in open_ids
        assert last.opens_on <= day <= last.closes_on
        assert all(r.closes_on < day for r in house_rounds if r.id != last.id)
    assert outcomes and all(o["round_id"] not in open_ids for o in outcomes)
    assert max(dt.date.fromisoformat(o["decided_on"]) for o in outcomes) <= day
    assert all(a["founded_year"] <= day.year for a in history.applications)


def test_default_calendar_is_unchanged_without_houses():
    plain = [p.model_copy(update={"org_id": None}) for p in load_programs()]
    history = generate_history(n_rounds=5, applications_per_round=5, programs=plain)
    assert [r["id"] for r in history.rounds] == [
        "round-1402-1", "round-1402-2", "round-1402-3", "round-1402-4", "round-1403-1",
    ]
    assert history.rounds[0]["opens_on"] == "2023-03-26"
