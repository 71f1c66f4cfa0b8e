"""The demo's last round is open on the day the demo is built; earlier rounds are closed and
shifted with it (so applying, scoring and the closed-round rule can be tried on a fresh demo)."""

from __future__ import annotations

import datetime as dt

import pytest

from api.cli.demo_cmds import demo_history
from data.catalog import load_programs
from data.synthetic import generate_history
from recommender.schemas import IntakeRound


@pytest.mark.parametrize(
    "today", [dt.date(2026, 11, 27), dt.date(2031, 3, 22), dt.date(2027, 6, 30), None]
)
def test_demo_last_round_is_open_on_the_build_day(today: dt.date | None):
    history, open_round, outcomes = demo_history(
        load_programs(), seed=42, rounds=5, per_round=10, today=today
    )
    day = today or dt.date.today()
    rounds = [IntakeRound.model_validate(r) for r in history.rounds]
    assert len({r.id for r in rounds}) == len(rounds) == 6
    last = max(rounds, key=lambda r: r.opens_on)
    assert last.id == open_round["id"]
    assert last.opens_on <= day <= last.closes_on
    for earlier in rounds:
        if earlier.id != last.id:
            assert earlier.closes_on < day
    assert outcomes and all(o["round_id"] != last.id for o in outcomes)
    assert max(dt.date.fromisoformat(o["decided_on"]) for o in outcomes) <= day
    assert all(a["founded_year"] <= day.year for a in history.applications)


def test_open_round_is_named_by_its_jalali_season():
    _, open_round, _ = demo_history(
        load_programs(), seed=42, rounds=3, per_round=10, today=dt.date(2026, 11, 27)
    )
    # Opened 2026-11-20 = 29 Aban 1405: autumn (the third season) of 1405.
    assert open_round["id"] == "round-1405-3"
    assert "پاییز" in open_round["name"]


def test_default_calendar_is_unchanged():
    history = generate_history(n_rounds=5, applications_per_round=5)
    assert [r["id"] for r in history.rounds] == [
        "round-1402-1", "round-1402-2", "round-1402-3", "round-1402-4", "round-1403-1",
    ]
    assert history.rounds[0]["opens_on"] == "2023-03-26"
