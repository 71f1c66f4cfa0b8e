"""The web UI as a Persian user expects it (issue 13), through the test client: Persian errors
with Persian digits, the session-expired notice, the admin's users page, the applications
list (search, sort, pages, status, date), deactivation with confirmation and undo, round
pages (newest first, Persian file names, one run at a time) and the what-if form."""

from __future__ import annotations

import re

import sqlalchemy as sa

from api.messages import field_errors, persian
from recommender import schemas
from recommender.constants import MAX_PLAN_CHARS
from recommender.store.tables import WebSessionRow

from .conftest import PLAN, Env
from .test_web import csrf, plan_form, sign_in

LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def visible_text(page: str) -> str:
    """The text a person reads in `<main>` (tags, attributes and scripts removed)."""
    main = re.search(r"<main[^>]*>(.*?)</main>", page, flags=re.S).group(1)
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


def errors_of(page: str) -> str:
    """The text of the form's error list."""
    found = re.search(r'id="form-errors">(.*?)</ul>', page, flags=re.S)
    assert found, page
    return re.sub(r"<[^>]+>", " ", found.group(1))


def test_plan_errors_are_persian_with_persian_digits(web_env: Env):
    client = sign_in(web_env, "applicant")
    token = csrf(client, "/me/applications/new")
    empty = client.post(
        "/me/applications/new", data={**plan_form(business_plan=""), "csrf_token": token}
    )
    assert empty.status_code == 422
    text = visible_text(empty.text)
    assert "طرح کسب‌وکار: این بخش را پر کنید." in text
    assert "String should" not in empty.text
    assert not LATIN_WORD.search(errors_of(empty.text))

    too_long = client.post(
        "/me/applications/new",
        data={**plan_form(business_plan="ب" * (MAX_PLAN_CHARS + 1)), "csrf_token": token},
    )
    assert too_long.status_code == 422
    assert "حداکثر ۵۰٬۰۰۰ نویسه پذیرفته می‌شود." in too_long.text
    assert "50000" not in visible_text(too_long.text).replace("ب", "")

    wrong_type = client.post(
        "/me/applications/new",
        data={**plan_form(business_plan=""), "csrf_token": token},
        files={"plan_file": ("plan.png", b"\x89PNG")},
    )
    assert wrong_type.status_code == 422
    errors = re.findall(r"<li>(.*?)</li>", wrong_type.text.split('id="form-errors"')[1])
    assert len(errors) == 1, errors  # no second, needless empty-plan error
    assert "فایل طرح: نوع فایل «\u2068.png\u2069» پذیرفته نیست" in errors[0]
    # The counter shows the plan's length in Persian digits.
    form = client.get("/me/applications/new").text
    assert 'data-max="50000"' in form and "۰ از ۵۰٬۰۰۰ نویسه" in form


def test_error_pages_are_persian_only(web_env: Env):
    client = sign_in(web_env, "applicant")
    missing = client.get("/me/applications/app-nope")
    assert missing.status_code == 404
    text = visible_text(missing.text)
    assert "پیدا نشد" in text and "Not Found" not in text
    assert "no application" not in text
    assert not LATIN_WORD.search(text.replace("app-nope", ""))
    nowhere = client.get("/no-such-page")
    assert nowhere.status_code == 404
    assert "Not Found" not in nowhere.text and "پیدا نشد" in nowhere.text
    forbidden = client.get("/staff")
    assert forbidden.status_code == 403 and not LATIN_WORD.search(visible_text(forbidden.text))


def test_messages_module_rewords_known_errors_and_never_passes_english():
    found = persian("no program with id 'x-1'", 404)
    assert found == "برنامه‌ای با شناسهٔ «\u2068x-1\u2069» پیدا نشد."
    assert persian("the plan has 60000 characters; at most 50000 are accepted", 422) == (
        "طرح ۶۰٬۰۰۰ نویسه دارد؛ حداکثر ۵۰٬۰۰۰ نویسه پذیرفته می‌شود."
    )
    assert persian("something nobody mapped", 500).startswith("خطایی در سامانه رخ داد")
    assert persian("متن فارسی", 400) == "متن فارسی"
    errors = field_errors(
        [{"type": "greater_than_equal", "loc": ("body", "team_size"), "ctx": {"ge": 1}}]
    )
    assert errors == [{"field": "team_size", "message": "باید دست‌کم ۱ باشد."}]


def test_expired_session_sends_to_login_with_a_notice(web_env: Env):
    client = sign_in(web_env, "applicant")
    token = csrf(client, "/me/applications/new")
    with web_env.app.state.store.session() as session:
        session.execute(sa.delete(WebSessionRow))
    lost = client.post(
        "/me/applications/new",
        data={**plan_form(), "csrf_token": token},
        follow_redirects=False,
    )
    assert lost.status_code == 303
    assert lost.headers["location"] == "/login?next=/me/applications/new&expired=1"
    page = client.get(lost.headers["location"]).text
    assert 'id="session-expired"' in page and "نشست شما به پایان رسیده است" in page
    assert 'id="session-expired"' not in client.get("/login").text


