"""`peyvand events ...`: events where startups meet mentors, investors and programs.

    peyvand events import FILE [--event EVENT] [--skip-invalid]
    peyvand events export EVENT FILE
    peyvand events list [--json]
    peyvand events suggest EVENT [--json] [--top N]
    peyvand events schedule EVENT --out DIR [--keep-from DIR] [--without ID]... [--pin A,B,SLOT]...

The CLI is the operator: it sees every house's events, as the other data commands do. Every
message is Persian; bad input exits 1 with one line (`خطا: ...`; an import lists every bad
row), never a traceback. The use cases are `recommender.events`' (one implementation, for
the service too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .context import SkipInvalid, actor, open_store, state

if TYPE_CHECKING:
    from recommender.events.model import EventData

F = TypeVar("F", bound=Callable[..., Any])
EventId = Annotated[str, typer.Argument(help="شناسهٔ رویداد.")]

group = typer.Typer(
    help="رویدادها (دمو دی، روز سرمایه‌گذاری): شرکت‌کنندگان، پیشنهاد دیدار، برنامهٔ جلسه‌ها.",
    no_args_is_help=True,
)


@contextmanager
def _store(ctx: typer.Context) -> Iterator[Any]:
    store = open_store(state(ctx).settings)
    try:
        yield store
    finally:
        store.close()


def _load(ctx: typer.Context, event_id: str) -> EventData:
    with _store(ctx) as store:
        return store.get_event(event_id)  # type: ignore[no-any-return]


def _embedder(ctx: typer.Context) -> Any:
    from api import services

    return services.load_embedder(state(ctx).settings)


@group.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="پروندهٔ .json رویداد، یا فهرست شرکت‌کنندگان با پسوند .csv یا .xlsx."),
    ],
    event: Annotated[
        str | None, typer.Option("--event", help="رویداد ثبت‌شده‌ای که فهرست شرکت‌کنندگان از آن است.")
    ] = None,
    skip_invalid: SkipInvalid = False,
) -> None:
    """افزودن یا جایگزینی رویداد (یا فهرست شرکت‌کنندگانش)؛ با یک ردیف نادرست چیزی وارد نمی‌شود."""
    from recommender.events.imports import import_event
    from recommender.events.validation import describe
    from recommender.text.persian import to_persian_digits as fa

    settings = state(ctx).settings
    report = import_event(
        file,
        open_store=lambda: open_store(settings),
        actor=actor(),
        skip_invalid=skip_invalid,
        event_id=event,
    )
    for error in report.errors:
        typer.echo(f"کنار گذاشته شد: {describe(error)}", err=True)
    what = "ساخته شد" if report.created else "به‌روز شد"
    typer.echo(
        f"رویداد «{report.event_id}» {what}: {fa(report.participants)} شرکت‌کننده، "
        f"{fa(report.skipped)} ردیف کنار گذاشته شد (از {file.name})"
    )


@group.command("export")
def export_command(
    ctx: typer.Context,
    event: EventId,
    file: Annotated[
        Path, typer.Argument(help="پسوند .json (کل رویداد) یا .csv و .xlsx (شرکت‌کنندگان).")
    ],
) -> None:
    """نوشتن رویداد ثبت‌شده (.json) یا فهرست شرکت‌کنندگانش (.csv، .xlsx) در پرونده."""
    from recommender.events.imports import export_event
    from recommender.text.persian import to_persian_digits as fa

    with _store(ctx) as store:
        written = export_event(store, event, file)
    typer.echo(f"{fa(written)} شرکت‌کنندهٔ رویداد «{event}» در {file} نوشته شد")


@group.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="خروجی به شکل فهرست JSON، یک شیء برای هر کدام.")
    ] = False,
) -> None:
    """همهٔ رویدادها: شناسه، تاریخ شمسی، خانه، شمار شرکت‌کنندگان، نام."""
    from recommender.text.persian import format_jalali
    from recommender.text.persian import to_persian_digits as fa

    with _store(ctx) as store:
        events = store.list_events()
    if as_json:
        items = [{**e.model_dump(mode="json"), "participants": n} for e, n in events]
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    if not events:
        typer.echo("هنوز رویدادی ثبت نشده است")
    for event, n in events:
        typer.echo(
            f"{event.id}\t{format_jalali(event.date)}\t{event.org_id}\t"
            f"{fa(n)} شرکت‌کننده\t{event.name}"
        )


@group.command("suggest")
def suggest_command(
    ctx: typer.Context,
    event: EventId,
    as_json: Annotated[
        bool, typer.Option("--json", help="خروجی به شکل فهرست JSON، بهترین‌ها اول.")
    ] = False,
    top: Annotated[
        int | None, typer.Option("--top", min=1, max=50, help="شمار پیشنهادها برای هر استارتاپ.")
    ] = None,
) -> None:
    """برای هر استارتاپ، منتورها، سرمایه‌گذاران و برنامه‌های مناسب‌تر، با دلیل."""
    from recommender.events.model import PARTICIPANT_KIND_LABELS_FA
    from recommender.events.suggest import suggest_meetings
    from recommender.text.persian import format_percent

    data = _load(ctx, event)
    _, suggestions = suggest_meetings(data, _embedder(ctx), top)
    names = {p.id: p.name for p in data.participants}
    if as_json:
        items = [
            {
                **s.to_json(),
                "startup_name": names[s.startup_id],
                "partner_name": names[s.partner_id],
            }
            for s in suggestions
        ]
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    if not suggestions:
        typer.echo("پیشنهادی نیست (استارتاپ یا طرف دیدار با نمایهٔ متنی ندارد)")
    current = None
    for s in suggestions:
        if s.startup_id != current:
            current = s.startup_id
            typer.echo(f"{names[s.startup_id]} ({s.startup_id})")
        kind = PARTICIPANT_KIND_LABELS_FA.get(s.partner_kind, s.partner_kind)
        reasons = "؛ ".join(s.reasons)
        typer.echo(
            f"  {names[s.partner_id]} ({kind}) — تناسب {format_percent(s.score)}"
            + (f" — {reasons}" if reasons else "")
        )


def _pins(values: list[str]) -> list[tuple[str, str, str]]:
    from recommender.errors import InvalidInputError

    out = []
    for value in values:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 3 or not all(parts):
            raise InvalidInputError(f"«{value}» به شکل «A,B,SLOT» نیست (دو شرکت‌کننده و یک بازه)")
        out.append((parts[0], parts[1], parts[2]))
    return out


@group.command("schedule")
def schedule_command(
    ctx: typer.Context,
    event: EventId,
    out: Annotated[Path, typer.Option("--out", help="پوشهٔ پرونده‌های برنامهٔ جلسه‌ها.")],
    keep_from: Annotated[
        Path | None,
        typer.Option("--keep-from", help="پوشهٔ برنامهٔ قبلی: جلسه‌هایش حفظ شود."),
    ] = None,
    without: Annotated[
        list[str] | None, typer.Option("--without", help="شناسهٔ شرکت‌کننده‌ای که نمی‌آید.")
    ] = None,
    pin: Annotated[
        list[str] | None, typer.Option("--pin", help="جلسه‌ای که باید برگزار شود: A,B,SLOT.")
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="مهلت کل حل، به ثانیه.")
    ] = 60.0,
) -> None:
    """چیدن دقیق جلسه‌ها: schedule.csv، schedule.xlsx، summary.json و پوشهٔ agendas/."""
    from recommender.events.outputs import read_previous, write_outputs
    from recommender.events.planner import schedule_event
    from recommender.text.persian import to_persian_digits as fa

    data = _load(ctx, event)
    keep, tables = read_previous(keep_from) if keep_from is not None else ([], {})
    schedule = schedule_event(
        data,
        _embedder(ctx),
        keep=keep,
        previous_tables=tables,
        pins=_pins(pin or []),
        without=without or [],
        time_limit_s=time_limit,
    )
    facts = write_outputs(schedule, out)
    met = facts["requests_met"]
    gap = fa(f"{facts['gap']:.2%}")
    status = "بهینه (اثبات‌شده)" if facts["optimal"] else f"مهلت تمام شد؛ فاصله تا بهینه {gap}"
    line = (
        f"برنامهٔ «{data.event.name}»: {fa(facts['meetings'])} جلسه؛ "
        f"درخواست دوطرفه {fa(met['mutual']['met'])} از {fa(met['mutual']['total'])}، "
        f"یک‌طرفه {fa(met['request']['met'])} از {fa(met['request']['total'])}، "
        f"استارتاپ‌های دارای جلسه {fa(facts['startups_with_meeting'])} از "
        f"{fa(facts['startups'])}؛ {status}"
    )
    if keep_from is not None:
        line += f"؛ {fa(facts['kept']['met'])} از {fa(facts['kept']['total'])} جلسهٔ قبلی حفظ شد"
    typer.echo(line)
    typer.echo(f"پرونده‌ها در {out}")


def register(app: typer.Typer) -> None:
    """Add `peyvand events ...` to the root app."""
    app.add_typer(group, name="events")
