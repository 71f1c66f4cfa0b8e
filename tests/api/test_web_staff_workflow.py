"""The staff's side of the workflow on the web (api/web/staff_workflow.py,
staff_applications.py): the list's filters, the application page's panel (shortlist
add/remove, private notes, decisions with history and errors with the figures, deciding on
a program the application did not apply to) and another house's staff getting 404."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender import workflow
from recommender.store.tenancy import Scope
from recommender.text.persian import format_jalali

from ._houses import Houses, make_houses


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home")


def _post(h: Houses, actor: str, url: str, data: dict[str, str]) -> object:
    return h.web(actor).post(
        url, data={**data, "csrf_token": h.csrf(actor)}, follow_redirects=False
    )


def test_shortlist_note_decide_and_correct_on_the_page(houses: Houses):
    h = houses
    page = h.web("staff_a").get("/staff/applications/app-a")
    assert page.status_code == 200
    assert 'id="workflow"' in page.text and 'id="notes"' in page.text
    # app-a has the imported outcome at fin-teh: decided; fin-teh's row is there, and the
    # ranked house-A program agri-isf too (shortlist from the ranked list).
    assert "تصمیم ثبت شده" in page.text
    assert 'data-program="fin-teh"' in page.text and 'data-program="agri-isf"' in page.text
    assert 'data-program="health-fund"' not in page.text  # house B's: not house A's to act on

    added = _post(h, "staff_a", "/staff/applications/app-a/shortlist",
                  {"program_id": "agri-isf", "action": "add"})
    assert added.status_code == 303 and added.headers["location"].endswith("#workflow")
    assert [e.program_id for e in h.store.list_shortlist("app-a")] == ["agri-isf"]
    assert "برداشتن از فهرست کوتاه" in h.web("staff_a").get("/staff/applications/app-a").text
    _post(h, "staff_a", "/staff/applications/app-a/shortlist",
          {"program_id": "agri-isf", "action": "remove"})
    assert h.store.list_shortlist("app-a") == []

    noted = _post(h, "staff_a", "/staff/applications/app-a/notes", {"body": "مصاحبهٔ حضوری شود"})
    assert noted.status_code == 303
    empty = _post(h, "staff_a", "/staff/applications/app-a/notes", {"body": "   "})
    assert empty.status_code == 422 and "متن یادداشت باید میان" in empty.text
    assert [n.body for n in h.store.list_notes("app-a")] == ["مصاحبهٔ حضوری شود"]

    # Above the program's max: 422, the page again, the figures in Persian, nothing stored.
    too_much = _post(h, "staff_a", "/staff/applications/app-a/decisions",
                     {"program_id": "fin-teh", "residency_granted": "yes",
                      "funded_amount": "۲۰۰۰۰۰۰۰۰۰۰", "note": "بیش از سقف"})
    assert too_much.status_code == 422
    assert "۲۰٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in too_much.text and "۱۰٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in too_much.text
    assert "سقف تأمین مالی" in too_much.text and 'value="۲۰۰۰۰۰۰۰۰۰۰"' in too_much.text
    bad = _post(h, "staff_a", "/staff/applications/app-a/decisions",
                {"program_id": "fin-teh", "funded_amount": "زیاد"})
    assert bad.status_code == 422 and "به ریال و با رقم" in bad.text
    assert h.store.list_decisions("app-a") == []

    for amount in ("۱٬۰۰۰٬۰۰۰", "2000000"):
        done = _post(h, "staff_a", "/staff/applications/app-a/decisions",
                     {"program_id": "fin-teh", "residency_granted": "yes",
                      "funded_amount": amount, "note": "پذیرش"})
        assert done.status_code == 303
    assert [d.funded_amount for d in h.store.list_decisions("app-a")] == [1_000_000, 2_000_000]

    page = h.web("staff_a").get("/staff/applications/app-a").text
    history = page[page.index('class="cards decision-history"'):]
    history = history[: history.index("</table>")]
    assert history.count("<tr") == 3  # the head and both decisions: the correction is kept
    assert "تصمیم کنونی" in history and "اصلاح شد" in history
    assert history.index("۲٬۰۰۰٬۰۰۰ ریال") < history.index("۱٬۰۰۰٬۰۰۰ ریال")  # latest first
    assert format_jalali(dt.date.today()) in history
    assert "مصاحبهٔ حضوری شود" in page and "staff_a" in page  # the note with its author

    # The applicant never sees the notes; they see the decision.
    mine = h.web("owner").get("/me/applications/app-a").text
    assert "مصاحبهٔ حضوری شود" not in mine and "اعلام تصمیم" in mine


def test_deciding_on_a_program_the_application_did_not_apply_to(houses: Houses):
    h = houses
    page = h.web("staff_a").get("/staff/applications/app-a").text
    assert "تصمیم برای برنامهٔ دیگری از خانهٔ شما" in page or 'data-program="agri-isf"' in page
    done = _post(h, "staff_a", "/staff/applications/app-a/decisions",
                 {"program_id": "agri-isf", "residency_granted": "no", "funded_amount": "0"})
    assert done.status_code == 303
    (decision,) = h.store.list_decisions("app-a")
    assert (decision.program_id, decision.applied) == ("agri-isf", False)
    page = h.web("staff_a").get("/staff/applications/app-a").text
    block = page[page.index('id="decision-'):page.index('id="notes"')]
    assert "بدون درخواست متقاضی" in block


def test_round_budget_error_shows_the_figures(houses: Houses):
    h = houses
    intake = h.store.get_round("round-a")
    budgeted = intake.model_copy(
        update={"programs": [p.model_copy(update={"budget": 5_000_000}) for p in intake.programs]}
    )
    h.store.upsert_rounds([budgeted])
    response = _post(h, "staff_a", "/staff/applications/app-a/decisions",
                     {"program_id": "fin-teh", "funded_amount": "6000000"})
    assert response.status_code == 422
    assert "بودجهٔ باقی‌ماندهٔ دوره" in response.text
    assert "۶٬۰۰۰٬۰۰۰ ریال" in response.text and "۵٬۰۰۰٬۰۰۰ ریال" in response.text


def test_another_houses_staff_get_404(houses: Houses):
    h = houses
    assert h.web("staff_b").get("/staff/applications/app-a").status_code == 404
    for url, data in (
        ("/staff/applications/app-a/shortlist", {"program_id": "fin-teh"}),
        ("/staff/applications/app-a/notes", {"body": "نه"}),
        ("/staff/applications/app-a/decisions", {"program_id": "fin-teh", "funded_amount": "0"}),
    ):
        assert _post(h, "staff_b", url, data).status_code == 404
    # House A reads app-b once it applies to house A's program, but not house B's program.
    workflow.apply(h.store.scoped(Scope.owner(h.user_ids["other"])),
                   workflow.Actor("user:other", "applicant"), "app-b", "fin-teh")
    assert _post(h, "staff_a", "/staff/applications/app-b/decisions",
                 {"program_id": "health-fund", "funded_amount": "0"}).status_code == 404
    assert h.store.list_decisions("app-b") == [] and h.store.list_notes("app-a") == []


def test_list_filters_combine_survive_paging_and_ignore_bad_values(houses: Houses):
    h = houses
    web = h.web("staff_a")
    workflow.apply(h.store.scoped(Scope.owner(h.user_ids["other"])),
                   workflow.Actor("user:other", "applicant"), "app-b", "fin-teh")
    listing = web.get("/staff/applications").text
    assert "۲ درخواست" in listing and "آخرین تصمیم" in listing
    applied = web.get("/staff/applications?program_id=fin-teh&program_link=applied").text
    assert "/staff/applications/app-b" in applied and "/staff/applications/app-a\"" not in applied
    decided = web.get("/staff/applications?status=decided&province=تهران&sector=fintech").text
    assert "/staff/applications/app-a" in decided and "/staff/applications/app-b" not in decided
    none = web.get("/staff/applications?status=decided&program_id=fin-teh&program_link=applied")
    assert "درخواستی با این شرایط پیدا نشد" in none.text
    bad = web.get("/staff/applications?status=lost&sector=nope&sort=evil&page=x")
    assert bad.status_code == 200
    assert "«lost»" in bad.text and "نادیده گرفته شد" in bad.text and "۲ درخواست" in bad.text
    # Another house's program is not house A's to filter by: ignored and said so.
    other = web.get("/staff/applications?program_id=health-fund").text
    assert "«health-fund»" in other and "۲ درخواست" in other


def test_pager_links_keep_the_filters(houses: Houses):
    h = houses
    h.store.upsert_applications(
        [
            h.store.get_application("app-a").model_copy(update={"id": f"bulk-{i:03d}"})
            for i in range(55)
        ]
    )
    page = h.web("admin").get("/staff/applications?status=new&sort=name&province=تهران").text
    assert "صفحهٔ ۱ از ۲" in page
    link = re.search(r'rel="next" href="\?([^"]+)"', page)
    assert link
    assert "status=new" in link.group(1) and "sort=name" in link.group(1)
    assert "page=2" in link.group(1) and "province=" in link.group(1)
    second = h.web("admin").get("/staff/applications?" + link.group(1).replace("&amp;", "&"))
    assert "صفحهٔ ۲ از ۲" in second.text


def test_api_list_takes_the_same_filters(houses: Houses):
    h = houses
    workflow.apply(h.store.scoped(Scope.owner(h.user_ids["other"])),
                   workflow.Actor("user:other", "applicant"), "app-b", "fin-teh")

    def ids(actor: str, query: str) -> list[str]:
        response = h.client.get(f"/v1/applications?{query}", headers=h.auth(actor))
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()]

    assert ids("staff_a", "") == ["app-a", "app-b"]
    assert ids("staff_a", "status=decided") == ["app-a"]
    assert ids("staff_a", "program_id=fin-teh&program_link=applied") == ["app-b"]
    assert ids("staff_a", "status=applied&sector=fintech&province=تهران") == ["app-b"]
    assert ids("staff_a", "sort=name&page=2&page_size=1") == ["app-b"]
    assert ids("staff_b", "status=applied") == []  # app-b applied to house A's program
    assert ids("owner", "") == ["app-a"] and ids("other", "status=decided") == ["app-b"]
    row = h.client.get("/v1/applications?status=decided", headers=h.auth("staff_a")).json()[0]
    assert row["status"] == "decided" and row["created_at"]
    for bad in ("status=lost", "sector=nope", "program_link=x", "sort=evil", "page=0"):
        response = h.client.get(f"/v1/applications?{bad}", headers=h.auth("staff_a"))
        assert response.status_code == 422, bad
