"""report.html: one self-contained Persian page (``dir="rtl"``) for the committee, from the
Jinja templates in ``templates/`` (autoescaped, like the web UI): names rather than ids,
Persian digits and Jalali dates, embedded SVG charts (`charts.py`), technical details
folded away, a print stylesheet for A4; the Vazirmatn font from the service when it
serves the page.

This module turns the report into plain values (texts already formatted in Persian); the
templates lay them out and escape every one of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from recommender.reports.charts import report_charts
from recommender.reports.round_report import (
    SOURCE_FA,
    RoundReport,
    province,
    shortlist_rows,
    yes_no,
)
from recommender.text.persian import format_jalali, format_number, format_percent, format_rial

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(report: RoundReport, summary: Mapping[str, Any]) -> str:
    """The Persian report page for the committee (self-contained: styles and charts
    embedded; the Vazirmatn font from the service when it serves the page)."""
    alloc = report.allocation
    return _ENV.get_template("report.html").render(
        round=summary["round"],
        generated=format_jalali(report.generated_at, long=True),
        cards=_cards(report, summary),
        allocated=alloc is not None,
        optimal=alloc is not None and alloc.optimal,
        charts=report_charts(report, summary),
        province_rows=_province_rows(summary),
        program_rows=_program_rows(summary),
        what_if=_what_if(report),
        allocation_rows=_allocation_rows(report),
        top=format_number(report.top),
        shortlist_rows=[
            (report.programs[pid].name, format_number(pos),
             report.applications[aid].startup_name, _score_fa(score))
            for pid, pos, aid, score in shortlist_rows(report)
        ],
        technical=_technical(report),
    )


def _score_fa(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return format_number(value, 3)


def _cards(report: RoundReport, summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of the figures at the top of the page."""
    alloc = report.allocation
    totals = summary["totals"]
    cards = [
        ("درخواست‌ها", format_number(totals["n_applications"])),
        ("برنامه‌ها", format_number(totals["n_programs"])),
        ("ظرفیت استقرار", format_number(totals["seats"])),
        ("بودجهٔ کل", format_rial(totals["budget"])),
    ]
    if alloc is not None:
        fair = summary["fairness"]
        cards += [
            ("جای‌گرفته‌ها", format_number(totals["n_placed"])),
            ("صندلی‌های خالی", format_number(alloc.unfilled_seats)),
            ("بودجهٔ استفاده‌نشده", format_rial(alloc.unused_budget)),
            ("در یکی از سه گزینهٔ نخست",
             format_percent(fair["top3_share"]) if fair["top3_share"] is not None else "—"),
        ]
    return cards


def _province_rows(summary: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    fair = summary["fairness"]
    return [
        (p, format_number(fair["applicants_by_province"][p]),
         format_number(fair["placements_by_province"].get(p, 0)),
         format_number(fair["residency_by_province"].get(p, 0)))
        for p in fair["applicants_by_province"]
    ]


def _program_rows(summary: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            p["name"], format_number(p["seats"]),
            "—" if p["seats_used"] is None else format_number(p["seats_used"]),
            format_rial(p["budget"]),
            "—" if p["budget_used"] is None else format_rial(p["budget_used"]),
            SOURCE_FA[p["budget_source"]], format_number(p["n_eligible_applications"]),
        )
        for p in summary["programs"]
    ]


def _allocation_rows(report: RoundReport) -> list[tuple[Any, ...]]:
    if report.allocation is None:
        return []
    apps, names = report.applications, report.programs
    return [
        (apps[d.application_id].startup_name,
         province(apps[d.application_id]), names[d.program_id].name,
         yes_no(d.residency), format_rial(d.funding_amount) if d.funding_amount else "—",
         _score_fa(d.score), "بله" if d.pinned else "")
        for d in report.allocation.decisions
    ]


def _what_if(report: RoundReport) -> dict[str, Any] | None:
    """The what-if section's values (names where known, ids otherwise)."""
    w = report.what_if
    if w is None:
        return None
    d = w.diff
    programs = report.programs
    apps = report.applications

    def program(pid: str) -> str:
        return programs[pid].name if pid in programs else pid

    def startup(aid: str) -> str:
        return apps[aid].startup_name if aid in apps else aid

    return {
        "changes": [
            (program(p), "—" if p not in w.seats else format_number(w.seats[p]),
             "—" if p not in w.budget else format_rial(w.budget[p]))
            for p in sorted(set(w.seats) | set(w.budget))
        ],
        "n_gained": format_number(len(d.residency_gained)),
        "n_lost": format_number(len(d.residency_lost)),
        "n_funding": format_number(len(d.funding_changes)),
        "baseline_stale": w.baseline_stale,
        "residency_rows": [
            (startup(x["application_id"]), program(x["program_id"]), "تازه")
            for x in d.residency_gained
        ] + [
            (startup(x["application_id"]), program(x["program_id"]), "از دست رفته")
            for x in d.residency_lost
        ],
        "funding_rows": [
            (startup(x["application_id"]), program(x["program_id"]), format_rial(x["before"]),
             format_rial(x["after"]))
            for x in d.funding_changes
        ],
    }


def _technical(report: RoundReport) -> dict[str, Any]:
    """Details for whoever maintains the service (folded away, not printed)."""
    alloc = report.allocation
    gap = None
    if alloc is not None:
        gap = format_percent(alloc.gap, 2) if math.isfinite(alloc.gap) else "نامعلوم"
    return {
        "model_version": report.scores.model_version,
        "embedding_model": report.embedding_model,
        "status_fa": alloc.status_fa if alloc is not None else None,
        "gap": gap,
        "notes": list(report.notes),
    }
