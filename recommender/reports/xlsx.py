"""report.xlsx: the committee's workbook in Persian: right-to-left sheets with frozen
headers and filters, Jalali dates, amounts as `#,##0`, user text never a formula."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recommender.constants import KIND_LABELS_FA
from recommender.reports.files import atomic_write
from recommender.reports.round_report import (
    SOURCE_FA,
    RoundReport,
    province,
    shortlist_rows,
    top_rows,
    yes_no,
)
from recommender.text.safe_text import spreadsheet_cell

_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

_MONEY = "#,##0"
_SCORE = "0.000"
_PERCENT = "0.0%"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        # Names and ids are user text: a leading = + - @ would make the cell a formula.
        return spreadsheet_cell(_ILLEGAL_XLSX.sub("", value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sheet(wb: Any, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           formats: Mapping[int, str] | None = None, widths: Mapping[int, float] | None = None,
           row_formats: Sequence[str | None] | None = None, bold_first: bool = False) -> Any:
    """One right-to-left sheet of a write-only workbook (rows are streamed, not kept).

    Args:
        formats: column index -> number format.
        row_formats: per data row, the number format of its second cell (key/value sheets).
        bold_first: the first cell of each data row in bold.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.sheet_view.rightToLeft = True
    ws.freeze_panes = "A2"
    for col in range(len(headers)):
        width = (widths or {}).get(col, max(12.0, min(40.0, len(headers[col]) * 1.3)))
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=_clean(h))
        cell.font, cell.fill, cell.alignment = bold, fill, center
        header.append(cell)
    ws.append(header)
    formats = dict(formats or {})
    n_rows = 0
    for k, row in enumerate(rows):
        values: list[Any] = [_clean(v) for v in row]
        extra = dict(formats)
        if row_formats is not None and row_formats[k]:
            extra[1] = row_formats[k]  # type: ignore[assignment]
        for col, fmt in extra.items():
            if col < len(values) and values[col] is not None:
                cell = WriteOnlyCell(ws, value=values[col])
                cell.number_format = fmt
                values[col] = cell
        if bold_first and values:
            cell = WriteOnlyCell(ws, value=values[0])
            cell.font = bold
            values[0] = cell
        ws.append(values)
        n_rows = k + 1
    if not bold_first and headers:  # a table (not a key/value sheet): filters on its header
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{n_rows + 1}"
    return ws


#: One right-to-left sheet of a write-only workbook, for other Persian workbooks (events).
rtl_sheet = _sheet


