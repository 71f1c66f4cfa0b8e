"""The "present" stage of a round: the files the intake committee reads.

`write_round_reports(out_dir, report)` writes, from one `RoundReport`:

- `scores.csv`: every (application, program) pair: application_id, program_id, score,
  p_residency, p_funding, expected_funding, eligible, rank_for_application, rank_for_program
  (ranks are 1-based, eligible pairs first, then by score);
- `shortlists.csv`: each program's best `top` eligible applications (Persian headers, names
  first, ids last);
- `top_programs.csv`: each application's best `top` eligible programs (likewise);
- `allocation.csv` (with an allocation): application_id, program_id, residency,
  funding_amount, pinned;
- `what_if.json`, `what_if_allocation.csv` (with a what-if);
- `summary.json`: per-program capacity and use, totals, the solver's status, optimality and
  gap, the model version, and fairness / sanity figures (unfilled seats, unused budget,
  share of placed applicants placed at one of their top-1 / top-3 programs, placements per
  province);
- `report.xlsx`: the same for people, in Persian, right-to-left sheets, Jalali dates,
  amounts with thousands separators;
- `report.html`: one self-contained Persian page (dir="rtl") with embedded charts, for a
  committee: names rather than ids, technical details (model version, solver gap) folded
  away, a print stylesheet for A4.

CSV files are UTF-8 with a byte-order mark, so spreadsheet programs show Persian correctly.
Charts are SVG images whose text stays text (`svg.fonttype: none`): the browser shapes the
Persian labels, axes and legends (matplotlib alone cannot join Persian letters), with
Persian digits on the axes.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.constants import KIND_LABELS_FA
from recommender.errors import InvalidInputError
from recommender.text.persian import format_jalali, format_number, format_percent, format_rial
from recommender.text.safe_text import spreadsheet_cell

if TYPE_CHECKING:
    from recommender.allocation.capacity import Capacity, WhatIf
    from recommender.allocation.solver import AllocationResult
    from recommender.schemas import Application, IntakeRound, Program
    from recommender.scoring.round_scores import RoundScores

__all__ = [
    "ALLOCATION_COLUMNS",
    "SCORE_COLUMNS",
    "RoundReport",
    "build_summary",
    "ensure_writable",
    "write_round_reports",
]

SCORE_COLUMNS = [
    "application_id",
    "program_id",
    "score",
    "p_residency",
    "p_funding",
    "expected_funding",
    "eligible",
    "rank_for_application",
    "rank_for_program",
]
ALLOCATION_COLUMNS = ["application_id", "program_id", "residency", "funding_amount", "pinned"]
SHORTLIST_COLUMNS_FA = ["برنامه", "ردیف", "استارتاپ", "امتیاز", "شناسهٔ برنامه",
                        "شناسهٔ درخواست"]
TOP_PROGRAM_COLUMNS_FA = ["استارتاپ", "ردیف", "برنامه", "امتیاز", "شانس پذیرش در اقامت",
                          "شانس جذب سرمایه", "شناسهٔ درخواست", "شناسهٔ برنامه"]
UNKNOWN_PROVINCE = "نامشخص"
_SOURCE_FA = {"round": "تعیین‌شده در دوره", "program": "ظرفیت خود برنامه"}
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class RoundReport:
    """Everything the committee files are made from.

    Attributes:
        intake: the round.
        programs: the round's programs by id.
        applications: the round's applications by id.
        scores: every score of the round.
        capacity: each program's seats/budget in this round (round order).
        scoring: `ScoringRun.to_dict()` (counts, timings, run status).
        allocation: the allocation, if one was made.
        what_if: a what-if re-solve, if one was asked for.
        top: shortlist / top-list length.
        embedding_model: the embedding model id.
        generated_at: when the report was made.
        notes: remarks to show (English, for operators).
    """

    intake: IntakeRound
    programs: Mapping[str, Program]
    applications: Mapping[str, Application]
    scores: RoundScores
    capacity: Sequence[Capacity]
    scoring: Mapping[str, Any] = field(default_factory=dict)
    allocation: AllocationResult | None = None
    what_if: WhatIf | None = None
    top: int = 10
    embedding_model: str = ""
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- files


def ensure_writable(out_dir: str | Path) -> Path:
    """Create `out_dir` if needed and check that files can be written there.

    Raises:
        InvalidInputError: one line saying why the folder cannot be used.
    """
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"cannot write the reports to {path}: it is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-", delete=True):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(f"cannot write the reports to {path}: {reason}") from exc
    return path


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename (no half files)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            # Ids and names come from imports and applicants: never let a cell be a formula.
            writer.writerows([spreadsheet_cell(v) for v in row] for row in rows)

    return _atomic(path, write)


def _num(value: float | None, digits: int = 6) -> float | str:
    if value is None or not math.isfinite(value):
        return ""
    return round(float(value), digits)


def _score_rows(scores: RoundScores) -> Iterator[tuple[Any, ...]]:
    rank_a = scores.ranks_for_application()
    rank_p = scores.ranks_for_program()
    score = np.round(scores.score, 6).tolist()
    p_res = None if scores.p_residency is None else np.round(scores.p_residency, 6).tolist()
    p_fund = None if scores.p_funding is None else np.round(scores.p_funding, 6).tolist()
    expected = (
        None if scores.expected_funding is None
        else np.round(scores.expected_funding).astype(np.int64).tolist()
    )
    eligible = scores.eligible.tolist()
    rank_a, rank_p = rank_a.tolist(), rank_p.tolist()
    for i, app_id in enumerate(scores.application_ids):
        for j, pid in enumerate(scores.program_ids):
            yield (
                app_id,
                pid,
                score[i][j],
                "" if p_res is None else p_res[i][j],
                "" if p_fund is None else p_fund[i][j],
                "" if expected is None else expected[i][j],
                "true" if eligible[i][j] else "false",
                rank_a[i][j],
                rank_p[i][j],
            )


def write_scores_csv(path: Path, scores: RoundScores) -> Path:
    """Every pair of the round (see the module docstring for the columns), streamed."""
    return _write_csv(path, SCORE_COLUMNS, _score_rows(scores))


def _shortlist_rows(report: RoundReport) -> list[tuple[Any, ...]]:
    s = report.scores
    rows = []
    for j, members in enumerate(s.shortlist(report.top)):
        for position, i in enumerate(members, start=1):
            rows.append((s.program_ids[j], position, s.application_ids[i], round(s.score[i, j], 6)))
    return rows


def _top_rows(report: RoundReport) -> list[tuple[Any, ...]]:
    s = report.scores
    rows = []
    for i, members in enumerate(s.top_for_application(report.top)):
        for position, j in enumerate(members, start=1):
            rows.append(
                (
                    s.application_ids[i],
                    position,
                    s.program_ids[j],
                    round(s.score[i, j], 6),
                    "" if s.p_residency is None else round(s.p_residency[i, j], 6),
                    "" if s.p_funding is None else round(s.p_funding[i, j], 6),
                )
            )
    return rows


def write_allocation_csv(path: Path, result: AllocationResult) -> Path:
    rows = [
        (
            d.application_id,
            d.program_id,
            "true" if d.residency else "false",
            d.funding_amount,
            "true" if d.pinned else "false",
        )
        for d in result.decisions
    ]
    return _write_csv(path, ALLOCATION_COLUMNS, rows)


def _json(path: Path, data: Any) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    return _atomic(path, write)


# --------------------------------------------------------------------------- summary


def _province(app: Application) -> str:
    return app.province.strip() or UNKNOWN_PROVINCE


def _placements(report: RoundReport) -> dict[str, dict[str, Any]]:
    """application id -> {"programs": set, "residency": program or None, "funding": int}."""
    out: dict[str, dict[str, Any]] = {}
    if report.allocation is None:
        return out
    for d in report.allocation.decisions:
        entry = out.setdefault(d.application_id, {"programs": set(), "residency": None,
                                                  "funding": 0})
        entry["programs"].add(d.program_id)
        if d.residency:
            entry["residency"] = d.program_id
        entry["funding"] += d.funding_amount
    return out


def _choice_counts(report: RoundReport) -> dict[str, int]:
    """Placed applicants by the best rank (among eligible programs, by score) they got."""
    s = report.scores
    ranks = s.ranks_for_application()
    a_index = {a: i for i, a in enumerate(s.application_ids)}
    p_index = {p: j for j, p in enumerate(s.program_ids)}
    counts = {"top1": 0, "top3": 0, "other": 0, "not_placed": 0}
    placed = _placements(report)
    for app_id in s.application_ids:
        entry = placed.get(app_id)
        if entry is None:
            counts["not_placed"] += 1
            continue
        best = min(int(ranks[a_index[app_id], p_index[p]]) for p in entry["programs"])
        if best == 1:
            counts["top1"] += 1
            counts["top3"] += 1
        elif best <= 3:
            counts["top3"] += 1
        else:
            counts["other"] += 1
    return counts


def build_summary(report: RoundReport) -> dict[str, Any]:
    """The content of summary.json (see the module docstring)."""
    s = report.scores
    alloc = report.allocation
    usage = {u.program_id: u for u in alloc.programs} if alloc is not None else {}
    eligible_counts = s.eligible.sum(axis=0)
    programs: list[dict[str, Any]] = []
    for j, cap in enumerate(report.capacity):
        program = report.programs[cap.program_id]
        used = usage.get(cap.program_id)
        seats = used.seats if used is not None else cap.seats
        budget = used.budget if used is not None else cap.budget
        programs.append(
            {
                "program_id": cap.program_id,
                "name": program.name,
                "kind": program.kind,
                "province": program.province,
                "seats": seats,
                "seats_used": used.seats_used if used is not None else None,
                "unfilled_seats": used.unfilled_seats if used is not None else None,
                "budget": budget,
                "budget_used": used.budget_used if used is not None else None,
                "unused_budget": used.unused_budget if used is not None else None,
                "grant_min": cap.grant_min,
                "grant_max": cap.grant_max,
                "seats_source": cap.seats_source,
                "budget_source": cap.budget_source,
                "n_eligible_applications": int(eligible_counts[j]),
            }
        )
    n_app = len(s.application_ids)
    placed = _placements(report)
    apps = report.applications
    applicants_by_province = Counter(_province(apps[a]) for a in s.application_ids)
    placed_by_province = Counter(_province(apps[a]) for a in placed)
    residency_by_province = Counter(
        _province(apps[a]) for a, e in placed.items() if e["residency"] is not None
    )
    choice = _choice_counts(report) if alloc is not None else None
    n_placed = len(placed)
    totals: dict[str, Any] = {
        "n_applications": n_app,
        "n_programs": len(s.program_ids),
        "seats": sum(int(p["seats"]) for p in programs),
        "budget": sum(int(p["budget"]) for p in programs),
    }
    if alloc is not None:
        totals.update(
            {
                "seats_used": int(sum(u.seats_used for u in alloc.programs)),
                "budget_used": int(sum(u.budget_used for u in alloc.programs)),
                "unfilled_seats": alloc.unfilled_seats,
                "unused_budget": alloc.unused_budget,
                "n_placed": n_placed,
                "n_residencies": sum(1 for e in placed.values() if e["residency"] is not None),
                "n_funded": sum(1 for e in placed.values() if e["funding"] > 0),
            }
        )
    eligible_scores = s.score[s.eligible]
    best = np.where(s.eligible, s.score, -np.inf).max(axis=1) if s.score.size else np.zeros(0)
    best = best[np.isfinite(best)]
    summary: dict[str, Any] = {
        "round": {
            "id": report.intake.id,
            "name": report.intake.name,
            "opens_on": report.intake.opens_on.isoformat(),
            "closes_on": report.intake.closes_on.isoformat(),
            "opens_on_jalali": format_jalali(report.intake.opens_on),
            "closes_on_jalali": format_jalali(report.intake.closes_on),
        },
        "generated_at": report.generated_at.isoformat(),
        "generated_at_jalali": format_jalali(report.generated_at),
        "model_version": s.model_version,
        "embedding_model": report.embedding_model,
        "data_fingerprint": s.fingerprint,
        "scoring": dict(report.scoring),
        "scores": {
            "n_pairs": int(s.score.size),
            "n_eligible_pairs": int(s.eligible.sum()),
            "n_applications_without_eligible_program": int((~s.eligible.any(axis=1)).sum()),
            "mean_eligible_score": _num(float(eligible_scores.mean()))
            if eligible_scores.size
            else None,
            "mean_best_score": _num(float(best.mean())) if best.size else None,
        },
        "solver_status": alloc.status_code if alloc is not None else None,
        "solver_status_fa": alloc.status_fa if alloc is not None else None,
        "optimal": alloc.optimal if alloc is not None else None,
        "gap": (alloc.gap if math.isfinite(alloc.gap) else None) if alloc is not None else None,
        "objective": alloc.objective if alloc is not None else None,
        "allocation": None,
        "programs": programs,
        "totals": totals,
        "fairness": {
            "unfilled_seats": alloc.unfilled_seats if alloc is not None else None,
            "unused_budget": alloc.unused_budget if alloc is not None else None,
            "n_placed": n_placed if alloc is not None else None,
            "top1_share": choice["top1"] / n_placed if choice and n_placed else None,
            "top3_share": choice["top3"] / n_placed if choice and n_placed else None,
            "choice_counts": choice,
            "applicants_by_province": dict(sorted(applicants_by_province.items())),
            "placements_by_province": dict(sorted(placed_by_province.items())),
            "residency_by_province": dict(sorted(residency_by_province.items())),
        },
        "notes": list(report.notes),
    }
    if alloc is not None:
        summary["allocation"] = {
            "status": alloc.status,
            "bound": alloc.bound if math.isfinite(alloc.bound) else None,
            "solve_seconds": round(alloc.solve_seconds, 3),
            "n_candidate_pairs": alloc.n_candidate_pairs,
            "n_decisions": len(alloc.decisions),
            "n_pinned": sum(1 for d in alloc.decisions if d.pinned),
            "config": alloc.config,
        }
    if report.what_if is not None:
        w = report.what_if
        summary["what_if"] = {
            "seat_changes": w.seats,
            "budget_changes": w.budget,
            "baseline_stale": w.baseline_stale,
            "objective_before": w.diff.objective_before,
            "objective_after": w.diff.objective_after,
            "optimal": w.result.optimal,
            "residency_gained": len(w.diff.residency_gained),
            "residency_lost": len(w.diff.residency_lost),
            "funding_changes": len(w.diff.funding_changes),
        }
    return summary


# --------------------------------------------------------------------------- plots


_CHART_FONTS = ["Vazirmatn", "Tahoma", "Segoe UI", "DejaVu Sans"]
_CHART_RC = {
    "svg.fonttype": "none",  # text stays text: the browser shapes Persian
    "svg.hashsalt": "peyvand",  # stable ids: the same report gives the same file
    "font.family": _CHART_FONTS,
    "axes.unicode_minus": False,
}


def _chart(plot: Callable[..., Any]) -> Callable[..., str]:
    """`plot(...)` (which returns a figure) run under the chart settings, as a base64 SVG
    (for an `<img src="data:image/svg+xml;base64,…">`)."""
    import functools

    @functools.wraps(plot)
    def draw(*args: Any, **kwargs: Any) -> str:
        import logging

        import matplotlib
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        quiet = logging.getLogger("matplotlib.font_manager")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the Persian fonts are the reader's, not this machine's
        buffer = io.BytesIO()
        try:
            with matplotlib.rc_context(_CHART_RC):
                fig = plot(*args, **kwargs)
                FigureCanvasSVG(fig)
                fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            quiet.setLevel(level)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    return draw


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _persian_ticks(axis: Any, decimals: int = 0) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v, decimals)))


def _short(name: str, limit: int = 34) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _chart_img(data: str, alt: str) -> str:
    return f"<img alt='{_e(alt)}' src='data:image/svg+xml;base64,{data}'>"


@_chart
def _use_plot(names: Sequence[str], total: Sequence[float], used: Sequence[float] | None,
              unit: str, integer: bool = False) -> Any:
    n = len(names)
    fig = _figure(7.5, max(2.5, 0.26 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.barh(y, total, color="#d9d9d9", label="ظرفیت")
    if used is not None:
        ax.barh(y, used, color="#2b7bba", height=0.5, label="تخصیص‌یافته")
    ax.set_yticks(y, labels=[_short(x) for x in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _persian_ticks(ax.xaxis, 0 if integer else 1)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


@_chart
def _score_plot(scores: RoundScores) -> Any:
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    eligible = scores.score[scores.eligible]
    best = np.where(scores.eligible, scores.score, -np.inf).max(axis=1)
    best = best[np.isfinite(best)]
    bins = np.linspace(0.0, 1.0, 41) if eligible.size and eligible.max() <= 1 else 40
    if eligible.size:
        ax.hist(eligible, bins=bins, color="#9ecae1", label="همهٔ جفت‌های واجد شرایط",
                density=True)
    if best.size:
        ax.hist(best, bins=bins, histtype="step", linewidth=2, color="#08519c",
                label="بهترین امتیاز هر متقاضی", density=True)
    ax.set_xlabel("امتیاز تناسب")
    ax.set_ylabel("فراوانی نسبی")
    _persian_ticks(ax.xaxis, 2)
    _persian_ticks(ax.yaxis, 1)
    ax.legend(fontsize=8)
    return fig


@_chart
def _count_plot(labels: Sequence[str], values: Sequence[float],
                values2: Sequence[float] | None = None) -> Any:
    n = len(labels)
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.4 if values2 is not None else 0.7
    ax.bar(x - (width / 2 if values2 is not None else 0), values, width, color="#6baed6",
           label="متقاضیان")
    if values2 is not None:
        ax.bar(x + width / 2, values2, width, color="#08519c", label="جای‌گرفته‌ها")
        ax.legend(fontsize=8)
    ax.set_xticks(x, labels=[_short(x, 18) for x in labels], fontsize=8,
                  rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_ylabel("شمار")
    _persian_ticks(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    return fig


# --------------------------------------------------------------------------- html


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("بله" if value else "خیر")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] | None = None
           ) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_e(v)}</td>' if k in numeric else f"<td>{_e(v)}</td>"
            for k, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _score_fa(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return format_number(value, 3)


_CSS = """
@font-face{font-family:Vazirmatn;font-weight:400;font-display:swap;
src:local("Vazirmatn"),url("/static/fonts/Vazirmatn-Regular.woff2") format("woff2")}
@font-face{font-family:Vazirmatn;font-weight:700;font-display:swap;
src:local("Vazirmatn Bold"),url("/static/fonts/Vazirmatn-Bold.woff2") format("woff2")}
body{font-family:Vazirmatn,Tahoma,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;
line-height:1.8;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.8rem 0}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}
th{background:#f3f6fa}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ddd;border-radius:8px;
padding:.6rem 1rem;min-width:10rem}.card b{display:block;font-size:1.3rem}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9rem}.note{background:#fff8e1;padding:.5rem 1rem;
border-radius:6px}.ltr{direction:ltr;unicode-bidi:isolate}
details.tech{margin:1.5rem 0;color:#555}details.tech summary{cursor:pointer}
@page{size:A4;margin:14mm 12mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:10.5pt;color:#000}
h2{break-after:avoid}figure,.card,tr{break-inside:avoid}thead{display:table-header-group}
figure img{max-height:120mm;border:none}details.tech{display:none}
a{color:inherit;text-decoration:none}}
"""


def render_html(report: RoundReport, summary: Mapping[str, Any]) -> str:
    """The Persian report page for the committee (self-contained: styles and charts
    embedded; the Vazirmatn font from the service when it serves the page)."""
    s = report.scores
    alloc = report.allocation
    rnd = summary["round"]
    parts: list[str] = []
    add = parts.append
    add(f"<h1>گزارش امتیازدهی و تخصیص دورهٔ «{_e(rnd['name'])}»</h1>")
    add(
        f"<p>بازهٔ دوره: {_e(rnd['opens_on_jalali'])} تا {_e(rnd['closes_on_jalali'])} — "
        f"تاریخ تهیه: {_e(format_jalali(report.generated_at, long=True))}</p>"
    )
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
    add("<div class='cards'>" + "".join(
        f"<div class='card'>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>")
    if alloc is not None:
        add("<p>" + ("این تخصیص بهترین تخصیص ممکن با این امتیازها و ظرفیت‌هاست."
                     if alloc.optimal else
                     "این تخصیص در زمان داده‌شده پیدا شد و ممکن است بهترین تخصیص ممکن نباشد.")
            + "</p>")
    else:
        add("<p class='note'>تخصیص انجام نشده است؛ برای تخصیص صندلی‌ها و بودجه، امتیازدهی "
            "دوره را با گزینهٔ «تخصیص» اجرا کنید.</p>")

    # charts
    add("<h2>نمودارها</h2>")
    usage = {p["program_id"]: p for p in summary["programs"]}
    seat_ids = [c.program_id for c in report.capacity if usage[c.program_id]["seats"] > 0]
    seat_names = [usage[p]["name"] for p in seat_ids]
    if seat_ids:
        used = ([usage[p]["seats_used"] or 0 for p in seat_ids] if alloc is not None else None)
        img = _use_plot(seat_names, [usage[p]["seats"] for p in seat_ids], used, "صندلی",
                        integer=True)
        add(f"<figure>{_chart_img(img, 'ظرفیت و صندلی‌های تخصیص‌یافتهٔ هر برنامه')}"
            "<figcaption>ظرفیت استقرار هر برنامه (خاکستری) و صندلی‌های تخصیص‌یافته (آبی)"
            "</figcaption></figure>")
    budget_ids = [c.program_id for c in report.capacity if usage[c.program_id]["budget"] > 0]
    if budget_ids:
        scale = 1e9
        used = ([(usage[p]["budget_used"] or 0) / scale for p in budget_ids]
                if alloc is not None else None)
        img = _use_plot([usage[p]["name"] for p in budget_ids],
                        [usage[p]["budget"] / scale for p in budget_ids], used, "میلیارد ریال")
        add(f"<figure>{_chart_img(img, 'بودجه و مبلغ تخصیص‌یافتهٔ هر برنامه')}"
            "<figcaption>بودجهٔ هر برنامه و مبلغ تخصیص‌یافته (میلیارد ریال)</figcaption></figure>")
    img = _score_plot(s)
    add(f"<figure>{_chart_img(img, 'توزیع امتیاز تناسب')}"
        "<figcaption>توزیع امتیاز تناسب: همهٔ جفت‌های واجد شرایط (ستون‌ها) و بهترین امتیاز هر "
        "متقاضی (خط)</figcaption></figure>")
    fair = summary["fairness"]
    provinces = list(fair["applicants_by_province"])
    if provinces:
        placed = [fair["placements_by_province"].get(p, 0) for p in provinces]
        img = _count_plot(
            provinces,
            [fair["applicants_by_province"][p] for p in provinces],
            placed if alloc is not None else None,
        )
        add(f"<figure>{_chart_img(img, 'متقاضیان هر استان')}"
            "<figcaption>متقاضیان هر استان"
            + (" و جای‌گرفته‌ها" if alloc is not None else "")
            + "</figcaption></figure>")
        rows: list[tuple[Any, ...]] = [
            (p, format_number(fair["applicants_by_province"][p]),
             format_number(fair["placements_by_province"].get(p, 0)),
             format_number(fair["residency_by_province"].get(p, 0)))
            for p in provinces
        ]
        add(_table(["استان", "متقاضیان", "جای‌گرفته‌ها", "استقرار"], rows, {1, 2, 3}))
    if fair["choice_counts"] is not None:
        c = fair["choice_counts"]
        img = _count_plot(["گزینهٔ نخست", "گزینهٔ دوم یا سوم", "گزینه‌ای دیگر", "جای نگرفته"],
                          [c["top1"], c["top3"] - c["top1"], c["other"], c["not_placed"]])
        add(f"<figure>{_chart_img(img, 'جای‌گیری متقاضیان نسبت به گزینه‌های برترشان')}"
            "<figcaption>متقاضیانی که در گزینهٔ نخست خود، در گزینهٔ دوم یا سوم، در "
            "گزینه‌ای دیگر جای گرفتند یا جای نگرفتند</figcaption></figure>")

    # programs
    add("<h2>ظرفیت و مصرف برنامه‌ها</h2>")
    rows = []
    for p in summary["programs"]:
        rows.append((
            p["name"], format_number(p["seats"]),
            "—" if p["seats_used"] is None else format_number(p["seats_used"]),
            format_rial(p["budget"]),
            "—" if p["budget_used"] is None else format_rial(p["budget_used"]),
            _SOURCE_FA[p["budget_source"]], format_number(p["n_eligible_applications"]),
        ))
    add(_table(["برنامه", "ظرفیت", "صندلی‌های پرشده", "بودجه",
                "بودجهٔ تخصیص‌یافته", "منبع بودجه", "متقاضیان واجد شرایط"], rows,
               {1, 2, 3, 4, 6}))

    if report.what_if is not None:
        add(_what_if_html(report))

    if alloc is not None:
        add("<h2>تخصیص</h2>")
        apps = report.applications
        names = report.programs
        rows = [
            (apps[d.application_id].startup_name,
             _province(apps[d.application_id]), names[d.program_id].name,
             _yes_no(d.residency), format_rial(d.funding_amount) if d.funding_amount else "—",
             _score_fa(d.score), "بله" if d.pinned else "")
            for d in alloc.decisions
        ]
        add(_table(["استارتاپ", "استان", "برنامه", "استقرار", "تأمین مالی",
                    "امتیاز", "تثبیت‌شده"], rows, {4, 5}))

    add(f"<h2>فهرست کوتاه هر برنامه ({_e(format_number(report.top))} متقاضی نخست)</h2>")
    rows = [
        (report.programs[pid].name, format_number(pos),
         report.applications[aid].startup_name, _score_fa(score))
        for pid, pos, aid, score in _shortlist_rows(report)
    ]
    add(_table(["برنامه", "ردیف", "استارتاپ", "امتیاز"], rows, {1, 3}))
    add(_technical_html(report, summary))
    body = "\n".join(parts)
    return (
        "<!doctype html>\n<html lang='fa' dir='rtl'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>گزارش دورهٔ {_e(rnd['name'])}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _technical_html(report: RoundReport, summary: Mapping[str, Any]) -> str:
    """Details for whoever maintains the service, folded away (and not printed)."""
    alloc = report.allocation
    rnd = summary["round"]
    items = [
        f"شناسهٔ دوره: <span class='ltr'>{_e(rnd['id'])}</span>",
        f"نسخهٔ مدل: <span class='ltr'>{_e(report.scores.model_version)}</span>",
    ]
    if report.embedding_model:
        items.append(f"مدل بردارسازی: <span class='ltr'>{_e(report.embedding_model)}</span>")
    if alloc is not None:
        items.append(f"وضعیت حل: {_e(alloc.status_fa)}")
        items.append("شکاف بهینگی: " + _e(
            format_percent(alloc.gap, 2) if math.isfinite(alloc.gap) else "نامعلوم"))
    items += [f"<span class='ltr'>{_e(note)}</span>" for note in report.notes]
    return ("<details class='tech'><summary>جزئیات فنی</summary><ul>"
            + "".join(f"<li>{item}</li>" for item in items) + "</ul></details>")


def _what_if_html(report: RoundReport) -> str:
    w = report.what_if
    assert w is not None
    d = w.diff
    programs = report.programs
    apps = report.applications

    def program(pid: str) -> str:
        return programs[pid].name if pid in programs else pid

    def startup(aid: str) -> str:
        return apps[aid].startup_name if aid in apps else aid

    parts = ["<h2>چه می‌شد اگر: تغییر ظرفیت‌ها</h2>"]
    changes = [
        (program(p), "—" if p not in w.seats else format_number(w.seats[p]),
         "—" if p not in w.budget else format_rial(w.budget[p]))
        for p in sorted(set(w.seats) | set(w.budget))
    ]
    parts.append(_table(["برنامه", "ظرفیت تازه", "بودجهٔ تازه"], changes, {1, 2}))
    parts.append(
        f"<p>{_e(format_number(len(d.residency_gained)))} استقرار تازه، "
        f"{_e(format_number(len(d.residency_lost)))} استقرار از دست‌رفته، "
        f"{_e(format_number(len(d.funding_changes)))} تغییر در تأمین مالی.</p>"
    )
    if w.baseline_stale:
        parts.append("<p class='note'>تخصیص ذخیره‌شده با مدل یا داده‌های دیگری ساخته شده است.</p>")
    rows: list[tuple[Any, ...]] = [
        (startup(x["application_id"]), program(x["program_id"]), "تازه")
        for x in d.residency_gained
    ] + [
        (startup(x["application_id"]), program(x["program_id"]), "از دست رفته")
        for x in d.residency_lost
    ]
    if rows:
        parts.append(_table(["استارتاپ", "برنامه", "استقرار"], rows))
    rows = [
        (startup(x["application_id"]), program(x["program_id"]), format_rial(x["before"]),
         format_rial(x["after"]))
        for x in d.funding_changes
    ]
    if rows:
        parts.append(_table(["استارتاپ", "برنامه", "پیش از تغییر", "پس از تغییر"], rows,
                            {2, 3}))
    return "\n".join(parts)


# --------------------------------------------------------------------------- xlsx

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


def write_xlsx(path: Path, report: RoundReport, summary: Mapping[str, Any]) -> Path:
    """report.xlsx: Persian headers, right-to-left sheets, Jalali dates, money as `#,##0`."""
    from openpyxl import Workbook

    s = report.scores
    alloc = report.allocation
    wb = Workbook(write_only=True)
    fair = summary["fairness"]
    totals = summary["totals"]
    rnd = summary["round"]
    info: list[tuple[str, Any, str | None]] = [
        ("نام دوره", rnd["name"], None),
        ("شناسهٔ دوره", rnd["id"], None),
        ("تاریخ شروع", rnd["opens_on_jalali"], None),
        ("تاریخ پایان", rnd["closes_on_jalali"], None),
        ("تاریخ تهیهٔ گزارش", summary["generated_at_jalali"], None),
        ("نسخهٔ مدل", s.model_version, None),
        ("تعداد درخواست‌ها", totals["n_applications"], _MONEY),
        ("تعداد برنامه‌ها", totals["n_programs"], _MONEY),
        ("ظرفیت استقرار کل", totals["seats"], _MONEY),
        ("بودجهٔ کل (ریال)", totals["budget"], _MONEY),
    ]
    if alloc is not None:
        info += [
            ("وضعیت حل", alloc.status_fa, None),
            ("بهینه", _yes_no(alloc.optimal), None),
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

    rows: list[tuple[Any, ...]] = [
        (p["program_id"], p["name"], KIND_LABELS_FA.get(p["kind"], p["kind"]), p["province"],
         p["seats"], p["seats_used"], p["unfilled_seats"], p["budget"], p["budget_used"],
         p["unused_budget"], p["grant_min"], p["grant_max"], _SOURCE_FA[p["budget_source"]],
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
    if alloc is not None:
        apps, progs = report.applications, report.programs
        ranks = s.ranks_for_application()
        a_index = {a: i for i, a in enumerate(s.application_ids)}
        p_index = {p: j for j, p in enumerate(s.program_ids)}
        rows = [
            (d.application_id, apps[d.application_id].startup_name,
             _province(apps[d.application_id]), d.program_id, progs[d.program_id].name,
             _yes_no(d.residency), d.funding_amount, d.score,
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
    rows = [
        (pid, report.programs[pid].name, pos, aid, report.applications[aid].startup_name, score)
        for pid, pos, aid, score in _shortlist_rows(report)
    ]
    _sheet(wb, "فهرست کوتاه برنامه‌ها",
           ["شناسهٔ برنامه", "نام برنامه", "ردیف", "شناسهٔ درخواست", "نام استارتاپ", "امتیاز تناسب"],
           rows, {2: "0", 5: _SCORE}, {1: 30, 4: 28})
    rows = [
        (aid, report.applications[aid].startup_name, pos, pid, report.programs[pid].name, score,
         p_res, p_fund)
        for aid, pos, pid, score, p_res, p_fund in _top_rows(report)
    ]
    _sheet(wb, "برترین برنامه‌های هر متقاضی",
           ["شناسهٔ درخواست", "نام استارتاپ", "ردیف", "شناسهٔ برنامه", "نام برنامه", "امتیاز تناسب",
            "احتمال استقرار", "احتمال تأمین مالی"],
           rows, {2: "0", 5: _SCORE, 6: _PERCENT, 7: _PERCENT}, {1: 28, 4: 30})
    provinces = list(fair["applicants_by_province"])
    rows = [
        (p, fair["applicants_by_province"][p], fair["placements_by_province"].get(p, 0),
         fair["residency_by_province"].get(p, 0))
        for p in provinces
    ]
    _sheet(wb, "استان‌ها", ["استان", "متقاضیان", "جای‌گرفته‌ها", "استقرار"], rows,
           {1: _MONEY, 2: _MONEY, 3: _MONEY})
    if report.what_if is not None:
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
    return _atomic(path, lambda tmp: wb.save(tmp))


# --------------------------------------------------------------------------- all files


def write_round_reports(out_dir: str | Path, report: RoundReport) -> dict[str, Path]:
    """Write every committee file of the round into `out_dir` (see the module docstring).

    Returns:
        name -> path of each file written.

    Raises:
        InvalidInputError: the folder cannot be written.
    """
    out = ensure_writable(out_dir)
    summary = build_summary(report)
    files: dict[str, Path] = {}
    files["scores"] = write_scores_csv(out / "scores.csv", report.scores)
    # The two lists people read: Persian headers and names first (ids last, to trace a row).
    # scores.csv and allocation.csv keep their English column names: they are the machine
    # files, and allocation.csv rows become pins/vetoes files (application_id, program_id).
    programs, apps = report.programs, report.applications
    files["shortlists"] = _write_csv(
        out / "shortlists.csv", SHORTLIST_COLUMNS_FA,
        ((programs[pid].name, pos, apps[aid].startup_name, score, pid, aid)
         for pid, pos, aid, score in _shortlist_rows(report)),
    )
    files["top_programs"] = _write_csv(
        out / "top_programs.csv", TOP_PROGRAM_COLUMNS_FA,
        ((apps[aid].startup_name, pos, programs[pid].name, score, p_res, p_fund, aid, pid)
         for aid, pos, pid, score, p_res, p_fund in _top_rows(report)),
    )
    if report.allocation is not None:
        files["allocation"] = write_allocation_csv(out / "allocation.csv", report.allocation)
    if report.what_if is not None:
        files["what_if"] = _json(out / "what_if.json", report.what_if.to_dict())
        files["what_if_allocation"] = write_allocation_csv(
            out / "what_if_allocation.csv", report.what_if.result
        )
    files["summary"] = _json(out / "summary.json", summary)
    files["xlsx"] = write_xlsx(out / "report.xlsx", report, summary)
    html_text = render_html(report, summary)

    def write_html(tmp: Path) -> None:
        tmp.write_text(html_text, encoding="utf-8")

    files["html"] = _atomic(out / "report.html", write_html)
    return files
