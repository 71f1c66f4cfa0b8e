"""The CSV files of a round: `scores.csv` and `allocation.csv` for machines (English
column names; allocation.csv rows become pins/vetoes files), `shortlists.csv` and
`top_programs.csv` for people (Persian headers, names first, ids last to trace a row)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from recommender.allocation.result import AllocationResult
from recommender.reports.files import write_csv
from recommender.reports.round_report import RoundReport, shortlist_rows, top_rows
from recommender.scoring.round_scores import RoundScores

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
    """Every pair of the round (`SCORE_COLUMNS`; ranks are 1-based, eligible pairs first,
    then by score), streamed."""
    return write_csv(path, SCORE_COLUMNS, _score_rows(scores))


def write_allocation_csv(path: Path, result: AllocationResult) -> Path:
    """One row per pair that receives something (`ALLOCATION_COLUMNS`)."""
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
    return write_csv(path, ALLOCATION_COLUMNS, rows)


def write_shortlists_csv(path: Path, report: RoundReport) -> Path:
    """Each program's best `report.top` eligible applications (`SHORTLIST_COLUMNS_FA`)."""
    programs, apps = report.programs, report.applications
    return write_csv(
        path, SHORTLIST_COLUMNS_FA,
        ((programs[pid].name, pos, apps[aid].startup_name, score, pid, aid)
         for pid, pos, aid, score in shortlist_rows(report)),
    )


def write_top_programs_csv(path: Path, report: RoundReport) -> Path:
    """Each application's best `report.top` eligible programs (`TOP_PROGRAM_COLUMNS_FA`)."""
    programs, apps = report.programs, report.applications
    return write_csv(
        path, TOP_PROGRAM_COLUMNS_FA,
        ((apps[aid].startup_name, pos, programs[pid].name, score, p_res, p_fund, aid, pid)
         for aid, pos, pid, score, p_res, p_fund in top_rows(report)),
    )