def write_xlsx(path: Path, report: RoundReport, summary: Mapping[str, Any]) -> Path:
    """report.xlsx: Persian headers, right-to-left sheets, Jalali dates, money as `#,##0`."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    _summary_sheet(wb, report, summary)
    _programs_sheet(wb, summary)
    if report.allocation is not None:
        _allocation_sheet(wb, report)
    _shortlist_sheet(wb, report)
    _top_sheet(wb, report)
    _province_sheet(wb, summary)
    if report.what_if is not None:
        _what_if_sheet(wb, report)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def _summary_sheet(wb: Any, report: RoundReport, summary: Mapping[str, Any]) -> None:
    """Key/value figures of the round and its allocation."""
    alloc = report.allocation
    fair = summary["fairness"]
    totals = summary["totals"]
    rnd = summary["round"]
    info: list[tuple[str, Any, str | None]] = [
        ("نام دوره", rnd["name"], None),
        ("شناسهٔ دوره", rnd["id"], None),
        ("تاریخ شروع", rnd["opens_on_jalali"], None),
        ("تاریخ پایان", rnd["closes_on_jalali"], None),
        ("تاریخ تهیهٔ گزارش", summary["generated_at_jalali"], None),
        ("نسخهٔ مدل", report.scores.model_version, None),
        ("تعداد درخواست‌ها", totals["n_applications"], _MONEY),
        ("تعداد برنامه‌ها", totals["n_programs"], _MONEY),
        ("ظرفیت استقرار کل", totals["seats"], _MONEY),
        ("بودجهٔ کل (ریال)", totals["budget"], _MONEY),
    ]
    if alloc is not None:
        info += [
            ("وضعیت حل", alloc.status_fa, None),
            ("بهینه", yes_no(alloc.optimal), None),
            ("شکاف بهینگی", alloc.gap if math.isfinite(alloc.gap) else "نامعلوم", _PERCENT),
            ("مقدار تابع هدف", alloc.objective, _SCORE),
            ("جای‌گرفته‌ها", totals["n_placed"], _MONEY),
            ("صندلی‌های خالی", alloc.unfilled_seats, _MONEY),
            ("بودجهٔ استفاده‌نشده (ریال)", alloc.unused_budget, _MONEY),
            ("سهم جای‌گرفته در گزینهٔ نخست", fair["top1_share"], _PERCENT),
            ("سهم جای‌گرفته در یکی از سه گزینهٔ نخست", fair["top3_share"], _PERCENT),
        ]
    else:
        info.append(("وضعیت حل", "تخصیص انجام نشده است", None))
    _sheet(wb, "خلاصه", ["شاخص", "مقدار"], [(k, v) for k, v, _ in info],
           widths={0: 36, 1: 48}, row_formats=[fmt for _, _, fmt in info], bold_first=True)


def _programs_sheet(wb: Any, summary: Mapping[str, Any]) -> None:
    rows: list[tuple[Any, ...]] = [
        (p["program_id"], p["name"], KIND_LABELS_FA.get(p["kind"], p["kind"]), p["province"],
         p["seats"], p["seats_used"], p["unfilled_seats"], p["budget"], p["budget_used"],
         p["unused_budget"], p["grant_min"], p["grant_max"], SOURCE_FA[p["budget_source"]],
         p["n_eligible_applications"])
        for p in summary["programs"]
    ]
    _sheet(
        wb, "برنامه‌ها",
        ["شناسهٔ برنامه", "نام برنامه", "نوع", "استان", "ظرفیت استقرار", "صندلی‌های پرشده",
         "صندلی‌های خالی", "بودجه (ریال)", "بودجهٔ تخصیص‌یافته (ریال)", "بودجهٔ باقی‌مانده (ریال)",
         "کمینهٔ کمک (ریال)", "بیشینهٔ کمک (ریال)", "منبع بودجه", "متقاضیان واجد شرایط"],
        rows, {k: _MONEY for k in (4, 5, 6, 7, 8, 9, 10, 11, 13)}, {1: 34},
    )


def _allocation_sheet(wb: Any, report: RoundReport) -> None:
    s = report.scores
    alloc = report.allocation
    assert alloc is not None
    apps, progs = report.applications, report.programs
    ranks = s.ranks_for_application()
    a_index = {a: i for i, a in enumerate(s.application_ids)}
    p_index = {p: j for j, p in enumerate(s.program_ids)}
    rows = [
        (d.application_id, apps[d.application_id].startup_name,
         province(apps[d.application_id]), d.program_id, progs[d.program_id].name,
         yes_no(d.residency), d.funding_amount, d.score,
         int(ranks[a_index[d.application_id], p_index[d.program_id]]),
         "بله" if d.pinned else "")
        for d in alloc.decisions
    ]
    _sheet(
        wb, "تخصیص",
        ["شناسهٔ درخواست", "نام استارتاپ", "استان", "شناسهٔ برنامه", "نام برنامه", "استقرار",
         "مبلغ تأمین مالی (ریال)", "امتیاز تناسب", "رتبهٔ برنامه برای متقاضی", "تثبیت‌شده"],
        rows, {6: _MONEY, 7: _SCORE, 8: "0"}, {1: 28, 4: 30},
    )


def _shortlist_sheet(wb: Any, report: RoundReport) -> None:
    rows = [
        (pid, report.programs[pid].name, pos, aid, report.applications[aid].startup_name, score)
        for pid, pos, aid, score in shortlist_rows(report)
    ]
    _sheet(wb, "فهرست کوتاه برنامه‌ها",
           ["شناسهٔ برنامه", "نام برنامه", "ردیف", "شناسهٔ درخواست", "نام استارتاپ", "امتیاز تناسب"],
           rows, {2: "0", 5: _SCORE}, {1: 30, 4: 28})


def _top_sheet(wb: Any, report: RoundReport) -> None:
    rows = [
        (aid, report.applications[aid].startup_name, pos, pid, report.programs[pid].name, score,
         p_res, p_fund)
        for aid, pos, pid, score, p_res, p_fund in top_rows(report)
    ]
    _sheet(wb, "برترین برنامه‌های هر متقاضی",
           ["شناسهٔ درخواست", "نام استارتاپ", "ردیف", "شناسهٔ برنامه", "نام برنامه", "امتیاز تناسب",
            "احتمال استقرار", "احتمال تأمین مالی"],
           rows, {2: "0", 5: _SCORE, 6: _PERCENT, 7: _PERCENT}, {1: 28, 4: 30})


def _province_sheet(wb: Any, summary: Mapping[str, Any]) -> None:
    fair = summary["fairness"]
    provinces = list(fair["applicants_by_province"])
    rows = [
        (p, fair["applicants_by_province"][p], fair["placements_by_province"].get(p, 0),
         fair["residency_by_province"].get(p, 0))
        for p in provinces
    ]
    _sheet(wb, "استان‌ها", ["استان", "متقاضیان", "جای‌گرفته‌ها", "استقرار"], rows,
           {1: _MONEY, 2: _MONEY, 3: _MONEY})


def _what_if_sheet(wb: Any, report: RoundReport) -> None:
    assert report.what_if is not None
    d = report.what_if.diff
    rows = (
        [(x["application_id"], x["program_id"], "استقرار تازه", None, None)
         for x in d.residency_gained]
        + [(x["application_id"], x["program_id"], "استقرار از دست رفته", None, None)
           for x in d.residency_lost]
        + [(x["application_id"], x["program_id"], "تغییر تأمین مالی", x["before"], x["after"])
           for x in d.funding_changes]
    )
    _sheet(wb, "چه می‌شد اگر",
           ["شناسهٔ درخواست", "شناسهٔ برنامه", "تغییر", "پیش از تغییر (ریال)",
            "پس از تغییر (ریال)"], rows, {3: _MONEY, 4: _MONEY})
