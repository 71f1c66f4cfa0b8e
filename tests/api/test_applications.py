"""Applications and matching through the JSON API: submit, read, edit, suggestions, staff
match, and readable 422s that never echo the input back."""

from __future__ import annotations

from .conftest import PLAN, Env, application_body

ITEM_KEYS = {
    "program_id",
    "name",
    "score",
    "p_residency",
    "p_funding",
    "expected_funding",
    "reasons",
    "factors",
}


def test_submit_read_edit_and_get_suggestions(env: Env):
    created = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    )
    assert created.status_code == 201
    app_id = created.json()["id"]
    assert app_id.startswith("app-")
    stored = env.store.get_application(app_id)
    assert stored.business_plan == PLAN and stored.stage == "mvp"

    edited = env.client.put(
        f"/v1/applications/{app_id}",
        json=application_body(startup_name="کیف‌پول نو ۲", stage="early_revenue"),
        headers=env.auth("applicant"),
    )
    assert edited.status_code == 200
    assert edited.json()["startup_name"] == "کیف‌پول نو ۲"
    assert env.store.get_application(app_id).stage == "early_revenue"

    suggestions = env.client.get(
        f"/v1/applications/{app_id}/suggestions?top=2", headers=env.auth("applicant")
    )
    assert suggestions.status_code == 200
    body = suggestions.json()
    assert body["application_id"] == app_id
    assert len(body["items"]) == 2
    assert body["items"][0]["program_id"] == "fin-teh"  # the plan is about payments
    assert ITEM_KEYS <= set(body["items"][0])
    assert body["items"][0]["reasons"][0].endswith("هم‌خوان است.")


def test_staff_match_by_text_with_filters_gives_recommend_json_items(env: Env):
    response = env.client.post(
        "/v1/staff/match",
        json={"text": PLAN, "filters": {"kinds": ["incubator", "vc_fund"]}, "top": 5},
        headers=env.auth("staff"),
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["program_id"] for i in items} == {"agri-isf", "health-fund"}
    assert all(ITEM_KEYS <= set(i) for i in items)
    assert items == sorted(items, key=lambda i: -i["score"])
    assert response.json()["ranker"] == "model"


def test_staff_match_by_application_id_and_unknown_ids(env: Env):
    app_id = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    ).json()["id"]
    ok = env.client.post(
        "/v1/staff/match", json={"application_id": app_id, "top": 1}, headers=env.auth("staff")
    )
    assert ok.status_code == 200 and len(ok.json()["items"]) == 1
    missing = env.client.post(
        "/v1/staff/match", json={"application_id": "app-none"}, headers=env.auth("staff")
    )
    assert missing.status_code == 404
    assert "app-none" in missing.json()["detail"]


def test_empty_match_list_carries_the_reason(sqlite_env: Env):
    response = sqlite_env.client.post(
        "/v1/staff/match",
        json={"text": PLAN, "filters": {"provinces": ["گیلان"]}},
        headers=sqlite_env.auth("staff"),
    )
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["empty_reason"]


def test_bad_bodies_get_a_readable_422_without_the_input(sqlite_env: Env):
    env = sqlite_env
    both = env.client.post(
        "/v1/staff/match",
        json={"text": PLAN, "application_id": "x"},
        headers=env.auth("staff"),
    )
    assert both.status_code == 422
    assert "exactly one" in both.json()["detail"]
    assert PLAN not in both.text

    too_long = "طرح " * 20_000
    long = env.client.post(
        "/v1/applications",
        json=application_body(business_plan=too_long),
        headers=env.auth("applicant"),
    )
    assert long.status_code == 422
    assert long.json()["errors"][0]["field"] == "business_plan"
    assert "طرح طرح" not in long.text and len(long.text) < 2000

    wrong = env.client.post(
        "/v1/applications",
        json=application_body(stage="unicorn", team_size=0),
        headers=env.auth("applicant"),
    )
    assert wrong.status_code == 422
    fields = {e["field"] for e in wrong.json()["errors"]}
    assert fields == {"stage", "team_size"}
    assert wrong.json()["detail"].startswith("invalid request: ")

    malformed = env.client.post(
        "/v1/staff/match",
        content=b'{"text": "unterminated',
        headers={**env.auth("staff"), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 422
    assert "JSON" in malformed.json()["detail"]

    empty_plan = env.client.post(
        "/v1/applications",
        json=application_body(business_plan="   "),
        headers=env.auth("applicant"),
    )
    assert empty_plan.status_code == 422 and "empty" in empty_plan.json()["detail"]


def test_unknown_round_is_refused(sqlite_env: Env):
    response = sqlite_env.client.post(
        "/v1/applications",
        json=application_body(round_id="no-such-round"),
        headers=sqlite_env.auth("applicant"),
    )
    assert response.status_code == 422
    assert "no-such-round" in response.json()["detail"]


def test_matching_is_503_until_the_recommender_loads(tmp_path):
    from fastapi.testclient import TestClient

    from api.accounts import Accounts
    from api.main import create_app
    from api.settings import Settings
    from recommender.errors import NotFittedError

    def loader(previous):
        raise NotFittedError("no candidate index yet: run `peyvand index build`")

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app(settings, recommender_loader=loader)
    with TestClient(app) as client:
        app.state.recommender.wait(10)
        _, token = Accounts(app.state.store).add_user("sara", "staff")
        response = client.post(
            "/v1/staff/match",
            json={"text": PLAN},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 503
        assert "peyvand index build" in response.json()["detail"]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"] == "ok"
        assert "index" in ready.json()["checks"]["recommender"]


def test_nul_characters_are_refused_on_every_database(env: Env):
    plan = env.client.post(
        "/v1/applications",
        json=application_body(business_plan="طرح\x00"),
        headers=env.auth("applicant"),
    )
    assert plan.status_code == 422 and "NUL" in plan.json()["detail"]
    program = env.client.post(
        "/v1/programs",
        json={
            "id": "p\x00",
            "name": "n",
            "kind": "accelerator",
            "description": "d",
            "province": "تهران",
        },
        headers=env.auth("staff"),
    )
    assert program.status_code == 422
    patch = env.client.patch(
        "/v1/programs/fin-teh", json={"city": "\x00"}, headers=env.auth("staff")
    )
    assert patch.status_code == 422


def test_staff_match_by_text_returns_the_facts_read_and_takes_corrections(sqlite_env: Env):
    env = sqlite_env
    read = env.client.post(
        "/v1/staff/match", json={"text": PLAN, "top": 3}, headers=env.auth("staff")
    )
    assert read.status_code == 200
    facts = read.json()["facts"]
    assert {"stage", "province", "needs_residency", "funding_ask", "sectors"} <= set(facts)
    assert all(0 <= f["confidence"] <= 1 for f in facts.values())

    corrected = env.client.post(
        "/v1/staff/match",
        json={"text": PLAN, "top": 3, "facts": {"stage": "growth", "province": "قم"}},
        headers=env.auth("staff"),
    )
    assert corrected.status_code == 200
    facts = corrected.json()["facts"]
    assert facts["stage"] == {"value": "growth", "confidence": 1.0}
    assert facts["province"]["value"] == "قم"

    by_id = env.client.post(
        "/v1/staff/match", json={"application_id": "x", "facts": {"stage": "mvp"}},
        headers=env.auth("staff"),
    )
    assert by_id.status_code == 422
    bad = env.client.post(
        "/v1/staff/match", json={"text": PLAN, "facts": {"stage": "unicorn"}},
        headers=env.auth("staff"),
    )
    assert bad.status_code == 422 and PLAN not in bad.text