def test_admin_lands_on_users_page_and_manages_accounts(web_env: Env):
    client = sign_in(web_env, "admin")
    assert client.get("/", follow_redirects=False).headers["location"] == "/admin"
    page = client.get("/admin")
    assert page.status_code == 200 and 'data-user="applicant2"' in page.text
    token = csrf(client, "/admin")
    added = client.post(
        "/admin/users",
        data={"name": "new.staff", "role": "staff", "password": "", "csrf_token": token},
    )
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    shown = re.search(r'id="secret-value">([^<]+)<', added.text)
    assert shown, added.text
    user = web_env.app.state.accounts.user_for_token(shown.group(1))
    assert user is not None and user.name == "new.staff" and user.role == "staff"
    assert shown.group(1) not in client.get("/admin").text  # shown once

    taken = client.post(
        "/admin/users",
        data={"name": "new.staff", "role": "staff", "password": "", "csrf_token": token},
    )
    assert taken.status_code == 422 and "پیش‌تر گرفته شده است" in taken.text
    short = client.post(
        "/admin/users",
        data={"name": "other", "role": "staff", "password": "short", "csrf_token": token},
    )
    assert short.status_code == 422 and "دست‌کم ۸ نویسه" in short.text

    target = web_env.user_ids["applicant2"]
    reset = client.post(f"/admin/users/{target}/password", data={"csrf_token": token})
    password = re.search(r'id="secret-value">([^<]+)<', reset.text).group(1)
    assert web_env.app.state.accounts.authenticate("applicant2", password) is not None
    off = client.post(
        f"/admin/users/{target}/active",
        data={"active": "0", "csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert web_env.app.state.accounts.get_user(target).active is False
    assert web_env.app.state.accounts.authenticate("applicant2", password) is None
    client.post(f"/admin/users/{target}/active", data={"active": "1", "csrf_token": token})
    assert web_env.app.state.accounts.get_user(target).active is True
    me = web_env.user_ids["admin"]
    self_off = client.post(f"/admin/users/{me}/active", data={"active": "0", "csrf_token": token})
    assert self_off.status_code == 409
    actions = {(e.action, e.target_id) for e in web_env.store.list_audit()}
    assert ("create", "new.staff") in actions and ("disable", "applicant2") in actions


def test_only_the_admin_opens_the_users_page(web_env: Env):
    client = sign_in(web_env, "staff")
    assert client.get("/admin").status_code == 403


def _add_applications(env: Env, n: int) -> None:
    env.store.upsert_applications(
        [
            schemas.Application(
                id=f"a-{k:03d}",
                startup_name=f"استارتاپ {k:03d}",
                business_plan=PLAN,
                province="اصفهان" if k % 2 else "تهران",
                funding_ask=k * 1_000_000,
            )
            for k in range(1, n + 1)
        ]
    )


def test_applications_list_searches_sorts_and_pages(web_env: Env):
    _add_applications(web_env, 120)
    client = sign_in(web_env, "staff")
    first = client.get("/staff/applications").text
    assert first.count("/staff/applications/a-") == 50
    assert "۱۲۰ درخواست" in first and "صفحهٔ ۱ از ۳" in first
    assert "تازه (هنوز برای برنامه‌ای درخواست نداده)" in first and "تاریخ ثبت" in first
    last = client.get("/staff/applications?page=3").text
    assert last.count("/staff/applications/a-") == 20
    by_money = client.get("/staff/applications?sort=funding").text
    assert by_money.index("استارتاپ 120") < by_money.index("استارتاپ 119")
    by_name = client.get("/staff/applications?sort=name").text
    assert by_name.index("استارتاپ 001") < by_name.index("استارتاپ 002")
    found = client.get("/staff/applications?q=اصفهان").text
    assert "۶۰ درخواست" in found
    one = client.get("/staff/applications?q=a-007").text
    assert "۱ درخواست" in one and "استارتاپ 007" in one
    none = client.get("/staff/applications?q=هیچ").text
    assert "درخواستی با این شرایط پیدا نشد" in none
    assert client.get("/staff/applications?page=x&sort=evil").status_code == 200


def test_deactivating_a_program_asks_first_and_can_be_undone(web_env: Env):
    client = sign_in(web_env, "staff")
    listing = client.get("/staff/programs").text
    assert 'href="/staff/programs/agri-isf/deactivate"' in listing
    confirm = client.get("/staff/programs/agri-isf/deactivate")
    assert confirm.status_code == 200 and "غیرفعال‌کردن «مرکز رشد کشاورزی هوشمند»؟" in confirm.text
    assert web_env.store.get_program("agri-isf").active is True  # asking changes nothing
    token = csrf(client, "/staff/programs")
    off = client.post("/staff/programs/agri-isf/deactivate", data={"csrf_token": token})
    assert web_env.store.get_program("agri-isf").active is False
    assert "غیرفعال شد" in off.text and 'id="undo-deactivate"' in off.text
    back = client.post("/staff/programs/agri-isf/activate", data={"csrf_token": token})
    assert web_env.store.get_program("agri-isf").active is True
    assert "دوباره فعال شد" in back.text


def _round(env: Env, round_id: str, opens: str, closes: str) -> None:
    response = env.client.post(
        "/v1/rounds",
        json={
            "id": round_id,
            "name": f"دوره {round_id}",
            "opens_on": opens,
            "closes_on": closes,
            "programs": [{"program_id": "fin-teh", "seats": 3}, {"program_id": "agri-isf"}],
        },
        headers=env.auth("staff"),
    )
    assert response.status_code in (200, 201), response.text


def test_rounds_newest_first_with_status_and_persian_file_names(web_env: Env):
    _round(web_env, "old", "2020-03-20", "2020-05-20")
    _round(web_env, "now", "2020-06-01", "2099-01-01")
    _round(web_env, "next", "2098-01-01", "2099-01-01")
    client = sign_in(web_env, "staff")
    page = client.get("/staff/rounds").text
    assert page.index("دوره next") < page.index("دوره now") < page.index("دوره old")
    assert "هنوز باز نشده" in page and ">باز<" in page and ">بسته<" in page
    web_env.client.post(
        "/v1/applications",
        json={"startup_name": "الف", "business_plan": PLAN, "round_id": "now"},
        headers=web_env.auth("applicant"),
    )
    token = csrf(client, "/staff/rounds/now")
    client.post("/staff/rounds/now/score", data={"csrf_token": token})
    jobs = web_env.app.state.jobs
    job = jobs.list(subject="rounds/now", limit=1)[0]
    import time

    deadline = time.monotonic() + 20
    while jobs.get(job.id).status not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
    status = client.get(f"/staff/jobs/{job.id}.json").json()
    assert status["status"] == "succeeded" and status["status_fa"] == "پایان یافت"
    assert all(f["label"] and "." not in f["label"].split("(")[0] for f in status["files"])
    page = client.get("/staff/rounds/now").text
    # The latest run comes before the programs table; the file names are Persian.
    assert page.index('id="job-progress"') < page.index('id="round-programs"')
    assert "scores.csv</a>" not in page


def test_a_second_run_is_not_queued_while_one_runs(web_env: Env):
    _round(web_env, "busy", "2020-06-01", "2099-01-01")
    jobs = web_env.app.state.jobs
    web_env.app.state.worker.stop()  # the job stays queued
    first = jobs.submit(
        "round_score",
        {"round_id": "busy"},
        created_by="user:staff",
        subject="rounds/busy",
        org_id="main",
    )
    assert jobs.get(first.id).status == "queued"
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff/rounds/busy")
    again = client.post(
        "/staff/rounds/busy/score", data={"csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"].endswith(f"job={first.id}")


def test_what_if_form_checks_numbers_in_persian(web_env: Env):
    _round(web_env, "wi", "2020-06-01", "2099-01-01")
    client = sign_in(web_env, "staff")
    page = client.get("/staff/rounds/wi/what-if")
    assert page.status_code == 200 and 'name="seats-fin-teh"' in page.text
    token = csrf(client, "/staff/rounds/wi/what-if")
    nothing = client.post("/staff/rounds/wi/what-if", data={"csrf_token": token})
    assert nothing.status_code == 422 and "دست‌کم ظرفیت یا بودجهٔ یک برنامه" in nothing.text
    bad = client.post(
        "/staff/rounds/wi/what-if", data={"seats-fin-teh": "-3", "csrf_token": token}
    )
    assert bad.status_code == 422 and "یک عدد درست و نامنفی" in bad.text
    assert 'value="-3"' in bad.text
    started = client.post(
        "/staff/rounds/wi/what-if",
        data={"seats-fin-teh": "۵", "csrf_token": token},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_id = started.headers["location"].split("job=")[1]
    assert web_env.app.state.jobs.get(job_id).params["what_if"] == "fin-teh:seats=5"


def test_import_row_errors_are_persian(web_env: Env):
    from .test_imports import CSV_WITH_A_BAD_ROW

    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff/imports")
    bad = client.post(
        "/staff/imports",
        data={"kind": "programs", "csrf_token": token},
        files={"file": ("p.csv", CSV_WITH_A_BAD_ROW)},
    )
    assert bad.status_code == 422
    errors = re.sub(r'<span class="ltr">[^<]*</span>', "", bad.text.split('role="alert"')[1])
    errors = re.sub(r"<[^>]+>", " ", errors.split("</ul>")[0])
    assert "ردیف ۳" in errors and "نباید منفی باشد" in errors
    assert not LATIN_WORD.search(errors), errors
