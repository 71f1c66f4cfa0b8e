"""Referral pages through the test client (SQLite and PostgreSQL): the applicant's form carries
the house and the consent, the staff page of an application suggests the better-fitting
house and refers, the applicant consents on their page, the receiving house lists, reads and
accepts; refused steps are Persian error pages that change nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ._referral_houses import HOUSE_A, HOUSE_B, HOUSE_B_PROGRAM, Houses, add_houses
from .conftest import Env
from .test_web import CSRF, plan_form


@pytest.fixture
def houses(web_env: Env) -> Houses:
    return add_houses(web_env, passwords=True)


def browser_of(env: Env, who: str) -> TestClient:
    """A separate cookie jar per person, signed in."""
    client = TestClient(env.app)
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"name": who, "password": env.passwords[who], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def token_of(page: str) -> str:
    match = CSRF.search(page)
    assert match
    return match.group(1)


def _submit_on_the_web(env: Env, applicant: TestClient, **fields: str) -> str:
    form_page = applicant.get("/me/applications/new").text
    assert 'name="share_with_network"' in form_page
    assert "خانه خلاق شیراز" in form_page  # the house choice (several houses)
    response = applicant.post(
        "/me/applications/new",
        data={**plan_form(), "org_id": HOUSE_A, **fields, "csrf_token": token_of(form_page)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def test_refer_consent_accept_through_the_pages(houses: Houses):
    env = houses.env
    applicant = browser_of(env, "applicant")
    app_id = _submit_on_the_web(env, applicant)
    stored = env.store.get_application(app_id)
    assert stored.org_id == HOUSE_A and stored.share_with_network is False

    staff = browser_of(env, "staff")
    page = staff.get(f"/staff/applications/{app_id}")
    assert page.status_code == 200
    assert "برنامه‌های مناسب‌تر در خانه‌های دیگر" in page.text
    assert "خانه خلاق شیراز" in page.text and HOUSE_B_PROGRAM.name in page.text
    assert 'id="refer-form"' in page.text
    refer = staff.post(
        f"/staff/applications/{app_id}/referrals",
        data={
            "to_org": HOUSE_B,
            "program_id": HOUSE_B_PROGRAM.id,
            "note": "<b>کیف پول</b>",
            "csrf_token": token_of(page.text),
        },
        follow_redirects=False,
    )
    assert refer.status_code == 303
    (referral,) = env.store.list_referrals()
    assert referral.status == "pending_consent"
    outgoing = staff.get("/staff/referrals").text
    assert "در انتظار رضایت متقاضی" in outgoing
    assert "&lt;b&gt;کیف پول&lt;/b&gt;" in outgoing  # the note is escaped

    staff_b = browser_of(env, "staff_b")
    assert 'id="referrals-incoming-empty"' in staff_b.get("/staff/referrals").text
    assert staff_b.get(f"/staff/applications/{app_id}").status_code == 404

    mine = applicant.get(f"/me/applications/{app_id}")
    assert "ارجاع به خانه‌های دیگر" in mine.text and "موافقم" in mine.text
    consent = applicant.post(
        f"/me/referrals/{referral.id}/consent",
        data={"csrf_token": token_of(mine.text)},
        follow_redirects=False,
    )
    assert consent.status_code == 303
    assert consent.headers["location"] == f"/me/applications/{app_id}#referrals"
    assert env.store.get_referral(referral.id).status == "open"

    incoming = staff_b.get("/staff/referrals")
    assert f'href="/staff/applications/{app_id}"' in incoming.text
    assert f'action="/staff/referrals/{referral.id}/accept"' in incoming.text
    read = staff_b.get(f"/staff/applications/{app_id}")
    assert read.status_code == 200 and "کیف‌پول نو" in read.text
    assert 'id="refer-form"' not in read.text  # B reads it but does not hold it
    accepted = staff_b.post(
        f"/staff/referrals/{referral.id}/accept",
        data={"csrf_token": token_of(incoming.text)},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert env.store.get_referral(referral.id).status == "accepted"
    after = staff_b.get("/staff/referrals").text
    assert "پذیرفته شد" in after
    assert f'action="/staff/referrals/{referral.id}/accept"' not in after


def test_refused_steps_are_persian_pages_and_change_nothing(houses: Houses):
    env = houses.env
    applicant = browser_of(env, "applicant")
    app_id = _submit_on_the_web(env, applicant, share_with_network="on")
    assert env.store.get_application(app_id).share_with_network is True
    staff = browser_of(env, "staff")
    page = staff.get(f"/staff/applications/{app_id}").text
    token = token_of(page)

    same = staff.post(
        f"/staff/applications/{app_id}/referrals",
        data={"to_org": HOUSE_A, "note": "", "csrf_token": token},
    )
    assert same.status_code == 422
    assert "درخواست در همین خانه است" in same.text
    assert not re.search(r"[A-Za-z]{4,} (house|application)", same.text)  # no English sentence
    wrong_program = staff.post(
        f"/staff/applications/{app_id}/referrals",
        data={"to_org": HOUSE_B, "program_id": "fin-teh", "csrf_token": token},
    )
    assert wrong_program.status_code == 422
    assert "از آنِ خانهٔ مقصد نیست" in wrong_program.text
    no_csrf = staff.post(f"/staff/applications/{app_id}/referrals", data={"to_org": HOUSE_B})
    assert no_csrf.status_code == 403
    assert env.store.list_referrals() == []

    made = staff.post(
        f"/staff/applications/{app_id}/referrals",
        data={"to_org": HOUSE_B, "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    (referral,) = env.store.list_referrals()
    assert referral.status == "open"  # shared with the network: no consent needed
    again = staff.post(
        f"/staff/applications/{app_id}/referrals",
        data={"to_org": HOUSE_B, "csrf_token": token},
    )
    assert again.status_code == 409 and "پیش‌تر به همین خانه ارجاع شده" in again.text

    # Staff of A cannot accept their own referral; the applicant's routes are not staff's.
    mine = staff.post(f"/staff/referrals/{referral.id}/accept", data={"csrf_token": token})
    assert mine.status_code == 403 and "خانهٔ مقصد" in mine.text
    assert (
        staff.post(f"/me/referrals/{referral.id}/consent", data={"csrf_token": token}).status_code
        == 403
    )
    missing = staff.post("/staff/referrals/ref-nope/accept", data={"csrf_token": token})
    assert missing.status_code == 404 and "ارجاعی با شناسهٔ" in missing.text
    # Another applicant sees nothing of it.
    other = browser_of(env, "applicant2")
    other_token = token_of(other.get("/me").text)
    refused = other.post(f"/me/referrals/{referral.id}/refuse", data={"csrf_token": other_token})
    assert refused.status_code == 404
    assert env.store.get_referral(referral.id).status == "open"

    # The applicant's edit keeps the house and can take the consent back.
    edit = applicant.get(f"/me/applications/{app_id}/edit").text
    assert 'name="share_with_network" aria-describedby="share-help" checked' in edit
    saved = applicant.post(
        f"/me/applications/{app_id}/edit",
        data={**plan_form(), "org_id": "", "csrf_token": token_of(edit)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    stored = env.store.get_application(app_id)
    assert stored.org_id == HOUSE_A and stored.share_with_network is False


def test_network_operator_sees_every_referral_and_may_withdraw(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    referral = houses.refer(app_id).json()
    network = browser_of(env, "network")
    page = network.get("/staff/referrals")
    assert page.status_code == 200 and "همهٔ ارجاع‌های شبکه" in page.text
    assert f'action="/staff/referrals/{referral["id"]}/withdraw"' in page.text
    assert f'action="/staff/referrals/{referral["id"]}/accept"' not in page.text
    withdrawn = network.post(
        f"/staff/referrals/{referral['id']}/withdraw",
        data={"csrf_token": token_of(page.text)},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    assert env.store.get_referral(referral["id"]).status == "withdrawn"
    assert "پس گرفته شد" in network.get("/staff/referrals").text
