"""An applicant cannot file or move an application into a round that is not open today."""

from __future__ import annotations

import datetime as dt

from tests.api.conftest import Env, application_body

TODAY = dt.date.today()


def _round(env: Env, round_id: str, opens: dt.date, closes: dt.date) -> None:
    response = env.client.post(
        "/v1/rounds",
        json={
            "id": round_id,
            "name": f"دوره {round_id}",
            "opens_on": opens.isoformat(),
            "closes_on": closes.isoformat(),
            "programs": [{"program_id": "fin-teh"}],
        },
        headers=env.auth("staff"),
    )
    assert response.status_code == 201, response.text


def test_applicant_cannot_move_into_a_closed_round(sqlite_env: Env):
    env = sqlite_env
    _round(env, "past", TODAY - dt.timedelta(days=90), TODAY - dt.timedelta(days=30))
    _round(env, "open", TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=5))
    _round(env, "future", TODAY + dt.timedelta(days=30), TODAY + dt.timedelta(days=60))
    applicant = env.auth("applicant")
    app_id = env.client.post(
        "/v1/applications", json=application_body(), headers=applicant
    ).json()["id"]

    moved = env.client.put(
        f"/v1/applications/{app_id}", json=application_body(round_id="past"), headers=applicant
    )
    assert moved.status_code == 422
    assert "closed" in moved.json()["detail"]
    assert env.client.get(f"/v1/applications/{app_id}", headers=applicant).json()[
        "round_id"
    ] is None
    early = env.client.put(
        f"/v1/applications/{app_id}", json=application_body(round_id="future"), headers=applicant
    )
    assert early.status_code == 422
    filed = env.client.post(
        "/v1/applications", json=application_body(round_id="past"), headers=applicant
    )
    assert filed.status_code == 422

    ok = env.client.put(
        f"/v1/applications/{app_id}", json=application_body(round_id="open"), headers=applicant
    )
    assert ok.status_code == 200 and ok.json()["round_id"] == "open"
    # Staff may still file into a closed round (late entries, corrections).
    staff = env.client.put(
        f"/v1/applications/{app_id}", json=application_body(round_id="past"), headers=env.auth(
            "staff")
    )
    assert staff.status_code == 200
    # Editing an application that stays in its (now closed) round is not a move.
    stays = env.client.put(
        f"/v1/applications/{app_id}",
        json=application_body(round_id="past", team_size=5),
        headers=applicant,
    )
    assert stays.status_code == 200
