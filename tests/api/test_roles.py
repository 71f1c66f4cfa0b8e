"""Every role boundary: 401 without a valid token, 403 for the wrong role, 404 across owners,
admin-only user management, and the audit trail of staff reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Env, application_body, make_env


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One app for the read-only boundary checks (they change nothing: all are refused)."""
    home: Path = tmp_path_factory.mktemp("roles")
    yield from make_env(f"sqlite:///{home / 'peyvand.db'}", home / "home")


# (method, path, body) of every route that needs staff (or admin).
STAFF_ROUTES = [
    ("POST", "/v1/staff/match", {"text": "پرداخت", "top": 3}),
    ("GET", "/v1/programs", None),
    ("POST", "/v1/programs", None),
    ("PATCH", "/v1/programs/fin-teh", {"name": "x"}),
    ("POST", "/v1/programs/fin-teh/deactivate", None),
    ("GET", "/v1/rounds", None),
    ("POST", "/v1/rounds", None),
    ("GET", "/v1/rounds/r1", None),
    ("POST", "/v1/rounds/r1/programs", None),
    ("POST", "/v1/rounds/r1/score", None),
    ("GET", "/v1/rounds/r1/jobs", None),
    ("GET", "/v1/jobs", None),
    ("GET", "/v1/jobs/abc", None),
    ("GET", "/v1/jobs/abc/files/x.csv", None),
    ("GET", "/v1/outcomes", None),
    ("POST", "/v1/outcomes", None),
    ("POST", "/v1/imports/programs", None),
]
ADMIN_ROUTES = [
    ("GET", "/v1/users", None),
    ("POST", "/v1/users", {"name": "x1", "role": "staff"}),
    ("PATCH", "/v1/users/1", {"active": False}),
    ("POST", "/v1/users/1/tokens", None),
    ("POST", "/v1/jobs/selftest", {}),
]
ANY_ROUTES = [
    ("GET", "/v1/users/me", None),
    ("GET", "/v1/applications", None),
    ("POST", "/v1/applications", application_body()),
    ("GET", "/v1/applications/x", None),
    ("PUT", "/v1/applications/x", application_body()),
    ("GET", "/v1/applications/x/suggestions", None),
    ("GET", "/v1/programs/fin-teh", None),  # one program: an applicant reads an active one
]


def _call(env: Env, method: str, path: str, body: object, who: str | None) -> int:
    headers = env.auth(who) if who else {}
    return env.client.request(method, path, json=body, headers=headers).status_code


@pytest.mark.parametrize("method,path,body", STAFF_ROUTES + ADMIN_ROUTES + ANY_ROUTES)
def test_every_api_route_needs_a_token(shared_env: Env, method: str, path: str, body: object):
    response = shared_env.client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    bad = shared_env.client.request(
        method, path, json=body, headers={"Authorization": "Bearer not-a-token"}
    )
    assert bad.status_code == 401


@pytest.mark.parametrize("method,path,body", STAFF_ROUTES + ADMIN_ROUTES)
def test_applicants_cannot_use_staff_or_admin_routes(
    shared_env: Env, method: str, path: str, body: object
):
    assert _call(shared_env, method, path, body, "applicant") == 403


@pytest.mark.parametrize("method,path,body", ADMIN_ROUTES)
def test_staff_cannot_manage_users(shared_env: Env, method: str, path: str, body: object):
    assert _call(shared_env, method, path, body, "staff") == 403


def test_admin_manages_users_and_a_disabled_account_loses_its_token(env: Env):
    created = env.client.post(
        "/v1/users", json={"name": "reza", "role": "staff"}, headers=env.auth("admin")
    )
    assert created.status_code == 201
    token, user_id = created.json()["token"], created.json()["user"]["id"]
    assert created.json()["user"]["role"] == "staff"
    me = env.client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "reza"
    names = [u["name"] for u in env.client.get("/v1/users", headers=env.auth("admin")).json()]
    assert {"admin", "staff", "applicant", "applicant2", "reza"} <= set(names)
    duplicate = env.client.post(
        "/v1/users", json={"name": "reza", "role": "staff"}, headers=env.auth("admin")
    )
    assert duplicate.status_code == 422 and "taken" in duplicate.json()["detail"]
    off = env.client.patch(
        f"/v1/users/{user_id}", json={"active": False}, headers=env.auth("admin")
    )
    assert off.status_code == 200 and off.json()["active"] is False
    me = env.client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    # Only the hash of a token is stored.
    import sqlalchemy as sa

    with env.store.engine.connect() as connection:
        hashes = connection.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_applicant_sees_only_their_own_applications(env: Env):
    mine = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    )
    assert mine.status_code == 201
    app_id = mine.json()["id"]
    other = env.client.post(
        "/v1/applications",
        json=application_body(startup_name="دیگری"),
        headers=env.auth("applicant2"),
    )
    other_id = other.json()["id"]

    own = env.client.get(f"/v1/applications/{app_id}", headers=env.auth("applicant"))
    assert own.status_code == 200 and own.json()["business_plan"].startswith("ما یک")
    for path in (f"/v1/applications/{other_id}", f"/v1/applications/{other_id}/suggestions"):
        response = env.client.get(path, headers=env.auth("applicant"))
        assert response.status_code == 404
        # Same answer as an id that does not exist, so ids cannot be probed.
        missing = env.client.get(path.replace(other_id, "app-nope"), headers=env.auth("applicant"))
        assert missing.status_code == 404
    edit = env.client.put(
        f"/v1/applications/{other_id}", json=application_body(), headers=env.auth("applicant")
    )
    assert edit.status_code == 404
    assert env.store.get_application(other_id).startup_name == "دیگری"
    listed = env.client.get("/v1/applications", headers=env.auth("applicant")).json()
    assert [a["id"] for a in listed] == [app_id]
    assert "business_plan" not in listed[0]


def test_staff_see_every_application_and_each_read_is_audited(env: Env):
    ids = [
        env.client.post("/v1/applications", json=application_body(), headers=env.auth(who)).json()[
            "id"
        ]
        for who in ("applicant", "applicant2")
    ]
    listed = env.client.get("/v1/applications", headers=env.auth("staff")).json()
    assert {a["id"] for a in listed} == set(ids)
    assert (
        env.client.get(f"/v1/applications/{ids[0]}", headers=env.auth("staff")).status_code == 200
    )
    assert (
        env.client.get(f"/v1/applications/{ids[1]}/suggestions", headers=env.auth("staff"))
    ).status_code == 200
    match = env.client.post(
        "/v1/staff/match", json={"application_id": ids[1]}, headers=env.auth("staff")
    )
    assert match.status_code == 200
    audit = env.store.list_audit(target_kind="application")
    seen = {(e.actor, e.action, e.target_id) for e in audit}
    assert ("user:staff", "read", ids[0]) in seen
    assert ("user:staff", "suggest", ids[1]) in seen
    assert ("user:staff", "match", ids[1]) in seen
    assert ("user:staff", "list", "*") in seen
    # Applicants reading their own do not fill the audit log.
    before = len(env.store.list_audit(limit=1000))
    env.client.get(f"/v1/applications/{ids[0]}", headers=env.auth("applicant"))
    assert len(env.store.list_audit(limit=1000)) == before


def test_admin_counts_as_staff(sqlite_env: Env):
    response = sqlite_env.client.get("/v1/programs", headers=sqlite_env.auth("admin"))
    assert response.status_code == 200 and len(response.json()) == 4
