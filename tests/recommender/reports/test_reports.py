"""Committee files of a round (`recommender.reports`), made through `rounds.run_round`."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from recommender.errors import InvalidInputError
from recommender.reports.files import ensure_writable
from recommender.reports.tables import (
    ALLOCATION_COLUMNS,
    SCORE_COLUMNS,
    SHORTLIST_COLUMNS_FA,
    TOP_PROGRAM_COLUMNS_FA,
)
from recommender.rounds.run import RoundOutcome, run_round
from recommender.store.database import Store
from tests.recommender._round_fixtures import (
    PLANS,
    ROUND_ID,
    fill_store,
    make_applications,
    make_model,
    make_programs,
    make_round,
)

N_APPS, N_PROGS = 12, 6
PERSIAN = re.compile(r"[\u0600-\u06FF]")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def allocated(store: Store, tmp_path: Path) -> tuple[Path, RoundOutcome]:
    fill_store(store, N_APPS)
    out = tmp_path / "committee"
    outcome = run_round(store, ROUND_ID, make_model(), out, allocate=True, top=3)
    return out, outcome


def test_all_files_are_written(allocated: tuple[Path, RoundOutcome]) -> None:
    out, outcome = allocated
    names = {p.name for p in out.iterdir()}
    assert {"scores.csv", "shortlists.csv", "top_programs.csv", "allocation.csv",
            "allocation.json", "summary.json", "report.xlsx", "report.html"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    assert {p.name for p in outcome.files.values()} <= names


def test_scores_csv_has_every_pair_and_consistent_ranks(allocated: tuple[Path, RoundOutcome]
                                                        ) -> None:
    out, outcome = allocated
    rows = read_csv(out / "scores.csv")
    assert list(rows[0]) == SCORE_COLUMNS
    assert len(rows) == N_APPS * N_PROGS
    by_app: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_app.setdefault(row["application_id"], []).append(row)
    for app_rows in by_app.values():
        ranks = sorted(int(r["rank_for_application"]) for r in app_rows)
        assert ranks == list(range(1, N_PROGS + 1))
        best = min(app_rows, key=lambda r: int(r["rank_for_application"]))
        eligible = [r for r in app_rows if r["eligible"] == "true"]
        if eligible:
            assert float(best["score"]) == max(float(r["score"]) for r in eligible)
    for pid in {r["program_id"] for r in rows}:
        ranks = sorted(int(r["rank_for_program"]) for r in rows if r["program_id"] == pid)
        assert ranks == list(range(1, N_APPS + 1))
    shortlist = read_csv(out / "shortlists.csv")
    assert list(shortlist[0]) == SHORTLIST_COLUMNS_FA  # a list people read: Persian headers
    assert max(int(r["ردیف"]) for r in shortlist) <= 3
    assert shortlist[0]["برنامه"] and PERSIAN.search(shortlist[0]["استارتاپ"])
    top = read_csv(out / "top_programs.csv")
    assert list(top[0]) == TOP_PROGRAM_COLUMNS_FA
    assert {r["شناسهٔ درخواست"] for r in top} <= set(by_app)
    # a program without seats: «اقامت ندارد», as the suggestions say it, never a chance
    seatless = {p.id for p in make_programs() if p.residency_seats == 0}
    assert seatless and seatless & {r["شناسهٔ برنامه"] for r in top}
    for row in top:
        chance = row["شانس پذیرش در اقامت"]
        if row["شناسهٔ برنامه"] in seatless:
            assert chance == "اقامت ندارد"
        else:
            assert 0.0 <= float(chance) <= 1.0


def test_allocation_csv_matches_the_result(allocated: tuple[Path, RoundOutcome]) -> None:
    out, outcome = allocated
    rows = read_csv(out / "allocation.csv")
    assert list(rows[0]) == ALLOCATION_COLUMNS
    assert len(rows) == len(outcome.allocation.decisions)
    for row, d in zip(rows, outcome.allocation.decisions, strict=True):
        assert (row["application_id"], row["program_id"]) == (d.application_id, d.program_id)
        assert row["residency"] == ("true" if d.residency else "false")
        assert int(row["funding_amount"]) == d.funding_amount


def test_summary_is_optimal_on_a_small_round(allocated: tuple[Path, RoundOutcome]) -> None:
    out, outcome = allocated
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["optimal"] is True and summary["solver_status"] == "optimal"
    assert summary["gap"] is not None and summary["gap"] <= 1e-4
    assert summary["objective"] == pytest.approx(outcome.allocation.objective)
    assert summary["model_version"] == "v1"
    assert summary["round"]["opens_on_jalali"] == "۱۴۰۵/۰۷/۰۱"
    assert len(summary["programs"]) == N_PROGS
    for p in summary["programs"]:
        assert {"program_id", "seats", "seats_used", "budget", "budget_used"} <= set(p)
        assert 0 <= p["seats_used"] <= p["seats"] and 0 <= p["budget_used"] <= p["budget"]
    totals = summary["totals"]
    assert totals["seats_used"] == sum(p["seats_used"] for p in summary["programs"])
    assert totals["unfilled_seats"] == totals["seats"] - totals["seats_used"]
    assert totals["unused_budget"] == totals["budget"] - totals["budget_used"]
    fair = summary["fairness"]
    assert 0.0 <= fair["top1_share"] <= fair["top3_share"] <= 1.0
    assert sum(fair["applicants_by_province"].values()) == N_APPS
    assert sum(fair["placements_by_province"].values()) == totals["n_placed"]
    counts = fair["choice_counts"]
    assert counts["top3"] + counts["other"] + counts["not_placed"] == N_APPS


def test_xlsx_is_rtl_persian_with_jalali_dates_and_money_format(
    allocated: tuple[Path, RoundOutcome],
) -> None:
    out, _ = allocated
    wb = load_workbook(out / "report.xlsx")
    assert {"خلاصه", "برنامه‌ها", "تخصیص", "فهرست کوتاه برنامه‌ها"} <= set(wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.sheet_view.rightToLeft is True
        headers = [c.value for c in ws[1]]
        assert headers and all(PERSIAN.search(str(h)) for h in headers)
    summary = {row[0]: row[1] for row in wb["خلاصه"].iter_rows(min_row=2, values_only=True)}
    assert summary["تاریخ شروع"] == "۱۴۰۵/۰۷/۰۱" and summary["تاریخ پایان"] == "۱۴۰۵/۰۸/۳۰"
    assert summary["بهینه"] == "بله"
    programs = wb["برنامه‌ها"]
    header = [c.value for c in programs[1]]
    budget_col = header.index("بودجه (ریال)") + 1
    cell = programs.cell(row=2, column=budget_col)
    assert isinstance(cell.value, int) and cell.number_format == "#,##0"
    funding = wb["تخصیص"]
    header = [c.value for c in funding[1]]
    col = header.index("مبلغ تأمین مالی (ریال)") + 1
    assert funding.cell(row=2, column=col).number_format == "#,##0"


def test_html_is_persian_rtl_with_embedded_plots(allocated: tuple[Path, RoundOutcome]) -> None:
    out, _ = allocated
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='fa' dir='rtl'>" in page
    charts = re.findall(r"src='data:image/svg\+xml;base64,([A-Za-z0-9+/=]{200,})'", page)
    assert len(charts) >= 5
    assert "دوره پاییز ۱۴۰۵" in page and "۱۴۰۵/۰۷/۰۱" in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_xlsx_tables_have_filters(allocated: tuple[Path, RoundOutcome]) -> None:
    out, _ = allocated
    wb = load_workbook(out / "report.xlsx")
    filtered = {ws.title: ws.auto_filter.ref for ws in wb.worksheets if ws.auto_filter.ref}
    assert "خلاصه" not in filtered  # a key/value sheet, not a table
    allocation = wb["تخصیص"]
    assert filtered["تخصیص"] == f"A1:{allocation.cell(1, allocation.max_column).column_letter}" \
        f"{allocation.max_row}"
    assert len(filtered) >= 4


def test_html_speaks_to_a_committee(allocated: tuple[Path, RoundOutcome]) -> None:
    """Persian charts (axes, legends, names; text the browser shapes), names not codes,
    technical details folded away, a print stylesheet for A4, the Vazirmatn font."""
    import base64

    out, outcome = allocated
    page = (out / "report.html").read_text(encoding="utf-8")
    charts = [
        base64.b64decode(c).decode("utf-8")
        for c in re.findall(r"src='data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)'", page)
    ]
    texts = [t for svg in charts for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert "ظرفیت" in texts and "صندلی" in texts and "امتیاز تناسب" in texts
    for english in ("seats", "billion rial", "density", "capacity", "allocated", "top-1"):
        assert english not in texts
    assert not [t for t in texts if re.search(r"[0-9]", t)]  # Persian digits on the axes
    assert "شتاب‌دهنده پرداخت نوین" in texts  # program names, not ids
    visible, _, technical = page.partition("<details class='tech'>")
    assert "شکاف بهینگی" not in visible and "شکاف بهینگی" in technical
    assert outcome.scoring.scores.model_version not in visible
    assert "R1-a01" not in visible  # application ids only in the files meant for machines
    assert "@page{size:A4" in page and "@media print" in page
    assert "Vazirmatn-Regular.woff2" in page


def test_reports_never_quote_business_plans(allocated: tuple[Path, RoundOutcome]) -> None:
    out, _ = allocated
    plan_sentences = [  # whole sentences (short phrases like program names may coincide)
        s.strip() for text in PLANS.values() for s in text.split(".") if len(s.split()) > 4
    ]
    assert len(plan_sentences) >= 4
    texts = [(out / n).read_text(encoding="utf-8-sig") for n in
             ("scores.csv", "summary.json", "report.html", "allocation.json")]
    wb = load_workbook(out / "report.xlsx")
    texts += [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
              for v in row]
    blob = "\n".join(texts)
    assert not [s for s in plan_sentences if s in blob]


def test_without_allocation_there_is_no_solver_status(store: Store, tmp_path: Path) -> None:
    fill_store(store, N_APPS)
    out = tmp_path / "scores-only"
    run_round(store, ROUND_ID, make_model(trained=False), out)
    assert not (out / "allocation.csv").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["optimal"] is None and summary["model_version"] == "unsupervised"
    assert summary["programs"][0]["seats_used"] is None
    rows = read_csv(out / "scores.csv")
    assert rows[0]["p_residency"] == "" and len(rows) == N_APPS * N_PROGS
    assert len(make_applications(N_APPS)) == len({r["application_id"] for r in rows})
    wb = load_workbook(out / "report.xlsx")
    assert "تخصیص" not in wb.sheetnames and all(ws.sheet_view.rightToLeft for ws in wb)


def test_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(InvalidInputError, match="it is a file, not a folder") as info:
        ensure_writable(a_file)
    assert "\n" not in str(info.value)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(InvalidInputError, match="cannot write the reports"):
                ensure_writable(locked / "sub")
        finally:
            locked.chmod(0o700)


HOSTILE = "<script>alert('x')</script> \"q\" & <img src=x onerror=alert(1)>"
PAGE_TAGS = {"html", "head", "meta", "link", "title", "style", "body", "h1", "h2", "p", "div",
             "b", "figure", "img", "figcaption", "table", "thead", "tbody", "tr", "th", "td",
             "details", "summary", "ul", "li", "span"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += attrs


def test_html_escapes_hostile_names(store: Store, tmp_path: Path) -> None:
    """Startup, program and round names are user text: in report.html (tables, cards, what-if,
    chart captions and the SVG charts' labels) they stay text, never markup."""
    programs = [p.model_copy(update={"name": f"{HOSTILE} {p.id}"}) for p in make_programs()]
    apps = [a.model_copy(update={"startup_name": f"{HOSTILE} {a.id}"})
            for a in make_applications(N_APPS)]
    store.upsert_programs(programs)
    store.upsert_applications(apps)
    store.upsert_rounds([make_round().model_copy(update={"name": HOSTILE})])
    out = tmp_path / "committee"
    run_round(store, ROUND_ID, make_model(), out, allocate=True, top=3,
              what_if=f"{programs[0].id}:seats=0")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page and '"q"' not in page
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;q&#34; &amp; &lt;img src=x"
    assert page.count(escaped) > 2 * N_APPS  # title, tables, what-if: all escaped
    parsed = _Elements()
    parsed.feed(page)
    assert parsed.tags <= PAGE_TAGS
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    sources = [value or "" for name, value in parsed.attrs if name == "src"]
    assert sources and all(v.startswith("data:image/svg+xml;base64,") for v in sources)
    svgs = [base64.b64decode(v.split(",", 1)[1]).decode("utf-8") for v in sources]
    assert not [svg for svg in svgs if "<script" in svg or "<img" in svg]
    assert any("&lt;script&gt;" in svg for svg in svgs)  # program names in the charts, as text
