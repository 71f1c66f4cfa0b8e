"""The event pages: the organiser's list, import and event page (participants, suggestions,
the schedule job, results slot by slot, downloads, re-scheduling after a cancellation), and
a participant's agenda by the staff page and by the signed personal link (a wrong token is
404), requesting a meeting from a suggestion through the one rule."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.event_jobs import agenda_token
from tests.api._event_houses import EVENT_ID, add_event, run_job, scheduled
from tests.api._houses import Houses, csrf_of, make_houses
from tests.recommender.events._event_fixtures import payload


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home")


def _link(h: Houses, pid: str) -> str:
    return f"/events/{EVENT_ID}/agenda/{pid}?t={agenda_token(h.settings, EVENT_ID, pid)}"


def test_import_form_makes_an_event_and_shows_its_page(houses: Houses):
    h = houses
    add_event(h)
    web = h.web("staff_a")
    page = web.get("/staff/events")
    assert page.status_code == 200 and "روز نمایش استارتاپ‌ها" in page.text
    assert 'href="/staff/events">رویدادها</a>' in page.text
    body = json.dumps(payload(id="expo", name="نمایشگاه <b>نوآوری</b>"), ensure_ascii=False)
    r = web.post(
        "/staff/events",
        data={"csrf_token": csrf_of(web)},
        files={"file": ("expo.json", body.encode(), "application/json")},
    )
    assert r.status_code == 200 and "رویداد با ۶ شرکت‌کننده ثبت شد" in r.text
    assert "نمایشگاه &lt;b&gt;نوآوری&lt;/b&gt;" in r.text  # escaped
    assert "سرمایه‌گذار" in r.text and "منتور" in r.text  # kinds in Persian
    assert "۱۴۰۵" in r.text  # the Jalali date
    bad = json.dumps(payload(id="bad", tables=0))
    r = web.post(
        "/staff/events",
        data={"csrf_token": csrf_of(web)},
        files={"file": ("bad.json", bad.encode(), "application/json")},
    )
    assert r.status_code == 422 and "شمار میزها باید دست‌کم ۱ باشد" in r.text
    assert h.web("staff_b").get("/staff/events/expo").status_code == 404


def test_run_the_schedule_then_see_meetings_and_download(houses: Houses):
    h = houses
    add_event(h)
    web = h.web("staff_a")
    page = web.get(f"/staff/events/{EVENT_ID}")
    assert "زمان‌بندی" in page.text and "دیدارهای پیشنهادی" in page.text
    r = web.post(f"/staff/events/{EVENT_ID}/schedule", data={"csrf_token": csrf_of(web)},
                 follow_redirects=False)
    assert r.status_code == 303
    job = h.app.state.jobs.list(subject=f"events/{EVENT_ID}")[0]
    assert run_job(h, job.id).status == "succeeded"
    page = web.get(f"/staff/events/{EVENT_ID}")
    assert 'id="schedule-summary"' in page.text and "بهینه (اثبات‌شده)" in page.text
    assert "۰۹:۰۰ تا ۰۹:۲۰" in page.text and "درخواست دوطرفه" in page.text
    for name in ("schedule.xlsx", "schedule.csv", "summary.json", "agendas.zip"):
        assert f"/staff/events/{EVENT_ID}/files/{name}" in page.text
        assert web.get(f"/staff/events/{EVENT_ID}/files/{name}").status_code == 200
    assert web.get(f"/staff/events/{EVENT_ID}/export.xlsx").status_code == 200
    assert page.text.count("برنامهٔ جلسه‌ها (Excel)<") == 1 and 'class="job-files"' not in page.text
    # re-schedule without the mentor: nobody meets them, the rest stays
    r = web.post(f"/staff/events/{EVENT_ID}/schedule",
                 data={"csrf_token": csrf_of(web), "keep": "on", "without": "mentor1"},
                 follow_redirects=False)
    assert r.status_code == 303
    again = h.app.state.jobs.list(subject=f"events/{EVENT_ID}")[0]
    assert again.params["without"] == ["mentor1"] and again.params["keep_from"] == job.id
    assert run_job(h, again.id).status == "succeeded"
    page = web.get(f"/staff/events/{EVENT_ID}")
    assert "بدون: دکتر رضایی" in page.text
    table = page.text.split('id="schedule"', 1)[1].split('id="participants"', 1)[0]
    assert "دکتر رضایی" not in table.split("بدون:", 1)[1].split("</p>", 1)[1]


def test_personal_link_shows_the_agenda_and_records_a_request(houses: Houses):
    h = houses
    scheduled(h)
    organiser = h.web("staff_a").get(f"/staff/events/{EVENT_ID}").text
    link = _link(h, "health")
    assert html.escape(link) in organiser
    visitor = h.web(None)
    page = visitor.get(link)
    assert page.status_code == 200
    assert "برنامهٔ سلامت‌یار" in page.text and re.search("میز [۱۲]", page.text)
    assert "۱۴۰۵/۰۲/۲۰" in page.text
    assert visitor.get(link.split("?t=")[0] + "/calendar.ics?t=" + link.split("?t=")[1]
                       ).status_code == 200
    # a suggestion's button: a POST form recording the request
    others = re.findall(r'name="to" value="([^"]+)"', page.text)
    assert others, page.text
    to = others[0]
    token = agenda_token(h.settings, EVENT_ID, "health")
    r = visitor.post(
        f"/events/{EVENT_ID}/agenda/health/requests",
        data={"csrf_token": csrf_of(visitor), "t": token, "to": to},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = visitor.get(r.headers["location"])
    assert "ثبت شد" in page.text
    assert to in h.store.get_event(EVENT_ID).by_id()["health"].requests
    # asking again is refused in Persian, nothing changes
    r = visitor.post(
        f"/events/{EVENT_ID}/agenda/health/requests",
        data={"csrf_token": csrf_of(visitor), "t": token, "to": to},
    )
    assert r.status_code == 422 and "پیش‌تر دیدار" in r.text
    assert h.store.get_event(EVENT_ID).by_id()["health"].requests.count(to) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/events/demo-day/agenda/farm",
        "/events/demo-day/agenda/farm?t=wrong",
        "/events/demo-day/agenda/pay?t={farm}",  # another participant's token
        "/events/demo-day/agenda/farm/calendar.ics?t=wrong",
    ],
)
def test_a_wrong_token_is_404(houses: Houses, url: str):
    h = houses
    scheduled(h)
    url = url.format(farm=agenda_token(h.settings, EVENT_ID, "farm"))
    assert h.web(None).get(url).status_code == 404
    r = h.web(None).post(
        "/events/demo-day/agenda/farm/requests",
        data={"csrf_token": csrf_of(h.web(None)), "t": "wrong", "to": "mentor1"},
    )
    assert r.status_code == 404
    assert h.store.get_event(EVENT_ID).by_id()["farm"].requests == ["mentor1"]


def test_staff_agenda_page_is_house_scoped(houses: Houses):
    h = houses
    scheduled(h)
    url = f"/staff/events/{EVENT_ID}/agenda/pay"
    page = h.web("staff_a").get(url)
    assert page.status_code == 200 and "صندوق نوآوری" in page.text
    assert h.web("staff_b").get(url).status_code == 404
    assert h.web("owner").get(url).status_code == 403
