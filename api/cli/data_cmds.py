"""CLI commands for the store: `peyvand init`,
`peyvand programs|applications|rounds|outcomes|orgs import FILE [--skip-invalid] | export FILE`,
`peyvand orgs list [--json]` (the houses of the network; import them before the programs
and rounds that name them) and `peyvand applications embed [--round R]` (the stored plans'
vectors made ahead of matching, in this process; the service does it in the background after
an import).

Every data command migrates the database to the newest schema first (`open_store`), so
importing into a home that was never `init`ed works: the home folder and database are
created on the way. Imports run `recommender.io.imports.import_file`, the one import use
case (shared with the API and the web page): a file is read and validated completely before
the store is touched, and the whole import is one transaction: a bad file leaves the store
unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .context import SkipInvalid, actor, open_store, state
from .say import n, row_error, say, seconds

if TYPE_CHECKING:  # the store and io modules load SQLAlchemy: imported when a command runs
    from recommender.store.database import Store

KIND_HELP = {
    "programs": "برنامه‌ها (شتاب‌دهنده، صندوق، خانهٔ خلاق و ...): درون‌ریزی و خروجی.",
    "applications": "درخواست‌ها (طرح‌های کسب‌وکار استارتاپ‌ها): درون‌ریزی، خروجی و آماده‌سازی طرح‌ها.",
    "rounds": "دوره‌های پذیرش با برنامه‌ها، ظرفیت‌ها و بودجه‌هایشان: درون‌ریزی و خروجی.",
    "outcomes": "نتیجه‌ها (چه کسی کجا اقامت یا تأمین مالی گرفت): درون‌ریزی و خروجی.",
    "orgs": "خانه‌های شبکه (خانهٔ خلاق، مرکز نوآوری و ...): درون‌ریزی، خروجی و فهرست.",
}



def _list(store: Store, kind: str) -> list[Any]:
    if kind == "programs":
        return list(store.list_programs())
    if kind == "applications":
        return list(store.list_applications())
    if kind == "rounds":
        return list(store.list_rounds())
    if kind == "orgs":
        return list(store.list_organizations())
    return list(store.list_outcomes())


def _make_group(kind: str) -> typer.Typer:
    group = typer.Typer(help=KIND_HELP[kind], no_args_is_help=True)

    @group.command("import")
    def import_command(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="پرونده‌ای با پسوند .json، .csv یا .xlsx.")],
        skip_invalid: SkipInvalid = False,
    ) -> None:
        """افزودن یا به‌روزکردن داده‌ها از پرونده؛ با یک ردیف نادرست هیچ ردیفی وارد نمی‌شود."""
        from recommender.io.imports import KIND_FA, import_file

        settings = state(ctx).settings
        report = import_file(
            file,
            kind,
            open_store=lambda: open_store(settings),
            actor=actor(),
            skip_invalid=skip_invalid,
        )
        for error in report.errors:
            say(f"کنار گذاشته شد: {row_error(error)}", err=True)
        say(
            f"{KIND_FA[kind]}: {n(report.created)} تازه، {n(report.updated)} به‌روز شد، "
            f"{n(report.unchanged)} بی‌تغییر، {n(report.skipped)} کنار گذاشته (از {file.name})"
        )
        if kind == "applications" and (report.created or report.updated):
            say("برای آماده‌سازی بردار طرح‌ها پیش از پیشنهاد و امتیازدهی: peyvand applications embed")

    @group.command("export")
    def export_command(
        ctx: typer.Context,
        file: Annotated[
            Path, typer.Argument(help="پرونده‌ای با پسوند .json، .csv یا .xlsx (رونویسی می‌شود).")
        ],
    ) -> None:
        """نوشتن همهٔ داده‌های ثبت‌شده در پرونده (قالب از پسوند پیدا می‌شود)."""
        from recommender.io.imports import KIND_FA
        from recommender.io.reading import detect_format
        from recommender.io.writing import write_records

        detect_format(file)
        store = open_store(state(ctx).settings)
        try:
            items = _list(store, kind)
        finally:
            store.close()
        written = write_records(file, kind, items)
        say(f"{n(written)} مورد از {KIND_FA[kind]} در {file} نوشته شد")

    if kind == "orgs":
        group.command("list")(list_orgs)
    if kind == "applications":
        group.command("embed")(embed_plans)
    return group


def embed_plans(
    ctx: typer.Context,
    round_id: Annotated[
        str | None, typer.Option("--round", help="فقط درخواست‌های این دورهٔ پذیرش.")
    ] = None,
) -> None:
    """ساخت بردار معنایی طرح‌های ثبت‌شده از پیش، در همین فرایند.

    پیشنهادها و امتیازدهی دوره پس از آن بی‌درنگ پاسخ می‌دهند؛ طرح‌های آماده دوباره پردازش
    نمی‌شوند.
    """
    from api.embed_tasks import embed_here

    from .round_cmds import load_scoring_model

    settings = state(ctx).settings
    store = open_store(settings)
    try:
        if round_id:
            store.get_round(round_id)  # an unknown round: its message before the model loads
        model = load_scoring_model(settings)
        result = embed_here(
            store, model, round_id, progress=lambda fraction, line: say(line) if line else None
        )
    finally:
        store.close()
    fresh = int(result["n_embedded_chunks"])
    made = f"{n(fresh)} بخش متن تازه بردار گرفت" if fresh else "همه از پیش آماده بود"
    say(f"{n(result['n_plans'])} طرح آماده است؛ {made} ({seconds(result['chunk_seconds'])})")


def list_orgs(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="خروجی به شکل فهرست JSON، یک شیء برای هر کدام.")
    ] = False,
) -> None:
    """همهٔ خانه‌ها: شناسه، نوع، استان، شهر، نام (و فعال بودن یا نبودن)."""
    import json

    from recommender.constants import ORG_KIND_LABELS_FA

    store = open_store(state(ctx).settings)
    try:
        orgs = store.list_organizations()
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([o.model_dump(mode="json") for o in orgs], ensure_ascii=False))
        return
    for org in orgs:
        kind = ORG_KIND_LABELS_FA.get(org.kind, org.kind)
        active = "" if org.active else "\t(غیرفعال)"
        typer.echo(f"{org.id}\t{kind}\t{org.province}\t{org.city}\t{org.name}{active}")


def init(ctx: typer.Context) -> None:
    """ساختن پوشهٔ پیوند و پایگاه داده (یا به‌روزکردن طرح‌وارهٔ آن)."""
    from recommender.store.engine import display_url

    settings = state(ctx).settings
    store = open_store(settings)
    try:
        revision = store.schema_revision()
    finally:
        store.close()
    say(f"پوشهٔ پیوند: {settings.resolved_home}")
    say(f"پایگاه داده: {display_url(settings.db_url)} (نسخهٔ طرح‌واره {revision})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("init")(init)
    for kind in KIND_HELP:
        app.add_typer(_make_group(kind), name=kind)

