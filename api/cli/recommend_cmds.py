"""CLI command: `peyvand recommend (--text-file F | --application ID) [--top N] [--json]
[filters]`.

`--json` prints a JSON list, best first, each item with program_id, name, score,
p_residency, p_funding, expected_funding, reasons and factors (probabilities are null
without a trained model). Remarks (no trained model yet, an empty result's reason) go to
stderr, so stdout stays a plain list. Without `--json`, a Persian table.

The reasons quote the plan: they are printed for the person who asked, never logged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .context import state

_TEXT_SUFFIXES_EXTRACTED = (".docx", ".pdf")


def read_plan_file(path: Path) -> str:
    """The plan text of a file (.txt or any text file as UTF-8; .docx and .pdf extracted).

    Raises:
        InvalidInputError: the file is missing, unreadable or not text.
        EmptyTextError: it holds no text.
    """
    from recommender.errors import EmptyTextError, InvalidInputError

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a folder, not a text file") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    if not data.strip():
        raise EmptyTextError(f"the text file {path} is empty")
    from api.uploads import extract_text

    suffix = path.suffix.lower()
    name = path.name if suffix in _TEXT_SUFFIXES_EXTRACTED else "plan.txt"
    try:
        return extract_text(name, data)
    except InvalidInputError as exc:
        if "no text could be read" in str(exc):
            raise EmptyTextError(f"the file {path} has no text") from None
        raise InvalidInputError(f"{path}: {exc}") from None


def _filters(
    provinces: list[str] | None,
    kinds: list[str] | None,
    sectors: list[str] | None,
    stage: str | None,
    min_seats: int | None,
    funding_ask: int | None,
    remote: bool,
) -> Any:
    from recommender.constants import PROGRAM_KINDS, STAGES
    from recommender.errors import InvalidInputError
    from recommender.retrieval import ProgramFilter

    bad_kinds = [k for k in kinds or [] if k not in PROGRAM_KINDS]
    if bad_kinds:
        raise InvalidInputError(
            f"unknown kind(s) {bad_kinds}; use one of: {', '.join(PROGRAM_KINDS)}"
        )
    if stage is not None and stage not in STAGES:
        raise InvalidInputError(f"unknown stage '{stage}'; use one of: {', '.join(STAGES)}")
    return ProgramFilter(
        provinces=provinces or None,
        kinds=kinds or None,
        sectors=sectors or None,
        stage=stage,
        min_open_seats=min_seats,
        funding_ask=funding_ask,
        accepts_remote=True if remote else None,
    )


def _percent(value: float | None) -> str:
    from recommender.persian import format_percent

    return "—" if value is None else format_percent(value)


def print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from recommender.constants import KIND_LABELS_FA
    from recommender.persian import format_number, format_rial

    console = Console()
    table = Table(title="برنامه‌های پیشنهادی", show_lines=True)
    table.add_column("رتبه", justify="right")
    table.add_column("برنامه")
    table.add_column("امتیاز", justify="right")
    table.add_column("احتمال استقرار", justify="right")
    table.add_column("احتمال تأمین مالی", justify="right")
    table.add_column("تأمین مالی مورد انتظار", justify="right")
    table.add_column("دلیل‌ها")
    for item in result.items:
        name = f"{item.name}\n{KIND_LABELS_FA.get(item.kind, item.kind)}، {item.province}"
        expected = "—" if item.expected_funding is None else format_rial(item.expected_funding)
        table.add_row(
            format_number(item.rank),
            name,
            format_number(item.score, decimals=2),
            _percent(item.p_residency),
            _percent(item.p_funding),
            expected,
            "\n".join(f"• {r}" for r in item.reasons),
        )
    console.print(table)


def recommend(
    ctx: typer.Context,
    text_file: Annotated[
        Path | None,
        typer.Option("--text-file", help="A business plan (.txt as UTF-8, .docx or .pdf)."),
    ] = None,
    application: Annotated[
        str | None, typer.Option("--application", help="The id of a stored application.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=200, help="How many programs.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list instead of a table.")
    ] = False,
    province: Annotated[
        list[str] | None, typer.Option("--province", help="Only programs in this province.")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only programs of this kind.")
    ] = None,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="Only programs covering this sector.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only programs accepting this stage.")
    ] = None,
    min_seats: Annotated[
        int | None, typer.Option("--min-seats", min=0, help="At least this many open seats.")
    ] = None,
    funding_ask: Annotated[
        int | None,
        typer.Option("--funding-ask", min=0, help="Only programs funding this amount (rial)."),
    ] = None,
    remote: Annotated[
        bool, typer.Option("--remote", help="Only programs accepting remote participants.")
    ] = False,
) -> None:
    """Rank the programs for one business plan, with reasons in Persian."""
    from recommender.errors import EmptyTextError, InvalidInputError

    if (text_file is None) == (application is None):
        raise InvalidInputError("give exactly one of --text-file or --application")
    settings = state(ctx).settings
    filters = _filters(province, kind, sector, stage, min_seats, funding_ask, remote)
    text = read_plan_file(text_file) if text_file is not None else None
    if text is not None and not any(ch.isalnum() for ch in text):
        raise EmptyTextError(f"the text in {text_file} has no word to match")

    from api.services import load_recommender, open_store

    store = open_store(settings)
    try:
        stored = store.get_application(application) if application is not None else None
        recommender = load_recommender(settings, store=store)
    finally:
        store.close()
    result = recommender.recommend(text=text, application=stored, filters=filters, top=top)

    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.items and result.empty_reason:
        print(f"note: {result.empty_reason}", file=sys.stderr)
    for left_out in result.excluded:
        print(f"note: left out {left_out.program_id} ({left_out.name}): {left_out.reason}",
              file=sys.stderr)
    if as_json:
        payload = [item.to_dict() for item in result.items]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif result.items:
        print_table(result)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("recommend")(recommend)
