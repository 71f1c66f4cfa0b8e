"""Import/export of the data contracts: JSON, CSV, XLSX, every bad-input case."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import ImportValidationError, InvalidInputError
from recommender.io.reading import (
    check_references,
    read_applications,
    read_programs,
    read_records,
    read_rounds,
)
from recommender.io.writing import write_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"
KINDS = ("programs", "applications", "rounds", "outcomes")
SECRET = "طرح-محرمانه-۴۲: فروش داروی گیاهی"


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def fixture_rows(kind: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))


def program(**changes: Any) -> dict[str, Any]:
    return {**fixture_rows("programs")[0], **changes}


def application(**changes: Any) -> dict[str, Any]:
    return {**fixture_rows("applications")[0], **changes}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ext", [".json", ".csv", ".xlsx"])
def test_round_trip(kind: str, ext: str, tmp_path: Path) -> None:
    original = read_records(FIXTURES / f"{kind}.json", kind)
    assert len(original.items) >= 2 and original.errors == []
    out = tmp_path / f"{kind}{ext}"
    assert write_records(out, kind, original.items) == len(original.items)
    again = read_records(out, kind)
    assert again.items == original.items
    # export -> import -> export gives the same bytes for text formats
    if ext != ".xlsx":
        second = tmp_path / f"again{ext}"
        write_records(second, kind, again.items)
        assert second.read_bytes() == out.read_bytes()


def test_csv_lists_blanks_and_row_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [
        ["id", "name", "kind", "description", "sectors", "stages", "province",
         "residency_seats", "funding_min", "funding_max", "equity_percent", "active"],
        ["p1", "مرکز رشد شیراز", "incubator", "مرکز رشد دانشگاه", "ai; health", "",
         "فارس", "", "0", "100", "", "بله"],
        ["", "", "", "", "", "", "", "", "", "", "", ""],  # a blank line is ignored
        ["p2", "پارک فناوری", "technology_park", "پارک", '["energy"]', "idea;mvp",
         "یزد", "3", "", "", "2.5", "false"],
    ])
    result = read_programs(path)
    first, second = result.items
    assert first.sectors == ["ai", "health"] and first.stages == []
    assert first.residency_seats == 0 and first.equity_percent is None and first.active is True
    assert second.sectors == ["energy"] and second.stages == ["idea", "mvp"]
    assert second.equity_percent == 2.5 and second.active is False
    assert result.rows == [2, 4]  # spreadsheet rows: header is row 1


def test_xlsx_typed_cells(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "startup_name", "business_plan", "stage", "team_size", "funding_ask",
                  "needs_residency", "founded_year"])
    sheet.append([101, "نوآوران", "ساخت ربات آموزشی برای مدارس", "mvp", 3.0, 5e9, True, 2023])
    sheet.append([None] * 8)
    workbook.save(tmp_path / "a.xlsx")
    (app,) = read_applications(tmp_path / "a.xlsx").items
    assert app.id == "101" and app.team_size == 3 and app.funding_ask == 5_000_000_000
    assert app.needs_residency is True and app.founded_year == 2023


def test_rounds_programs_cell(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [
        ["id", "name", "opens_on", "closes_on", "programs"],
        ["r1", "دور اول", "2025-03-21", "2025-05-01", "a:5:100; b; c::7"],
        ["r2", "دور دوم", "2025-03-21", "2025-05-01", "a:1:2:3"],
    ])
    result = read_rounds(path, skip_invalid=True)
    (r1,) = result.items
    assert [(p.program_id, p.seats, p.budget) for p in r1.programs] == [
        ("a", 5, 100), ("b", None, None), ("c", None, 7)
    ]
    assert [(e.row, e.field) for e in result.errors] == [(3, "programs")]


# ---------------------------------------------------------------- file-level problems
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="file not found"):
        read_programs(tmp_path / "nope.json")


@pytest.mark.parametrize("name", ["programs.txt", "programs", "programs.xls"])
def test_unknown_extension(name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text("[]")
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        read_programs(tmp_path / name)
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        write_records(tmp_path / name, "programs", [])


@pytest.mark.parametrize("ext", [".json", ".csv"])
def test_invalid_utf8(ext: str, tmp_path: Path) -> None:
    path = tmp_path / f"p{ext}"
    path.write_bytes("[{\"name\": \"شتاب\"}]".encode("cp1256"))
    with pytest.raises(InvalidInputError, match="not UTF-8") as info:
        read_programs(path)
    assert "\n" not in str(info.value)


def test_json_object_instead_of_list(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="expected a list"):
        read_programs(write_json(tmp_path / "p.json", program()))


def test_broken_json(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('[{"id": "x",]', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"not valid JSON \(line 1"):
        read_programs(tmp_path / "p.json")


def test_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as f:
        f.truncate(MAX_IMPORT_BYTES + 1)  # sparse: costs nothing
    with pytest.raises(InvalidInputError, match="limit is 10 MB"):
        read_programs(path)


def test_corrupt_xlsx(tmp_path: Path) -> None:
    (tmp_path / "p.xlsx").write_text("id,name\n1,2\n")
    with pytest.raises(InvalidInputError, match="cannot be read as an Excel"):
        read_programs(tmp_path / "p.xlsx")


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["id", "name", "colour"], ["1", "x", "red"]])
    with pytest.raises(InvalidInputError, match="unknown column.*'colour'"):
        read_programs(path)
    path = write_csv(tmp_path / "q.csv", [["id", "name"], ["1", "x"]])
    with pytest.raises(InvalidInputError, match="missing column.*kind.*description"):
        read_programs(path)


def test_empty_csv(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("")
    with pytest.raises(InvalidInputError, match="empty"):
        read_programs(tmp_path / "p.csv")


# ------------------------------------------------------------------- row problems
def errors_of(path: Path, kind: str = "programs") -> list[tuple[int, str, str]]:
    with pytest.raises(ImportValidationError) as info:
        read_records(path, kind)
    assert "nothing was imported" in str(info.value)
    return [(e.row, e.field, e.reason) for e in info.value.errors]


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    rows = [
        program(id="ok1"),
        program(id="neg", residency_seats=-2),
        program(id="money", funding_min=10, funding_max=5),
        program(id="types", residency_seats="دوازده", active="maybe", sectors=5),
        "not an object",
        program(id="ok1"),
        program(id="kind", kind="bank", colour="red"),
    ]
    found = errors_of(write_json(tmp_path / "p.json", rows))
    assert found == [
        (2, "residency_seats", "must not be negative"),
        (3, "funding_min", "funding_min (10) is larger than funding_max (5)"),
        (4, "sectors", "must be a list"),
        (4, "residency_seats", "must be a whole number"),
        (4, "active", "'maybe' is not yes/no (use true or false)"),
        (5, "(row)", "must be an object with field names, got a text"),
        (6, "id", "duplicate id 'ok1' (first on row 1)"),
        (7, "kind", "unknown kind 'bank'; use one of: accelerator, incubator, creative_house, "
                    "innovation_center, vc_fund, grant_program, technology_park"),
        (7, "colour", "is not a known field"),
    ]


def test_skip_invalid_returns_good_rows_and_errors(tmp_path: Path) -> None:
    rows = [program(id="a"), program(id="b", residency_seats=-1), program(id="c")]
    result = read_programs(write_json(tmp_path / "p.json", rows), skip_invalid=True)
    assert [p.id for p in result.items] == ["a", "c"] and result.rows == [1, 3]
    assert [(e.row, e.field) for e in result.errors] == [(2, "residency_seats")]


@pytest.mark.parametrize("plan", ["", "   \n\t  "])
def test_empty_business_plan(plan: str, tmp_path: Path) -> None:
    found = errors_of(write_json(tmp_path / "a.json", [application(business_plan=plan)]),
                      "applications")
    assert found == [(1, "business_plan", "the business plan is empty")]
    path = write_csv(tmp_path / "a.csv", [["id", "startup_name", "business_plan"],
                                          ["a1", "نام", plan]])
    assert errors_of(path, "applications") == [(2, "business_plan", "the business plan is empty")]


def test_business_plan_never_appears_in_messages(tmp_path: Path) -> None:
    rows = [
        application(id="a1", business_plan=SECRET, team_size=0, stage="launch"),
        application(id="a2", business_plan=SECRET * 3000),  # too long
        application(id="a3", business_plan=12345),
    ]
    with pytest.raises(ImportValidationError) as info:
        read_applications(write_json(tmp_path / "a.json", rows))
    message = str(info.value)
    assert SECRET not in message and "محرمانه" not in message and "12345" not in message
    assert ("business_plan", "is too long (at most 50000 characters)") in [
        (e.field, e.reason) for e in info.value.errors
    ]
    assert (3, "business_plan", "must be text") in [
        (e.row, e.field, e.reason) for e in info.value.errors
    ]


def test_wrong_types_in_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [
        ["application_id", "program_id", "residency_granted", "funded_amount", "decided_on"],
        ["a1", "p1", "شاید", "-5", "1404/01/01"],
        ["a1", "p2", "true", "12.5", ""],
        ["a1", "p3", "false", "0", "", "extra"],
    ])
    assert errors_of(path, "outcomes") == [
        (2, "residency_granted", "'شاید' is not yes/no (use true or false)"),
        (2, "funded_amount", "must not be negative"),
        (2, "decided_on", "must be a date like 2025-03-21 (YYYY-MM-DD)"),
        (3, "funded_amount", "must be a whole number"),
        (4, "(row)", "has values outside the named columns"),
    ]


def test_duplicate_outcome_pairs(tmp_path: Path) -> None:
    rows = fixture_rows("outcomes")
    found = errors_of(write_json(tmp_path / "o.json", [*rows, rows[0]]), "outcomes")
    assert found == [(5, "application_id",
                      "duplicate application_id/program_id pair 'app_1'/'acc_tehran' "
                      "(first on row 1)")]


def test_check_references(tmp_path: Path) -> None:
    rows = fixture_rows("outcomes")
    result = read_records(write_json(tmp_path / "o.json", rows), "outcomes")
    known = {"applications": {"app_1", "app_2"}, "programs": {"acc_tehran", "ch_isfahan"}}
    with pytest.raises(ImportValidationError) as info:
        check_references(result, known)
    assert [(e.row, e.field) for e in info.value.errors] == [
        (2, "program_id"), (4, "application_id"), (4, "program_id")
    ]
    kept = check_references(result, known, skip_invalid=True)
    assert kept.rows == [1, 3] and len(kept.errors) == 3


def test_xlsx_refuses_texts_excel_cannot_hold(tmp_path: Path) -> None:
    from recommender.schemas import Application

    app = Application.model_validate(application(business_plan="ب" * 40_000))
    with pytest.raises(InvalidInputError, match="at most 32767"):
        write_records(tmp_path / "a.xlsx", "applications", [app])
    assert not (tmp_path / "a.xlsx").exists()
    write_records(tmp_path / "a.csv", "applications", [app])  # CSV and JSON are fine
    assert read_applications(tmp_path / "a.csv").items == [app]


def test_xlsx_refuses_control_characters(tmp_path: Path) -> None:
    from recommender.schemas import Application

    app = Application.model_validate(application(business_plan="صفحه اول\x0cصفحه دوم"))
    with pytest.raises(InvalidInputError, match="control characters") as info:
        write_records(tmp_path / "a.xlsx", "applications", [app])
    assert "صفحه" not in str(info.value)
    write_records(tmp_path / "a.json", "applications", [app])
    assert read_applications(tmp_path / "a.json").items == [app]


# --------------------------------------------------------------------------- the import use case
def test_import_file_counts_and_audits(store: Any, tmp_path: Path) -> None:
    from contextlib import nullcontext

    from recommender.io.imports import import_file

    def opener() -> Any:
        return nullcontext(store)

    first = import_file(FIXTURES / "programs.json", "programs", open_store=opener, actor="t")
    assert first.counts() == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 0}
    rows = fixture_rows("programs")
    rows[0]["name"] = "نام تازه"
    rows.append({**rows[1], "id": "extra"})
    rows.append({**rows[1], "id": "bad", "residency_seats": -1, "funding_min": "x"})
    path = write_json(tmp_path / "p.json", rows)
    with pytest.raises(ImportValidationError):
        import_file(path, "programs", open_store=opener, actor="t")
    assert store.count("programs") == 4
    report = import_file(path, "programs", open_store=opener, actor="t", skip_invalid=True)
    # One bad row with two bad fields: skipped once, both problems listed.
    assert report.counts() == {"created": 1, "updated": 1, "unchanged": 3, "skipped": 1}
    assert [(e.row, e.field) for e in report.errors] == [
        (6, "residency_seats"), (6, "funding_min")
    ]
    newest = store.list_audit(limit=1)[0]
    assert newest.target_id == "p.json" and newest.detail == report.counts()


def test_import_file_lists_every_bad_row_and_opens_no_store_for_a_bad_file(
    store: Any, tmp_path: Path
) -> None:
    from contextlib import nullcontext

    from recommender.io.imports import import_file, import_upload

    opened: list[bool] = []

    def opener() -> Any:
        opened.append(True)
        return nullcontext(store)

    with pytest.raises(InvalidInputError, match="not valid JSON"):
        import_file(write_csv(tmp_path / "x.json", [["{"]]), "programs", open_store=opener,
                    actor="t")
    with pytest.raises(InvalidInputError, match="larger than"):
        import_upload(b"x" * (MAX_IMPORT_BYTES + 1), "o.json", "outcomes", open_store=opener,
                      actor="t")
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        import_upload(b"[]", "o.txt", "outcomes", open_store=opener, actor="t")
    assert opened == []
    import_file(FIXTURES / "programs.json", "programs", open_store=opener, actor="t")
    import_file(FIXTURES / "applications.json", "applications", open_store=opener, actor="t")
    rows = fixture_rows("outcomes")
    rows[0]["application_id"] = "ghost"
    rows[1]["funded_amount"] = -1
    data = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    with pytest.raises(ImportValidationError) as info:
        import_upload(data, "o.json", "outcomes", open_store=opener, actor="t")
    assert [(e.row, e.field) for e in info.value.errors] == [
        (1, "application_id"), (2, "funded_amount")
    ]
    assert store.count("outcomes") == 0


def test_a_second_import_of_the_same_kind_at_once_is_refused_and_writes_nothing(
    store: Any, tmp_path: Path
) -> None:
    """Two API processes (or the CLI beside the service) importing programs at once: while one
    import's transaction is open, the other is refused with a conflict, in both languages,
    and stores nothing; once the first has committed, the same import goes through. SQLite
    serializes writers itself (the second waits and runs after), so this is PostgreSQL's."""
    from contextlib import nullcontext

    from recommender.errors import ConflictError, status_of
    from recommender.io.imports import import_file

    if store.dialect != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time: the second import waits")

    def opener() -> Any:
        return nullcontext(store)

    with store.session() as first:  # the first import, still writing
        assert store.try_exclusive("import:programs:*", first)
        with pytest.raises(ConflictError) as info:
            import_file(FIXTURES / "programs.json", "programs", open_store=opener, actor="t")
        # another kind, or the same kind for another house, is not held up
        assert store.try_exclusive("import:outcomes:*", first)
    assert status_of(info.value) == 409
    assert "another import of programs" in str(info.value)
    assert "ورود دیگری از برنامه‌ها" in str(info.value)
    assert store.count("programs") == 0
    assert [e for e in store.list_audit(limit=5) if e.action == "import"] == []
    report = import_file(FIXTURES / "programs.json", "programs", open_store=opener, actor="t")
    assert report.created == 4 and store.count("programs") == 4
