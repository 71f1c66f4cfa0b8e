"""`peyvand init` and the import/export commands, through `api.cli.main`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.messages import FSI, PDI
from recommender.store.database import Store
from recommender.text.persian import format_number

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "store"
KINDS = ("programs", "applications", "rounds", "outcomes")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    return tmp_path / "home"


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def counts(db_url: str) -> dict[str, int]:
    with Store(db_url) as store:
        return {kind: store.count(kind) for kind in KINDS}


def import_fixtures(home: Path) -> None:
    for kind in KINDS:
        assert run(home, kind, "import", str(FIXTURES / f"{kind}.json")) == 0


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home.resolve() / 'peyvand.db'}"


def test_init_creates_home_and_database(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "init") == 0
    out = capsys.readouterr().out
    with Store(sqlite_url(home)) as store:
        head = store.head_revision()
    assert str(home.resolve()) in out and f"نسخهٔ طرح‌واره {head}" in out
    assert (home / "peyvand.db").is_file()
    assert run(home, "init") == 0  # again: harmless


def test_import_without_init_migrates_first(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not home.exists()
    assert run(home, "programs", "import", str(FIXTURES / "programs.json")) == 0
    assert "برنامه‌ها: ۴ تازه، ۰ به‌روز شد، ۰ بی‌تغییر، ۰ کنار گذاشته" in capsys.readouterr().out
    assert counts(sqlite_url(home))["programs"] == 4


def test_import_counts_updates(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_fixtures(home)
    rows = json.loads((FIXTURES / "programs.json").read_text(encoding="utf-8"))
    rows[0]["residency_seats"] = 1
    rows.append({**rows[1], "id": "new_one"})
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert run(home, "programs", "import", str(changed)) == 0
    assert "۱ تازه، ۱ به‌روز شد، ۳ بی‌تغییر، ۰ کنار گذاشته" in capsys.readouterr().out


@pytest.mark.parametrize("ext", [".json", ".csv", ".xlsx"])
def test_export_import_round_trip(
    ext: str, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_fixtures(home)
    before = {}
    with Store(sqlite_url(home)) as store:
        before = {k: getattr(store, f"list_{k}")() for k in KINDS}
    other = tmp_path / "other_home"
    for kind in KINDS:
        out = tmp_path / f"{kind}{ext}"
        assert run(home, kind, "export", str(out)) == 0
        assert f"{format_number(len(before[kind]))} مورد از" in capsys.readouterr().out
        assert run(other, kind, "import", str(out)) == 0
    with Store(sqlite_url(other)) as store:
        assert {k: getattr(store, f"list_{k}")() for k in KINDS} == before


def test_bad_file_leaves_store_unchanged(
    db_url: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PEYVAND_DATABASE_URL", db_url)
    import_fixtures(home)
    before = counts(db_url)
    rows: list[dict[str, Any]] = json.loads(
        (FIXTURES / "programs.json").read_text(encoding="utf-8")
    )
    rows[0]["name"] = "نام تازه"  # a good change that must not land either
    rows.append({**rows[1], "id": "extra"})
    rows[2]["residency_seats"] = -3
    rows[3]["funding_min"] = 10**12
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert run(home, "programs", "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert "bad.json: ۲ ردیف نادرست است؛ هیچ ردیفی وارد نشد." in err
    assert f"ردیف ۳، ستون «{FSI}residency_seats{PDI}»: نباید منفی باشد." in err
    assert f"ردیف ۴، ستون «{FSI}funding_min{PDI}»" in err
    assert "Traceback" not in err
    assert counts(db_url) == before
    with Store(db_url) as store:
        assert store.get_program("acc_tehran").name == "شتاب‌دهنده فناوری تهران"


def test_skip_invalid_imports_good_rows(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = json.loads((FIXTURES / "programs.json").read_text(encoding="utf-8"))
    rows[1]["kind"] = "bank"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    assert run(home, "programs", "import", str(bad), "--skip-invalid") == 0
    captured = capsys.readouterr()
    assert "۳ تازه، ۰ به‌روز شد، ۰ بی‌تغییر، ۱ کنار گذاشته" in captured.out
    assert f"کنار گذاشته شد: ردیف ۲، ستون «{FSI}kind{PDI}»" in captured.err
    assert counts(sqlite_url(home))["programs"] == 3


def test_outcomes_with_unknown_ids(
    db_url: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PEYVAND_DATABASE_URL", db_url)
    for kind in ("programs", "applications"):
        assert run(home, kind, "import", str(FIXTURES / f"{kind}.json")) == 0
    rows = json.loads((FIXTURES / "outcomes.json").read_text(encoding="utf-8"))
    rows[1]["application_id"] = "ghost"
    rows.append({"application_id": "app_3", "program_id": "acc_tehran", "funded_amount": -1})
    json_path = tmp_path / "outcomes.json"
    json_path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert run(home, "outcomes", "import", str(json_path)) == 1
    err = capsys.readouterr().err
    assert (
        f"ردیف ۲، ستون «{FSI}application_id{PDI}»: درخواستی با شناسهٔ «{FSI}ghost{PDI}» نیست."
        in err
    )
    assert f"ردیف ۵، ستون «{FSI}funded_amount{PDI}»: نباید منفی باشد." in err
    assert counts(db_url)["outcomes"] == 0
    assert run(home, "outcomes", "import", str(json_path), "--skip-invalid") == 0
    assert "۳ تازه، ۰ به‌روز شد، ۰ بی‌تغییر، ۲ کنار گذاشته" in capsys.readouterr().out
    assert counts(db_url)["outcomes"] == 3


def test_rounds_need_known_programs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "rounds", "import", str(FIXTURES / "rounds.json")) == 1
    assert f"برنامه‌ای با شناسهٔ «{FSI}acc_tehran{PDI}» نیست." in capsys.readouterr().err
    assert run(home, "programs", "import", str(FIXTURES / "programs.json")) == 0
    assert run(home, "rounds", "import", str(FIXTURES / "rounds.json")) == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.json", "missing.json نیست."),
        (lambda d: shutil.copy(FIXTURES / "programs.json", d / "p.txt") and d / "p.txt",
         "p.txt: نوع پرونده پذیرفته نیست"),
        (lambda d: (d / "p.csv").write_bytes("id,نام\n".encode("cp1256")) and d / "p.csv",
         "کدگذاری p.csv UTF-8 نیست"),
        (lambda d: (d / "p.json").write_text('{"id": "x"}') and d / "p.json",
         "p.json یک شیء JSON دارد؛ فهرستی از شیءها لازم است"),
    ],
    ids=["missing", "extension", "utf8", "object"],
)
def test_bad_files_give_one_line_errors(
    make: Any, message: str, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    assert run(home, "programs", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("خطا: ") and message in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert not home.exists()  # a file that cannot be read never creates the store


def test_export_unknown_extension(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(home, "programs", "export", str(tmp_path / "out.pdf")) == 1
    assert "out.pdf: نوع پرونده پذیرفته نیست" in capsys.readouterr().err


def test_import_is_audited(home: Path) -> None:
    assert run(home, "programs", "import", str(FIXTURES / "programs.json")) == 0
    with Store(sqlite_url(home)) as store:
        (entry,) = store.list_audit()
    assert entry.action == "import" and entry.target_kind == "programs"
    assert entry.target_id == "programs.json" and entry.detail["created"] == 4
