"""The events API: import, participants, suggestions, requests (one rule, nothing stored on
a refusal), the schedule as a job with its files, and house isolation (another house: 404)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api._event_houses import EVENT_ID, add_event, run_job, scheduled
from tests.api._houses import HOUSE_A, Houses, make_houses
from tests.recommender.events._event_fixtures import payload


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home")


def test_staff_import_an_event_and_read_it_back(houses: Houses):
    h = houses
    add_event(h)  # the embedder
    body = payload(id="investor-day")
    r = h.client.post("/v1/events", json=body, headers=h.auth("staff_a"))
    assert r.status_code == 201, r.text
    assert r.json() == {
        "event_id": "investor-day", "org_id": HOUSE_A, "created": True,
        "participants": 6, "skipped": [],
    }
    listed = h.client.get("/v1/events", headers=h.auth("staff_a")).json()
    assert {e["id"] for e in listed} == {"demo-day", "investor-day"}
    got = h.client.get("/v1/events/investor-day", headers=h.auth("staff_a")).json()
    assert got["event"]["tables"] == 2 and len(got["participants"]) == 6
    # another house sees neither, and its answer is a missing id's
    assert h.client.get("/v1/events", headers=h.auth("staff_b")).json() == []
    for url in ("/v1/events/investor-day", "/v1/events/investor-day/participants",
                "/v1/events/investor-day/suggestions", "/v1/events/investor-day/schedule"):
        r = h.client.get(url, headers=h.auth("staff_b"))
        assert r.status_code == 404, url
        assert "رویدادی با شناسهٔ «investor-day» پیدا نشد" in r.json()["detail"]


def test_an_import_warms_the_suggestions_before_anyone_opens_the_event(houses: Houses):
    """Right after an import the participants' profiles are embedded in the background, so
    the event's page does not pay for them on its first view."""
    import time

    h = houses
    add_event(h)  # the embedder
    embedder = h.app.state.recommender.get().embedder
    before = embedder.calls
    r = h.client.post("/v1/events", json=payload(id="warm-day"), headers=h.auth("staff_a"))
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 60
    while embedder.calls - before < 6:  # the six profiles; nobody asked for suggestions yet
        assert time.monotonic() < deadline, "the import did not warm the suggestions"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        ({"tables": 0}, "شمار میزها باید دست‌کم ۱ باشد"),
        ({"participant": {"requests": ["ghost"]}}, "«ghost»"),
        ({"participant": {"availability": ["s9"]}}, "«s9»"),
        ({"participant": {"availability": []}}, "هیچ بازهٔ زمانیِ در دسترسی ندارد"),
    ],
)
def test_bad_event_files_answer_422_naming_the_culprit_and_store_nothing(houses, change, culprit):
    h = houses
    body = payload(id="bad-day")
    if "participant" in change:
        body["participants"][0].update(change["participant"])
    else:
        body["event"].update(change)
    r = h.client.post("/v1/events", json=body, headers=h.auth("staff_a"))
    assert r.status_code == 422
    text = json.dumps(r.json(), ensure_ascii=False)
    assert culprit in text
    assert "Traceback" not in text
    assert h.client.get("/v1/events/bad-day", headers=h.auth("staff_a")).status_code == 404


