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

Each file has its own module (`tables`, `summary`, `xlsx`, `html_report` with `charts` and
``templates/``); this one writes them all. `RoundReport` (in `round_report`) and
`ensure_writable` (in `files`) are part of its interface.
"""

from __future__ import annotations

from pathlib import Path

from recommender.reports.files import ensure_writable, write_json, write_text
from recommender.reports.html_report import render_html
from recommender.reports.round_report import RoundReport
from recommender.reports.summary import build_summary
from recommender.reports.tables import (
    write_allocation_csv,
    write_scores_csv,
    write_shortlists_csv,
    write_top_programs_csv,
)
from recommender.reports.xlsx import write_xlsx

__all__ = [
    "RoundReport",
    "build_summary",
    "ensure_writable",
    "write_round_reports",
]


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
    files["shortlists"] = write_shortlists_csv(out / "shortlists.csv", report)
    files["top_programs"] = write_top_programs_csv(out / "top_programs.csv", report)
    if report.allocation is not None:
        files["allocation"] = write_allocation_csv(out / "allocation.csv", report.allocation)
    if report.what_if is not None:
        files["what_if"] = write_json(out / "what_if.json", report.what_if.to_dict())
        files["what_if_allocation"] = write_allocation_csv(
            out / "what_if_allocation.csv", report.what_if.result
        )
    files["summary"] = write_json(out / "summary.json", summary)
    files["xlsx"] = write_xlsx(out / "report.xlsx", report, summary)
    files["html"] = write_text(out / "report.html", render_html(report, summary))
    return files
