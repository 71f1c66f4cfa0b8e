"""The Persian web UI through the test client: sign-in with CSRF, applicant and staff pages,
uploads, owner checks, programs, rounds and the job-progress endpoint."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from .conftest import PLAN, Env
from .test_uploads import docx_bytes

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/login") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, path
    return match.group(1)


def sign_in(env: Env, who: str) -> TestClient:
    client = env.client
    response = client.post(
        "/login",
        data={"name": who, "password": env.passwords[who], "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def plan_form(**overrides: str) -> dict[str, str]:
    form = {
        "startup_name": "کیف‌پول نو",
        "stage": "mvp",
        "province": "تهران",
        "city": "تهران",
        "team_size": "۴",  # Persian digits are accepted
        "funding_ask": "2,000,000,000",
        "needs_residency": "on",
        "business_plan": PLAN,
    }
    form.update(overrides)
    return form


def test_pages_are_persian_right_to_left_with_local_fonts(web_env: Env):
    page = web_env.client.get("/login")
    assert page.status_code == 200
    assert '<html lang="fa" dir="rtl">' in page.text
    assert "ورود به پیوند" in page.text
    assert "content-security-policy" in page.headers
    css = web_env.client.get("/static/app.css").text
    assert 'url("fonts/Vazirmatn-Regular.woff2")' in css
    assert "http" not in css  # no remote font or stylesheet
    assert web_env.client.get("/").headers.get("location") is None  # followed to /login
    anonymous = web_env.client.get("/me", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/me"


def test_sign_in_needs_the_csrf_token_and_the_right_password(web_env: Env):
    client = web_env.client
    no_token = client.post("/login", data={"name": "staff", "password": "staff-password-1"})
    assert no_token.status_code == 403
    assert "فرم منقضی شده است" in no_token.text
    wrong = client.post(
        "/login",
        data={"name": "staff", "password": "nope-nope", "csrf_token": csrf(client)},
    )
    assert wrong.status_code == 401
    assert "نام کاربری یا گذرواژه درست نیست" in wrong.text
    token_only = client.post(
        "/login",
        data={"name": "ghost", "password": "whatever1", "csrf_token": csrf(client)},
    )
    assert token_only.status_code == 401


def test_applicant_submits_a_plan_and_sees_suggestions(web_env: Env):
    client = sign_in(web_env, "applicant")
    assert client.get("/", follow_redirects=False).headers["location"] == "/me"
    token = csrf(client, "/me/applications/new")
    created = client.post(
        "/me/applications/new", data={**plan_form(), "csrf_token": token}, follow_redirects=False
    )
    assert created.status_code == 303
    path = created.headers["location"]
    app_id = path.rsplit("/", 1)[1]
    stored = web_env.store.get_application(app_id)
    assert stored.business_plan == PLAN and stored.team_size == 4
    assert stored.funding_ask == 2_000_000_000 and stored.needs_residency
    page = client.get(path).text
    assert "برنامه‌های پیشنهادی برای شما" in page
    assert "شتاب‌دهنده پرداخت نو" in page
    assert "۵۰٪" in page and "۲۵٪" in page  # chances in Persian digits
    assert "سرمایهٔ مورد انتظار: ۱ میلیون ریال" in page  # said as people say it
    assert "هم‌خوان است" in page  # the reasons
    home = client.get("/me").text
    assert "کیف‌پول نو" in home and "۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in home

    # Edit by uploading a .docx: its text replaces the plan.
    token = csrf(client, f"/me/applications/{app_id}/edit")
    edited = client.post(
        f"/me/applications/{app_id}/edit",
        data={**plan_form(business_plan=""), "csrf_token": token},
        files={"plan_file": ("plan.docx", docx_bytes(["کشاورزی هوشمند و آبیاری"]))},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert web_env.store.get_application(app_id).business_plan == "کشاورزی هوشمند و آبیاری"


def test_applicant_form_errors_are_shown_in_persian(web_env: Env):
    client = sign_in(web_env, "applicant")
    token = csrf(client, "/me/applications/new")
    response = client.post(
        "/me/applications/new",
        data={**plan_form(business_plan="", team_size="0"), "csrf_token": token},
        files={"plan_file": ("plan.odt", b"zip")},
    )
    assert response.status_code == 422
    assert "فایل طرح" in response.text and "اندازهٔ تیم" in response.text
    assert 'value="کیف‌پول نو"' in response.text  # what was typed is kept


def test_applicant_cannot_open_staff_pages_or_others_applications(web_env: Env):
    other = web_env.client.post(
        "/v1/applications",
        json={"startup_name": "دیگری", "business_plan": PLAN},
        headers=web_env.auth("applicant2"),
    ).json()["id"]
    client = sign_in(web_env, "applicant")
    assert client.get("/staff").status_code == 403
    assert client.get(f"/me/applications/{other}").status_code == 404
    assert client.get(f"/me/applications/{other}/edit").status_code == 404


def test_staff_search_application_page_and_audit(web_env: Env):
    app_id = web_env.client.post(
        "/v1/applications",
        json={"startup_name": "نمونه", "business_plan": PLAN},
        headers=web_env.auth("applicant"),
    ).json()["id"]
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff")
    results = client.post(
        "/staff",
        data={"text": PLAN, "kinds": ["accelerator", "incubator"], "top": "۵", "csrf_token": token},
    )
    assert results.status_code == 200
    assert "شتاب‌دهنده پرداخت نو" in results.text
    assert "صندوق سلامت دیجیتال" not in results.text  # filtered out by kind
    assert client.get("/staff/applications").status_code == 200
    page = client.get(f"/staff/applications/{app_id}")
    assert page.status_code == 200 and PLAN in page.text
    actions = {(e.actor, e.action, e.target_id) for e in web_env.store.list_audit()}
    assert ("user:staff", "read", app_id) in actions
    empty = client.post("/staff", data={"text": " ", "csrf_token": token})
    assert empty.status_code == 422 and "متن طرح را وارد کنید" in empty.text


def test_staff_edit_and_deactivate_programs(web_env: Env):
    client = sign_in(web_env, "staff")
    listing = client.get("/staff/programs").text
    assert "مرکز رشد کشاورزی هوشمند" in listing and "مرکز رشد" in listing
    token = csrf(client, "/staff/programs/agri-isf")
    form = {
        "name": "مرکز رشد کشاورزی",
        "kind": "incubator",
        "description": "کشاورزی هوشمند",
        "province": "اصفهان",
        "residency_seats": "۱۲",
        "funding_min": "0",
        "funding_max": "0",
        "stages": ["idea"],
        "active": "on",
        "csrf_token": token,
    }
    saved = client.post("/staff/programs/agri-isf", data=form, follow_redirects=False)
    assert saved.status_code == 303
    program = web_env.store.get_program("agri-isf")
    assert program.name == "مرکز رشد کشاورزی" and program.residency_seats == 12
    bad = client.post("/staff/programs/agri-isf", data={**form, "kind": "castle"})
    assert bad.status_code == 422
    off = client.post(
        "/staff/programs/agri-isf/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert off.status_code == 303
    assert web_env.store.get_program("agri-isf").active is False
    token = csrf(client, "/staff/programs/new")
    new = client.post(
        "/staff/programs/new",
        data={**form, "id": "new-one", "name": "برنامهٔ تازه", "csrf_token": token},
        follow_redirects=False,
    )
    assert new.status_code == 303 and web_env.store.get_program("new-one").name == "برنامهٔ تازه"


def test_round_page_runs_scoring_and_reports_progress(web_env: Env):
    staff = web_env.auth("staff")
    web_env.client.post(
        "/v1/rounds",
        json={
            "id": "r9",
            "name": "دوره آزمایشی",
            "opens_on": "2026-03-21",
            "closes_on": "2026-04-20",
            "programs": [{"program_id": "fin-teh", "seats": 3}],
        },
        headers=staff,
    )
    web_env.client.post(
        "/v1/applications",
        json={"startup_name": "الف", "business_plan": PLAN, "round_id": "r9"},
        headers=staff,  # staff may file into a closed round; the round needs an application
    )
    client = sign_in(web_env, "staff")
    page = client.get("/staff/rounds/r9").text
    assert "۱ فروردین ۱۴۰۵" in page  # Jalali dates
    token = csrf(client, "/staff/rounds/r9")
    started = client.post(
        "/staff/rounds/r9/score", data={"csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    job_id = started.headers["location"].split("job=")[1]
    deadline = time.monotonic() + 20
    while True:
        status = client.get(f"/staff/jobs/{job_id}.json").json()
        if status["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status["status"] == "succeeded"
    url = next(f["url"] for f in status["files"] if "/files/" in f["url"])
    assert url.startswith(f"/staff/jobs/{job_id}/files/")
    assert client.get(url).status_code == 200
    page = client.get("/staff/rounds/r9").text
    assert 'id="job-progress"' in page and "/static/job.js" in page


def test_sign_out_ends_the_session_on_the_server(web_env: Env):
    client = sign_in(web_env, "staff")
    cookie = client.cookies.get("peyvand_session")
    token = csrf(client, "/staff")
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    replay = TestClient(web_env.app, cookies={"peyvand_session": cookie})
    assert replay.get("/staff", follow_redirects=False).status_code == 303


def test_staff_search_shows_the_facts_read_and_takes_corrections(web_env: Env):
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff")
    page = client.post("/staff", data={"text": PLAN, "csrf_token": token})
    assert page.status_code == 200
    assert "آنچه از متن طرح خوانده شد" in page.text and 'name="fact_stage"' in page.text
    corrected = client.post(
        "/staff", data={"text": PLAN, "fact_stage": "رشد", "fact_province": "قم",
                        "csrf_token": token},
    )
    assert corrected.status_code == 200
    assert "قم" in corrected.text and "۱۰۰٪" in corrected.text
    bad = client.post("/staff", data={"text": PLAN, "fact_team_size": "بسیار",
                                      "csrf_token": token})
    assert bad.status_code == 422


def test_facts_table_reads_sectors_and_funding_kind_in_persian(web_env: Env):
    """Sector slugs and funding kinds read from a plan are shown with their Persian labels,
    and a correction typed as that Persian label is understood."""
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff")
    page = client.post(
        "/staff",
        data={"text": PLAN, "fact_sectors": "فین‌تک و خدمات مالی",
              "fact_funding_kind": "بلاعوض", "csrf_token": token},
    )
    assert page.status_code == 200
    facts = page.text.split('id="facts"', 1)[1].split("</details>", 1)[0]
    assert "فین‌تک و خدمات مالی" in facts and "بلاعوض" in facts
    assert "fintech" not in facts and "grant" not in facts
