"""A program's page (`/programs/{id}`) and `GET /v1/programs/{id}` for applicants and staff:
the facts in Persian (kind, sectors, stages, seats or «اقامت ندارد», the funding range in
rial with Persian digits, place and remote, the house, open rounds with Jalali dates), an
apply button per own application (applicants), the edit link (staff of the program's house),
inactive programs (staff only, marked), a Persian 404; and the links to the page from every
list of programs (suggestions, staff search, the program list, the timeline, referrals)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender import schemas
from recommender.text.persian import format_jalali, format_rial

from ._houses import Houses, csrf_of, make_houses
from .conftest import PLAN


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home")


def _apply_forms(html: str) -> list[str]:
    """The application ids of the page's apply forms."""
    return re.findall(r'action="/me/applications/([^/"]+)/programs"', html)


def test_applicant_reads_the_page_and_applies_from_it(houses: Houses):
    h = houses
    web = h.web("owner")
    page = web.get("/programs/fin-teh")
    assert page.status_code == 200
    text = page.text
    assert "شتاب‌دهنده پرداخت نو" in text
    assert "شتاب‌دهنده برای تیم‌های فین‌تک، پرداخت و کیف پول در تهران." in text  # what it offers
    assert "شتاب‌دهنده" in text and "محصول اولیه، درآمد اولیه" in text  # kind, stages
    assert "۱۰ صندلی" in text
    assert f"{format_rial(1_000_000_000)} تا {format_rial(10_000_000_000)}" in text
    assert "۱٬۰۰۰٬۰۰۰٬۰۰۰" in text  # Persian digits
    assert "از راه دور پذیرفته می‌شوند" in text  # accepts remote
    assert "خانهٔ خلاق الف (تهران)" in text  # the house and its province
    round_a = h.store.get_round("round-a")
    assert "دورهٔ a" in text
    assert format_jalali(round_a.opens_on, long=True) in text
    assert format_jalali(round_a.closes_on, long=True) in text
    assert 'href="/staff/rounds/' not in text  # applicants have no round pages
    assert 'id="edit-program"' not in text and 'id="inactive-notice"' not in text
    assert _apply_forms(text) == ["app-a"]
    assert "درخواست با «استارتاپ app-a»" in text

    done = web.post(
        "/me/applications/app-a/programs",
        data={"program_id": "fin-teh", "csrf_token": csrf_of(web)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    (applied,) = h.store.list_applied("app-a")
    assert (applied.program_id, applied.round_id) == ("fin-teh", "round-a")
    text = web.get("/programs/fin-teh").text
    assert _apply_forms(text) == []
    assert "درخواست «استارتاپ app-a» برای این برنامه ثبت شده است" in text

    api = h.client.get("/v1/programs/fin-teh", headers=h.auth("owner"))
    assert api.status_code == 200 and api.json()["residency_seats"] == 10
    assert h.client.get("/v1/programs", headers=h.auth("owner")).status_code == 403


def test_a_program_without_seats_says_so(houses: Houses):
    text = houses.web("other").get("/programs/health-fund").text
    assert "اقامت ندارد" in text
    assert "فقط حضوری" in text  # no remote
    assert "مرکز نوآوری ب (فارس)" in text
    assert "صندوق سرمایه‌گذاری خطرپذیر" in text
    assert _apply_forms(text) == ["app-b"]  # the other applicant's own application only


def test_an_applicant_without_applications_is_sent_to_submit_one(houses: Houses):
    web = houses.web("owner")
    with houses.store.session() as session:
        houses.app.state.accounts.set_owner("app-a", houses.user_ids["spare"], session=session)
    text = web.get("/programs/fin-teh").text
    assert _apply_forms(text) == []
    assert 'href="/me/applications/new"' in text


def test_staff_pages_edit_link_and_rounds_of_their_house(houses: Houses):
    h = houses
    mine = h.web("staff_a").get("/programs/fin-teh").text
    assert 'href="/staff/programs/fin-teh"' in mine and "ویرایش" in mine
    assert 'href="/staff/rounds/round-a"' in mine
    assert _apply_forms(mine) == []
    # and back: the round page links each of its programs to the program's page
    round_page = h.web("staff_a").get("/staff/rounds/round-a").text
    assert 'href="/programs/fin-teh"' in round_page
    # Another house's staff read the program (the network's catalogue), cannot edit it, and
    # see none of house A's rounds.
    theirs = h.web("staff_b").get("/programs/fin-teh")
    assert theirs.status_code == 200
    assert 'id="edit-program"' not in theirs.text and "round-a" not in theirs.text
    assert "اکنون دورهٔ بازی برای این برنامه نیست" in theirs.text
    for actor in ("network", "admin"):
        assert 'id="edit-program"' in h.web(actor).get("/programs/health-fund").text


def test_round_seats_and_budget_on_the_page(houses: Houses):
    h = houses
    today = dt.date.today()
    h.store.upsert_rounds(
        [
            schemas.IntakeRound(
                id="round-a2",
                name="دورهٔ ویژه",
                opens_on=today,
                closes_on=today + dt.timedelta(days=3),
                org_id="house-a",
                programs=[schemas.RoundProgram(program_id="fin-teh", seats=3, budget=7_000_000)],
            )
        ]
    )
    text = h.web("owner").get("/programs/fin-teh").text
    assert text.index("دورهٔ ویژه") < text.index("دورهٔ a")  # closes first
    assert "۳ صندلی در این دوره" in text and format_rial(7_000_000) in text


def test_inactive_program_for_staff_and_applicants(houses: Houses):
    h = houses
    program = h.store.get_program("agri-isf")
    h.store.upsert_programs([program.model_copy(update={"active": False})])
    staff = h.web("staff_a").get("/programs/agri-isf")
    assert staff.status_code == 200
    assert 'id="inactive-notice"' in staff.text and "غیرفعال" in staff.text
    assert 'id="edit-program"' in staff.text
    assert h.web("staff_b").get("/programs/agri-isf").status_code == 200

    refused = h.web("owner").get("/programs/agri-isf")
    assert refused.status_code == 404
    assert "پیدا نشد" in refused.text and "agri-isf" in refused.text
    assert h.client.get("/v1/programs/agri-isf", headers=h.auth("owner")).status_code == 404

    # An application of the owner on record with it: the owner reads it, with no button.
    h.store.add_applied("app-a", "agri-isf", None)
    page = h.web("owner").get("/programs/agri-isf")
    assert page.status_code == 200
    assert 'id="inactive-notice"' in page.text and _apply_forms(page.text) == []
    assert h.web("other").get("/programs/agri-isf").status_code == 404


def test_unknown_program_is_a_persian_404(houses: Houses):
    for actor in ("owner", "staff_a", "admin"):
        page = houses.web(actor).get("/programs/no-such")
        assert page.status_code == 404
        assert 'lang="fa"' in page.text and "پیدا نشد" in page.text
    missing = houses.client.get("/v1/programs/no-such", headers=houses.auth("owner"))
    assert missing.status_code == 404
    assert houses.web(None).get("/programs/fin-teh", follow_redirects=False).status_code == 303


def test_every_list_of_programs_links_to_the_pages(houses: Houses):
    h = houses
    owner = h.web("owner")
    suggestions = owner.get("/me/applications/app-a").text
    for program_id in ("fin-teh", "health-fund"):
        assert f'href="/programs/{program_id}"' in suggestions

    staff = h.web("staff_a")
    search = staff.post("/staff", data={"text": PLAN, "top": "3", "csrf_token": csrf_of(staff)})
    assert search.status_code == 200 and 'href="/programs/fin-teh"' in search.text
    listing = staff.get("/staff/programs").text
    for program_id in ("fin-teh", "agri-isf", "health-fund", "creative-shz"):
        assert f'href="/programs/{program_id}"' in listing
    assert 'href="/staff/programs/fin-teh"' in listing  # edit, own house
    assert 'href="/staff/programs/health-fund"' not in listing  # another house's: no edit

    # The applicant's statuses and timeline name the program applied to, as a link.
    owner.post(
        "/me/applications/app-a/programs",
        data={"program_id": "health-fund", "csrf_token": csrf_of(owner)},
    )
    page = owner.get("/me/applications/app-a").text
    statuses = page[page.index('id="program-statuses"') : page.index('id="timeline"')]
    assert 'href="/programs/health-fund"' in statuses
    timeline = page[page.index('id="timeline"') :]
    assert 'href="/programs/health-fund"' in timeline.split("</ol>")[0]

    # A referral that names a program links to it.
    referral = h.store.add_referral(
        "app-a",
        "house-b",
        from_org="house-a",
        program_id="health-fund",
        note="",
        status="open",
        created_by="user:staff_a",
    )
    outgoing = staff.get("/staff/referrals").text
    row = outgoing[outgoing.index(f'data-referral="{referral.id}"') :].split("</tr>")[0]
    assert 'href="/programs/health-fund"' in row
