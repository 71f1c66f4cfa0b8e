"""`peyvand orgs import|export|list` and `peyvand users add --org`, through `api.cli.main`:
houses in, out and listed; staff belong to a house; unknown houses in imports are bad rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from api.cli import main
from recommender.store.database import Store

HOUSES = [
    {
        "id": "shiraz-ch",
        "name": "خانه خلاق پارس شیراز",
        "kind": "creative_house",
        "province": "فارس",
        "city": "شیراز",
        "active": True,
    },
    {
        "id": "tabriz-ic",
        "name": '=HYPERLINK("http://x")',
        "kind": "innovation_center",
        "province": "آذربایجان شرقی",
        "city": "تبریز",
        "active": True,
    },
]
PROGRAM = {
    "id": "p-1",
    "name": "شتاب‌دهنده نمونه",
    "kind": "accelerator",
    "description": "برنامه‌ای برای تیم‌های فین‌تک.",
    "province": "فارس",
    "org_id": "shiraz-ch",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    return tmp_path / "home"


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_import_list_and_export_houses(home: Path, tmp_path: Path, capsys) -> None:
    assert run(home, "orgs", "import", str(write(tmp_path / "h.json", HOUSES))) == 0
    assert "خانه‌ها: ۲ تازه" in capsys.readouterr().out
    assert run(home, "orgs", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [o["id"] for o in listed] == ["shiraz-ch", "tabriz-ic"]
    assert listed[0] == HOUSES[0]
    assert run(home, "orgs", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split("\t") == [
        "shiraz-ch",
        "خانه خلاق",
        "فارس",
        "شیراز",
        "خانه خلاق پارس شیراز",
    ]
    for suffix in ("json", "csv", "xlsx"):
        out = tmp_path / f"houses.{suffix}"
        assert run(home, "orgs", "export", str(out)) == 0
        assert f"۲ مورد از خانه‌ها در {out} نوشته شد" in capsys.readouterr().out
    with (tmp_path / "houses.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[1]["name"].startswith("'=")  # a formula is neutralised in the spreadsheet
    import openpyxl

    sheet = openpyxl.load_workbook(tmp_path / "houses.xlsx").active
    assert str(sheet["B3"].value).startswith("'=")
    # exported files import back unchanged
    for suffix in ("json", "csv", "xlsx"):
        assert run(home, "orgs", "import", str(tmp_path / f"houses.{suffix}")) == 0
        assert "۰ تازه، ۰ به‌روز شد، ۲ بی‌تغییر" in capsys.readouterr().out


def test_bad_house_rows_import_nothing_unless_skipped(home: Path, tmp_path: Path, capsys):
    rows = [*HOUSES, {"id": "Bad Id", "name": "x"}, {"id": "x-1", "name": "y", "kind": "club"}]
    path = write(tmp_path / "h.json", rows)
    assert run(home, "orgs", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "ردیف ۳، ستون «\u2068id\u2069»" in err and "ردیف ۴، ستون «\u2068kind\u2069»" in err
    assert "Traceback" not in err
    assert run(home, "orgs", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(home, "orgs", "import", str(path), "--skip-invalid") == 0
    captured = capsys.readouterr()
    assert "۲ تازه" in captured.out and "۲ کنار گذاشته" in captured.out


def test_unknown_house_in_a_programs_import_is_a_bad_row(home: Path, tmp_path: Path, capsys):
    assert run(home, "orgs", "import", str(write(tmp_path / "h.json", HOUSES))) == 0
    stray = {**PROGRAM, "id": "p-2", "org_id": "nowhere"}
    bad = {**PROGRAM, "id": "p-3", "kind": "nonsense"}
    path = write(tmp_path / "p.json", [PROGRAM, bad, stray])
    assert run(home, "programs", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "ردیف ۳، ستون «\u2068org_id\u2069»: خانه‌ای با شناسهٔ «\u2068nowhere\u2069»" in err
    assert "ردیف ۲، ستون «\u2068kind\u2069»" in err and "Traceback" not in err
    with Store(f"sqlite:///{home.resolve() / 'peyvand.db'}") as store:
        assert store.count("programs") == 0
    assert run(home, "programs", "import", str(path), "--skip-invalid") == 0
    captured = capsys.readouterr()
    assert "۱ تازه" in captured.out and "۲ کنار گذاشته" in captured.out
    assert "خانه‌ای با شناسهٔ «\u2068nowhere\u2069» نیست" in captured.err
    with Store(f"sqlite:///{home.resolve() / 'peyvand.db'}") as store:
        assert store.get_program("p-1").org_id == "shiraz-ch"
    rounds = write(
        tmp_path / "r.json",
        [
            {
                "id": "r1",
                "name": "دور",
                "opens_on": "2026-01-01",
                "closes_on": "2026-02-01",
                "org_id": "nowhere",
                "program_ids": ["p-1"],
            }
        ],
    )
    assert run(home, "rounds", "import", str(rounds)) == 1
    assert "خانه‌ای با شناسهٔ «\u2068nowhere\u2069» نیست" in capsys.readouterr().err
    apps = write(
        tmp_path / "a.json",
        [{"id": "a1", "startup_name": "n", "business_plan": "طرح", "org_id": "nowhere"}],
    )
    assert run(home, "applications", "import", str(apps)) == 1
    assert "خانه‌ای با شناسهٔ «\u2068nowhere\u2069» نیست" in capsys.readouterr().err


def test_users_add_with_a_house(home: Path, tmp_path: Path, capsys) -> None:
    assert run(home, "orgs", "import", str(write(tmp_path / "h.json", HOUSES))) == 0
    capsys.readouterr()
    assert run(home, "users", "add", "--role", "staff", "--org", "tabriz-ic", "sara") == 0
    out = capsys.readouterr().out
    assert "حساب «sara» با نقش کارشناس خانه ساخته شد" in out and "خانهٔ tabriz-ic" in out
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and out.count(token) == 1
    assert run(home, "users", "add", "--role", "network", "net.op") == 0
    capsys.readouterr()
    assert run(home, "users", "list") == 0
    listed = capsys.readouterr().out
    assert "staff\tsara\ttabriz-ic" in listed and "network\tnet.op\t-" in listed
    assert token not in listed


@pytest.mark.parametrize(
    ("args", "persian"),
    [
        (["--role", "staff", "ali"], "کارشناس عضو یک خانه است"),  # several houses: name one
        (["--role", "staff", "--org", "nowhere", "ali"], "«\u2068nowhere\u2069» پیدا نشد"),
        (["--role", "applicant", "--org", "shiraz-ch", "ali"], "فقط کارشناس عضو یک خانه است"),
    ],
)
def test_users_add_refuses_a_bad_house_in_one_persian_line(
    home: Path, tmp_path: Path, capsys, args: list[str], persian: str
) -> None:
    assert run(home, "orgs", "import", str(write(tmp_path / "h.json", HOUSES))) == 0
    capsys.readouterr()
    assert run(home, "users", "add", *args) == 1
    out, err = capsys.readouterr()
    assert out == "" and persian in one_line(err)
    with Store(f"sqlite:///{home.resolve() / 'peyvand.db'}") as store:
        from api.accounts import Accounts

        assert Accounts(store).find_user("ali") is None


def test_usage_errors_exit_2_in_one_line(home: Path, capsys) -> None:
    assert run(home, "users", "add", "--role", "boss", "ali") == 2
    line = one_line(capsys.readouterr().err)
    assert "--role" in line and "شکل درست: \u2068peyvand users add" in line
    assert run(home, "orgs", "list", "--bogus") == 2
    assert "--bogus" in one_line(capsys.readouterr().err)
    assert run(home, "orgs", "import") == 2
    assert "شکل درست: \u2068peyvand orgs import" in one_line(capsys.readouterr().err)
    assert run(home, "orgs", "export", "houses.txt") == 1
    assert "Traceback" not in capsys.readouterr().err


def test_a_single_house_install_still_needs_no_org(home: Path, capsys) -> None:
    assert run(home, "users", "add", "--role", "staff", "maryam") == 0
    assert "خانهٔ main" in capsys.readouterr().out
    assert run(home, "orgs", "list", "--json") == 0
    assert [o["id"] for o in json.loads(capsys.readouterr().out)] == ["main"]