def test_participants_import_from_csv_and_export(houses: Houses):
    h = houses
    add_event(h)
    exported = h.client.get(f"/v1/events/{EVENT_ID}/export?format=csv", headers=h.auth("staff_a"))
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["id"] for r in rows][:2] == ["pay", "farm"]
    # drop the last participant (nobody requests it) and upload the list again
    text = exported.content.decode("utf-8-sig").rsplit("\n", 2)[0] + "\n"
    assert "acc" not in text.splitlines()[-1]
    r = h.client.post(
        f"/v1/events/{EVENT_ID}/participants",
        files={"file": ("list.csv", text.encode("utf-8"), "text/csv")},
        headers=h.auth("staff_a"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["participants"] == 5
    bad = text.replace("pay,startup", "pay,astronaut", 1)
    r = h.client.post(
        f"/v1/events/{EVENT_ID}/participants",
        files={"file": ("list.csv", bad.encode("utf-8"), "text/csv")},
        headers=h.auth("staff_a"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["row"] == 2 and r.json()["errors"][0]["field"] == "kind"
    assert len(h.client.get(f"/v1/events/{EVENT_ID}/participants",
                            headers=h.auth("staff_a")).json()) == 5


def test_suggestions_name_partners_with_persian_reasons(houses: Houses):
    h = houses
    add_event(h)
    r = h.client.get(f"/v1/events/{EVENT_ID}/suggestions", headers=h.auth("staff_a"))
    assert r.status_code == 200
    items = r.json()
    assert items and {i["startup_id"] for i in items} <= {"pay", "farm", "health"}
    first = next(i for i in items if i["startup_id"] == "farm")
    assert first["partner_id"] == "mentor1" and first["partner_name"] == "دکتر رضایی"
    assert any("مشترک" in reason or "شباهت" in reason for reason in first["reasons"])
    mine = h.client.get(
        f"/v1/events/{EVENT_ID}/suggestions?participant=mentor1", headers=h.auth("staff_a")
    ).json()
    assert mine and all("mentor1" in (i["startup_id"], i["partner_id"]) for i in mine)
    assert all(i["other_kind"] == "startup" for i in mine)


def test_a_request_is_recorded_once_and_refusals_store_nothing(houses: Houses):
    h = houses
    add_event(h)
    url = f"/v1/events/{EVENT_ID}/requests"
    r = h.client.post(url, json={"from": "health", "to": "acc"}, headers=h.auth("staff_a"))
    assert r.status_code == 201, r.text
    assert r.json()["requests"] == ["acc"]
    refusals = [
        ({"from": "health", "to": "acc"}, 409, "پیش‌تر دیدار"),
        ({"from": "health", "to": "ghost"}, 422, "«ghost»"),
        ({"from": "nobody", "to": "acc"}, 422, "«nobody»"),
        ({"from": "health", "to": "health"}, 422, "خودش"),
    ]
    for body, code, words in refusals:
        r = h.client.post(url, json=body, headers=h.auth("staff_a"))
        assert r.status_code == code, body
        assert words in r.json()["detail"]
    stored = h.store.get_event(EVENT_ID).by_id()["health"]
    assert stored.requests == ["acc"]
    r = h.client.post(url, json={"from": "health", "to": "vc"}, headers=h.auth("staff_b"))
    assert r.status_code == 404


def test_schedule_job_writes_the_files_and_the_latest_schedule_reads_back(houses: Houses):
    h = houses
    add_event(h)
    r = h.client.post(f"/v1/events/{EVENT_ID}/schedule", headers=h.auth("staff_a"))
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    done = run_job(h, job_id)
    assert done.status == "succeeded", done.error
    assert set(done.files) >= {"schedule.csv", "summary.json", "schedule.xlsx", "agendas.zip"}
    got = h.client.get(f"/v1/events/{EVENT_ID}/schedule", headers=h.auth("staff_a")).json()
    assert got["job_id"] == job_id and got["summary"]["optimal"] is True
    pairs = {(m["participant_a"], m["participant_b"]): m for m in got["meetings"]}
    assert pairs[("pay", "vc")]["kind"] == "mutual"  # the mutual request is met
    assert pairs[("pay", "vc")]["name_b"] == "صندوق نوآوری"
    for f in got["files"]:
        assert h.client.get(f["url"], headers=h.auth("staff_a")).status_code == 200
    bundle = h.client.get(f"/v1/events/{EVENT_ID}/schedule/files/agendas.zip",
                          headers=h.auth("staff_a"))
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert "agendas/pay.ics" in names
    ics = h.client.get(f"/v1/events/{EVENT_ID}/schedule/files/agendas/pay.ics",
                       headers=h.auth("staff_a"))
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    assert h.client.get(f"/v1/events/{EVENT_ID}/schedule/files/../../p.db",
                        headers=h.auth("staff_a")).status_code == 404
    assert h.client.get(f"/v1/events/{EVENT_ID}/schedule/files/schedule.xlsx",
                        headers=h.auth("staff_b")).status_code == 404


def test_rescheduling_without_a_participant_keeps_the_other_meetings(houses: Houses):
    h = houses
    first = scheduled(h)
    before = h.client.get(f"/v1/events/{EVENT_ID}/schedule", headers=h.auth("staff_a")).json()
    r = h.client.post(
        f"/v1/events/{EVENT_ID}/schedule",
        json={"keep_from": first, "without": ["mentor1"]},
        headers=h.auth("staff_a"),
    )
    assert r.status_code == 202, r.text
    assert run_job(h, r.json()["job_id"]).status == "succeeded"
    after = h.client.get(f"/v1/events/{EVENT_ID}/schedule", headers=h.auth("staff_a")).json()
    assert after["without"] == ["mentor1"]
    assert all("mentor1" not in (m["participant_a"], m["participant_b"])
               for m in after["meetings"])
    kept = {(m["participant_a"], m["participant_b"], m["slot_id"]) for m in before["meetings"]
            if "mentor1" not in (m["participant_a"], m["participant_b"])}
    now = {(m["participant_a"], m["participant_b"], m["slot_id"]) for m in after["meetings"]}
    assert kept <= now


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"without": ["ghost"]}, 422, "«ghost»"),
        ({"keep_from": "not-a-job"}, 422, "«not-a-job»"),
        ({"pins": [["farm", "vc", "s9"]]}, 422, "«s9»"),
        ({"pins": [["farm", "vc", "s3"]]}, 409, "«farm» در بازهٔ «s3» در دسترس نیست"),
        ({"pins": [["pay", "vc", "s1"], ["pay", "mentor1", "s1"]]}, 409, "«pay» در بازهٔ «s1»"),
    ],
)
def test_bad_schedule_requests_answer_4xx_naming_the_culprit_and_queue_nothing(
    houses: Houses, body, code, words
):
    h = houses
    add_event(h)
    r = h.client.post(f"/v1/events/{EVENT_ID}/schedule", json=body, headers=h.auth("staff_a"))
    assert r.status_code == code
    assert words in r.json()["detail"]
    assert h.app.state.jobs.list(subject=f"events/{EVENT_ID}") == []


def test_a_pinned_meeting_is_scheduled_in_its_slot(houses: Houses):
    h = houses
    add_event(h)
    r = h.client.post(f"/v1/events/{EVENT_ID}/schedule",
                      json={"pins": [["health", "mentor1", "s3"]]}, headers=h.auth("staff_a"))
    assert r.status_code == 202, r.text
    assert run_job(h, r.json()["job_id"]).status == "succeeded"
    got = h.client.get(f"/v1/events/{EVENT_ID}/schedule", headers=h.auth("staff_a")).json()
    pinned = [m for m in got["meetings"] if {m["participant_a"], m["participant_b"]}
              == {"health", "mentor1"}]
    assert [(m["slot_id"], m["kind"]) for m in pinned] == [("s3", "pinned")]
