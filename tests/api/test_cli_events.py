"""`peyvand events ...` through `api.cli.main`: exit codes, Persian messages, files written,
nothing stored from a bad file, and re-scheduling that keeps the meetings it can."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from api.cli import main
from recommender.store.database import Store
from recommender.text.persian import to_persian_digits
from tests.recommender._round_fixtures import FakeEmbedder
from tests.recommender.events._event_fixtures import payload


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from api import services

    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    monkeypatch.setattr(services, "load_embedder", lambda settings: FakeEmbedder())
    return tmp_path / "home"


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), "events", *args])


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def stored(home: Path) -> list[str]:
    with Store(f"sqlite:///{home.resolve() / 'peyvand.db'}") as store:
        store.upgrade()
        return [e.id for e, _ in store.list_events()]


@pytest.fixture
def imported(home: Path, tmp_path: Path, capsys) -> Path:
    assert run(home, "import", str(write(tmp_path / "event.json", payload()))) == 0
    assert "رویداد «demo-day» ساخته شد: ۶ شرکت‌کننده" in capsys.readouterr().out
    return home


def test_list_shows_the_event_in_persian_and_as_json(imported: Path, capsys):
    assert run(imported, "list") == 0
    line = capsys.readouterr().out.strip()
    assert "demo-day" in line and "۱۴۰۵/۰۲/۲۰" in line and "۶ شرکت‌کننده" in line
    assert run(imported, "list", "--json") == 0
    items = json.loads(capsys.readouterr().out)
    assert items[0]["id"] == "demo-day" and items[0]["participants"] == 6
    assert items[0]["slots"][0] == {"id": "s1", "start": "09:00", "end": "09:20"}


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        (lambda d: d["participants"][0].update(requests=["ghost"]), "«ghost»"),
        (lambda d: d["participants"][1].update(availability=["s1", "s9"]), "«s9»"),
        (lambda d: d["event"].update(tables=0), "event.tables"),
        (lambda d: d["participants"][2].update(availability=[]), "«health» هیچ بازهٔ"),
    ],
)
def test_a_bad_file_stores_nothing_and_names_the_culprit(
    home: Path, tmp_path: Path, capsys, change, culprit
):
    data = payload()
    change(data)
    assert run(home, "import", str(write(tmp_path / "bad.json", data))) == 1
    err = capsys.readouterr().err
    assert err.startswith("خطا: bad.json: ۱ مشکل پیدا شد؛ چیزی وارد نشد")
    assert culprit in err and "Traceback" not in err
    assert stored(home) == []


def test_skip_invalid_imports_the_good_rows(home: Path, tmp_path: Path, capsys):
    data = payload()
    data["participants"][2]["kind"] = "robot"
    assert run(home, "import", "--skip-invalid", str(write(tmp_path / "e.json", data))) == 0
    out = capsys.readouterr()
    assert "۵ شرکت‌کننده، ۱ ردیف کنار گذاشته شد" in out.out
    assert "کنار گذاشته شد: ردیف ۳، فیلد «kind»" in out.err


def test_file_problems_are_one_persian_line(home: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run(home, "import", str(broken)) == 1
    assert run(home, "import", str(tmp_path / "missing.json")) == 1
    assert run(home, "import", str(write(tmp_path / "list.json", []))) == 1
    assert run(home, "export", "nothing", str(tmp_path / "x.json")) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("خطا: ") for line in lines)
    assert "JSON معتبری نیست" in lines[0] and "«nothing» پیدا نشد" in lines[3]


@pytest.mark.parametrize("ext", [".json", ".csv", ".xlsx"])
def test_export_and_import_back(imported: Path, tmp_path: Path, capsys, ext: str):
    out = tmp_path / f"participants{ext}"
    assert run(imported, "export", "demo-day", str(out)) == 0
    assert "۶ شرکت‌کنندهٔ رویداد «demo-day»" in capsys.readouterr().out
    with Store(f"sqlite:///{imported.resolve() / 'peyvand.db'}") as store:
        before = store.get_event("demo-day")
    args = ["import", str(out)] + ([] if ext == ".json" else ["--event", "demo-day"])
    assert run(imported, *args) == 0
    with Store(f"sqlite:///{imported.resolve() / 'peyvand.db'}") as store:
        assert store.get_event("demo-day") == before


def test_a_participant_table_needs_its_event(imported: Path, tmp_path: Path, capsys):
    out = tmp_path / "p.csv"
    assert run(imported, "export", "demo-day", str(out)) == 0
    capsys.readouterr()
    assert run(imported, "import", str(out)) == 1
    assert "--event" in capsys.readouterr().err


def test_formula_cells_are_neutralised_in_exports(home: Path, tmp_path: Path):
    data = payload()
    data["participants"][0]["name"] = "=HYPERLINK(1)"
    assert run(home, "import", str(write(tmp_path / "e.json", data))) == 0
    assert run(home, "export", "demo-day", str(tmp_path / "p.csv")) == 0
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8-sig")))
    assert rows[0]["name"] == "'=HYPERLINK(1)"


def test_suggest_prints_reasons_and_json(imported: Path, capsys):
    assert run(imported, "suggest", "demo-day", "--json") == 0
    items = json.loads(capsys.readouterr().out)
    assert items and {i["startup_id"] for i in items} <= {"pay", "farm", "health"}
    assert all(i["partner_id"] in {"mentor1", "vc", "acc"} for i in items)
    best = next(i for i in items if i["startup_id"] == "pay")
    assert best["partner_id"] == "vc" and "فین‌تک" in " ".join(best["reasons"])
    assert run(imported, "suggest", "demo-day") == 0
    assert "پرداخت‌یار (pay)" in capsys.readouterr().out


def test_schedule_writes_every_file(imported: Path, tmp_path: Path, capsys):
    out = tmp_path / "schedule"
    assert run(imported, "schedule", "demo-day", "--out", str(out)) == 0
    line = capsys.readouterr().out
    assert "درخواست دوطرفه ۱ از ۱" in line and "بهینه (اثبات‌شده)" in line
    rows = list(csv.DictReader((out / "schedule.csv").open(encoding="utf-8-sig")))
    assert list(rows[0]) == ["slot_id", "table", "participant_a", "participant_b", "kind", "score"]
    met = {(r["participant_a"], r["participant_b"], r["kind"]) for r in rows}
    assert ("pay", "vc", "mutual") in met
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["optimal"] is True and summary["gap"] == 0
    assert summary["requests_met"]["mutual"] == {"met": 1, "total": 1}
    assert summary["event"]["date_jalali"] == "۱۴۰۵/۰۲/۲۰"
    assert sum(summary["meetings_per_participant"].values()) == 2 * len(rows)
    workbook = openpyxl.load_workbook(out / "schedule.xlsx")
    assert workbook.worksheets[0].sheet_view.rightToLeft
    assert workbook.worksheets[0]["A1"].value == "مورد"
    assert len(workbook.sheetnames) == 1 + 3 + 6  # summary, a sheet per slot, per participant
    ics = (out / "agendas" / "pay.ics").read_bytes().decode("utf-8")
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.count("BEGIN:VEVENT") >= 1
    assert "DTSTART:20260510T053000Z" in ics  # 09:00 Tehran (UTC+3:30)
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))


def test_rescheduling_keeps_the_meetings_of_those_who_stay(imported: Path, tmp_path: Path, capsys):
    first = tmp_path / "first"
    assert run(imported, "schedule", "demo-day", "--out", str(first)) == 0
    before = list(csv.DictReader((first / "schedule.csv").open(encoding="utf-8-sig")))
    second = tmp_path / "second"
    args = ["--out", str(second), "--keep-from", str(first), "--without", "farm"]
    assert run(imported, "schedule", "demo-day", *args) == 0
    staying = [r for r in before if "farm" not in (r["participant_a"], r["participant_b"])]
    after = list(csv.DictReader((second / "schedule.csv").open(encoding="utf-8-sig")))
    keys = {(r["slot_id"], r["table"], r["participant_a"], r["participant_b"]) for r in after}
    assert all((r["slot_id"], r["table"], r["participant_a"], r["participant_b"]) in keys
               for r in staying)
    kept = f"{to_persian_digits(len(staying))} از {to_persian_digits(len(before))} جلسهٔ قبلی"
    assert kept in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pin", "pay,ghost,s1"], "«ghost»"),
        (["--pin", "farm,mentor1,s3"], "«farm» در بازهٔ «s3» در دسترس نیست"),
        (["--pin", "pay"], "A,B,SLOT"),
        (["--without", "ghost"], "«ghost»"),
        (["--keep-from", "/nonexistent"], "برنامهٔ قبلی پیدا نشد"),
    ],
)
def test_bad_schedule_options_exit_1_with_one_line(
    imported: Path, tmp_path: Path, capsys, args, message
):
    out = tmp_path / "out"
    assert run(imported, "schedule", "demo-day", "--out", str(out), *args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("خطا: ") and message in err and "\n" not in err
    assert not (out / "schedule.csv").exists()


def test_usage_errors_exit_2(imported: Path):
    assert run(imported, "schedule", "demo-day") == 2  # --out is required
    assert run(imported, "nonsense") == 2
