"""`peyvand round score ROUND_ID`: score every application of an intake round against every
program of the round with the live model, optionally allocate seats and budgets, and write
the committee files (scores.csv, shortlists.csv, top_programs.csv, allocation.csv,
summary.json, report.xlsx, report.html) into `--out DIR` (default HOME/rounds/ROUND_ID).

Scores are kept in the store per application batch, so an interrupted run continues where
it stopped when started again, and a round already scored with the same model and data is
not scored twice (see `recommender.rounds.scoring`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..messages import persian
from .context import actor, open_store, state
from .say import n, say, seconds

if TYPE_CHECKING:
    from api.settings import Settings
    from recommender.rounds.run import RoundOutcome
    from recommender.rounds.scoring import ScoringModel
    from recommender.store.database import Store

round_app = typer.Typer(
    name="round",
    help="دوره‌های پذیرش: امتیازدهی به درخواست‌ها، تخصیص ظرفیت و بودجه، گزارش.",
    no_args_is_help=True,
)


def load_scoring_model(settings: Settings) -> ScoringModel:
    """The live model of the home (the recommender's embedder, index, features, ranker).

    Raises:
        ConfigurationError: the recommender cannot be loaded (no index, no model ...).
    """
    from api.services import load_recommender
    from recommender.rounds.scoring import ScoringModel

    return ScoringModel.from_recommender(load_recommender(settings))


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def _progress(round_id: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress callback: a rich bar with ETA on a terminal, else a line per ~10%."""
    if quiet:
        yield lambda done, total: None
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("scoring round [bold]{task.description}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("applications"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task(round_id, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    last = [-1]

    def lines(done: int, total: int) -> None:
        step = max(1, total // 10)
        if done == total or done // step != last[0]:
            last[0] = done // step
            say(f"{n(done)} از {n(total)} درخواست امتیاز گرفت", err=True)

    yield lines


def _money(value: int) -> str:
    return f"{n(value)} ریال"


def _print_what_if(w: Any) -> None:
    d = w.diff
    say(
        f"سناریو: مقدار هدف {n(d.objective_before, 4)} ← {n(d.objective_after, 4)}؛ "
        f"اقامت {n(len(d.residency_gained))} افزوده، {n(len(d.residency_lost))} کاسته؛ "
        f"{n(len(d.funding_changes))} تغییر در تأمین مالی"
    )
    for p in d.programs:
        say(
            f"  {p['program_id']}: ظرفیت {n(p['seats_before'])} ← {n(p['seats_after'])} "
            f"(پرشده {n(p['seats_used_before'])} ← {n(p['seats_used_after'])})، بودجه "
            f"{_money(p['budget_before'])} ← {_money(p['budget_after'])} (مصرف "
            f"{_money(p['budget_used_before'])} ← {_money(p['budget_used_after'])})"
        )
    changes = [
        *(f"  + اقامت {i['application_id']} در {i['program_id']}" for i in d.residency_gained),
        *(f"  - اقامت {i['application_id']} در {i['program_id']}" for i in d.residency_lost),
        *(
            f"  ~ تأمین مالی {i['application_id']} در {i['program_id']}: "
            f"{_money(i['before'])} ← {_money(i['after'])}"
            for i in d.funding_changes
        ),
    ]
    for line in changes[:10]:
        say(line)


def _print_outcome(outcome: RoundOutcome, out: Path, seconds_taken: float) -> None:
    scoring = outcome.scoring
    scores = scoring.scores
    n_app, n_prog = scores.shape
    say(
        f"دورهٔ {scores.round_id}: {n(n_app)} درخواست × {n(n_prog)} برنامه، مدل "
        f"{scores.model_version}؛ {n(scoring.n_scored)} امتیاز تازه، {n(scoring.n_reused)} "
        f"از پیش ({seconds(scoring.seconds)})"
    )
    alloc = outcome.allocation
    if alloc is not None:
        gap = "نامعلوم" if alloc.gap == float("inf") else f"{n(alloc.gap * 100, 4)}٪"
        say(
            f"تخصیص: {alloc.status_code} (بهینه: {'بله' if alloc.optimal else 'خیر'}، "
            f"فاصله تا بهینه {gap}، مقدار هدف {n(alloc.objective, 4)})؛ "
            f"{n(alloc.n_placed)} درخواست جای گرفت، {n(alloc.unfilled_seats)} جای خالی، "
            f"{_money(alloc.unused_budget)} بودجهٔ مصرف‌نشده"
        )
    if outcome.what_if is not None:
        _print_what_if(outcome.what_if)
    for note in outcome.notes:
        say(f"یادداشت: {persian(note)}", err=True)
    files = "، ".join(sorted(p.name for p in outcome.files.values()))
    say(f"پرونده‌ها در {out}: {files}")
    say(f"پایان در {seconds(seconds_taken)}")


@round_app.command("score")
def score_command(
    ctx: typer.Context,
    round_id: Annotated[str, typer.Argument(help="شناسهٔ دورهٔ پذیرش.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="پوشهٔ پرونده‌های کمیته (پیش‌فرض HOME/rounds/ID)."),
    ] = None,
    allocate: Annotated[
        bool, typer.Option("--allocate", help="تخصیص ظرفیت و بودجه (MILP).")
    ] = False,
    what_if: Annotated[
        str | None,
        typer.Option(
            "--what-if",
            help="حل دوباره با ظرفیت‌های دیگر و نمایش تفاوت با تخصیص ذخیره‌شده در --out؛ "
            "نمونه: 'P-12:seats=5,budget=2000000000;P-3:seats=0'.",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="طول فهرست کوتاه و فهرست برترها.")
    ] = 10,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="مهلت تخصیص، به ثانیه.")
    ] = 30.0,
    pins: Annotated[
        Path | None,
        typer.Option(
            "--pins",
            help="پروندهٔ JSON یا CSV از جفت‌های (application_id, program_id) که باید "
            "تخصیص یابند.",
        ),
    ] = None,
    vetoes: Annotated[
        Path | None,
        typer.Option(
            "--vetoes",
            help="پروندهٔ JSON یا CSV از جفت‌های (application_id, program_id) که نباید "
            "تخصیص یابند.",
        ),
    ] = None,
    province_min: Annotated[
        Path | None,
        typer.Option(
            "--province-min",
            help="پروندهٔ JSON یا CSV از کمینهٔ اقامت هر استان (province, program_id, min_seats).",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="شمار درخواست‌های هر دستهٔ ذخیره‌شده.")
    ] = 100,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="شمار فرایندهای یکدست‌سازی متن (پیش‌فرض: شمار پردازنده‌ها، حداکثر ۴).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="امتیازدهی دوباره، حتی اگر امتیازهای ذخیره‌شده به‌روزند.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="بی‌نمایش پیشرفت کار.")] = False,
) -> None:
    """امتیازدهی به همهٔ درخواست‌های یک دورهٔ پذیرش برای برنامه‌های آن و نوشتن گزارش‌ها."""
    from recommender.rounds.staff_files import (
        parse_what_if,
        read_pairs,
        read_province_minimums,
    )


    settings = state(ctx).settings
    started = time.perf_counter()
    folder = out if out is not None else settings.resolved_home / "rounds" / round_id
    # Everything that can be checked cheaply is checked before the model loads.
    if what_if is not None:
        parse_what_if(what_if)
    options: dict[str, Any] = {
        "top": top,
        "allocate": allocate,
        "what_if": what_if,
        "pins": read_pairs(pins, "pins") if pins is not None else None,
        "vetoes": read_pairs(vetoes, "vetoes") if vetoes is not None else None,
        "province_min_seats": (
            read_province_minimums(province_min) if province_min is not None else None
        ),
        "time_limit_s": time_limit,
        "batch_size": batch_size,
        "workers": workers or _default_workers(),
        "force": force,
    }
    store = open_store(settings)
    try:
        folder, outcome = _score_and_audit(store, settings, round_id, folder, options, quiet)
    finally:
        store.close()
    _print_outcome(outcome, folder, time.perf_counter() - started)


def _score_and_audit(
    store: Store,
    settings: Settings,
    round_id: str,
    folder: Path,
    options: dict[str, Any],
    quiet: bool,
) -> tuple[Path, RoundOutcome]:
    """Check the round and the folder, load the model, run the round with `options`
    (`run_round` keyword arguments), and audit it."""
    from recommender.reports.committee import ensure_writable
    from recommender.rounds.run import run_round
    from recommender.rounds.stored import round_inputs

    round_inputs(store, round_id)
    folder = ensure_writable(folder)
    model = load_scoring_model(settings)
    with _progress(round_id, quiet) as progress:
        outcome = run_round(store, round_id, model, folder, progress=progress, **options)
    detail: dict[str, Any] = {
        "model_version": outcome.scoring.scores.model_version,
        "n_scored": outcome.scoring.n_scored,
        "n_reused": outcome.scoring.n_reused,
        "allocate": options["allocate"],
        "what_if": options["what_if"],
    }
    store.audit(actor(), "score", "round", round_id, detail)
    return folder, outcome


def register(app: typer.Typer) -> None:
    """Add the `round` command group to the root app."""
    app.add_typer(round_app, name="round")
