"""CLI command: `peyvand recommend (--text-file F | --text-dir DIR | --application ID)
[--top N] [--json] [--fact NAME=VALUE ...] [filters]`.

`--json` prints a JSON list, best first, each item with program_id, name, score,
p_residency, p_funding, expected_funding, reasons and factors (probabilities are null
without a trained model), and the house that runs the program (`org_id`, `org_name`; the
whole network is searched, `--org ORG` narrows it to one house). Remarks (no trained
model yet, an empty result's reason, the facts read from a free-text plan as
`facts: {...}`) go to stderr, so stdout stays a plain list.
Without `--json`, a Persian table, with the facts read from the plan above it.

`--text-dir DIR` ranks every .txt/.docx/.pdf plan in DIR with one model load; with `--json`
one line per plan: {"file": NAME, "facts": {...}, "items": [...]}. A file that cannot be
read is reported in one line ({"file": NAME, "error": ...}, and on stderr) and the others
still run; the exit code is then 1.

`--fact NAME=VALUE` corrects a fact read from the plan (e.g. `--fact stage=mvp --fact
province=تهران --fact needs_residency=true`); the ranking uses it with full confidence.

The reasons quote the plan: they are printed for the person who asked, never logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..messages import persian
from .context import state
from .say import n, say

_TEXT_SUFFIXES_EXTRACTED = (".docx", ".pdf")
_PLAN_SUFFIXES = (".txt", ".docx", ".pdf")
_FACT_LABELS_FA = {
    "stage": "مرحلهٔ رشد",
    "province": "استان",
    "city": "شهر",
    "needs_residency": "نیاز به استقرار",
    "funding_ask": "مبلغ درخواستی",
    "funding_kind": "نوع تأمین مالی",
    "knowledge_based": "دانش‌بنیان",
    "team_size": "اندازهٔ تیم",
    "sectors": "حوزه‌ها",
    "not_sectors": "حوزه‌هایی که نیست",
}
_FUNDING_KIND_FA = {"grant": "بلاعوض", "equity": "در ازای سهام", "loan": "وام"}


def parse_fact_corrections(values: list[str] | None) -> dict[str, Any]:
    """`--fact NAME=VALUE` options as a corrections mapping (values read as JSON when they
    parse: true, 5, ["fintech"]; else as text; a comma list for sectors)."""
    from recommender.errors import InvalidInputError

    out: dict[str, Any] = {}
    for raw in values or []:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--fact به شکل NAME=VALUE است؛ داده شد: «{raw}»")
        name, value = name.strip(), value.strip()
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if name in ("sectors", "not_sectors") and isinstance(parsed, str):
            parsed = [s.strip() for s in parsed.split(",") if s.strip()]
        if value.lower() in ("null", "none", ""):
            parsed = None
        out[name] = parsed
    return out


def facts_lines(facts: dict[str, Any]) -> list[str]:
    """The facts read from a plan, as Persian lines for people (value and confidence)."""
    from recommender.constants import STAGE_LABELS_FA
    from recommender.taxonomy import sector_labels_fa
    from recommender.text.persian import format_number, format_percent, format_rial

    lines = []
    for name, fact in facts.items():
        value = fact.get("value")
        if value in (None, [], ()):
            continue
        if name == "stage":
            shown = STAGE_LABELS_FA.get(value, value)
        elif name == "funding_ask":
            shown = format_rial(value)
        elif name == "funding_kind":
            shown = _FUNDING_KIND_FA.get(value, value)
        elif isinstance(value, bool):
            shown = "بله" if value else "خیر"
        elif isinstance(value, int):
            shown = format_number(value)
        elif isinstance(value, list):
            labels = sector_labels_fa()
            shown = "، ".join(labels.get(v, v) for v in value)
        else:
            shown = str(value)
        confidence = format_percent(float(fact.get("confidence", 0)))
        lines.append(f"{_FACT_LABELS_FA.get(name, name)}: {shown} (اطمینان {confidence})")
    return lines


def plan_files(folder: Path) -> list[Path]:
    """The plans of a folder (.txt, .docx, .pdf), sorted by name.

    Raises:
        InvalidInputError: the folder is missing, not a folder, or holds no plan.
    """
    from recommender.errors import InvalidInputError

    if not folder.exists():
        raise InvalidInputError(f"پوشهٔ {folder} نیست")
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} پرونده است، نه پوشه (برای یک پرونده --text-file)")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in _PLAN_SUFFIXES)
    if not files:
        raise InvalidInputError(f"در {folder} هیچ طرح txt، docx یا pdf نیست")
    return files


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
        raise InvalidInputError(f"پروندهٔ {path} نیست") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} پوشه است، نه پروندهٔ متن") from None
    except OSError as exc:
        raise InvalidInputError(f"پروندهٔ {path} خوانده نشد ({exc.strerror})") from None
    if not data.strip():
        raise EmptyTextError(f"پروندهٔ {path} خالی است")
    from api.uploads import extract_text

    suffix = path.suffix.lower()
    name = path.name if suffix in _TEXT_SUFFIXES_EXTRACTED else "plan.txt"
    try:
        return extract_text(name, data)
    except InvalidInputError as exc:
        if "no text could be read" in str(exc):
            raise EmptyTextError(f"از پروندهٔ {path} هیچ متنی خوانده نشد") from None
        raise InvalidInputError(f"{path}: {persian(exc, 422)}") from None


def _filters(
    provinces: list[str] | None,
    kinds: list[str] | None,
    sectors: list[str] | None,
    stage: str | None,
    min_seats: int | None,
    funding_ask: int | None,
    remote: bool,
    org: str | None = None,
) -> Any:
    from recommender.constants import PROGRAM_KINDS, STAGES
    from recommender.errors import InvalidInputError
    from recommender.retrieval.filters import ProgramFilter

    bad_kinds = [k for k in kinds or [] if k not in PROGRAM_KINDS]
    if bad_kinds:
        raise InvalidInputError(
            f"نوع برنامهٔ «{'، '.join(bad_kinds)}» شناخته نیست؛ یکی از اینها: "
            f"{'، '.join(PROGRAM_KINDS)}"
        )
    if stage is not None and stage not in STAGES:
        raise InvalidInputError(
            f"مرحلهٔ «{stage}» شناخته نیست؛ یکی از اینها: {'، '.join(STAGES)}"
        )
    return ProgramFilter(
        provinces=provinces or None,
        kinds=kinds or None,
        sectors=sectors or None,
        stage=stage,
        min_open_seats=min_seats,
        funding_ask=funding_ask,
        accepts_remote=True if remote else None,
        org_id=org,
    )


def _percent(value: float | None) -> str:
    from recommender.text.persian import format_percent

    return "—" if value is None else format_percent(value)


def print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from recommender.constants import KIND_LABELS_FA
    from recommender.eligibility import NO_RESIDENCY_FA
    from recommender.text.persian import format_number, format_rial_spoken

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
        if item.org_name:
            name += f"\n{item.org_name}"
        expected = (
            "—" if item.expected_funding is None else format_rial_spoken(item.expected_funding)
        )
        reasons = [f"• {r}" for r in item.reasons]
        if item.drawback:
            reasons.append(f"نکتهٔ منفی: {item.drawback}")
        score = format_number(item.score, decimals=2)
        table.add_row(
            format_number(item.rank),
            name,
            f"{score}\n{item.fit_label}" if item.fit_label else score,
            _percent(item.p_residency) if item.offers_residency else NO_RESIDENCY_FA,
            _percent(item.p_funding),
            expected,
            "\n".join(reasons),
        )
    console.print(table)


def recommend(
    ctx: typer.Context,
    text_file: Annotated[
        Path | None,
        typer.Option("--text-file", help="پروندهٔ طرح کسب‌وکار (.txt با UTF-8، .docx یا .pdf)."),
    ] = None,
    text_dir: Annotated[
        Path | None,
        typer.Option(
            "--text-dir", help="پوشه‌ای از طرح‌ها (.txt، .docx، .pdf)؛ هر طرح جدا رتبه‌بندی می‌شود."
        ),
    ] = None,
    fact: Annotated[
        list[str] | None,
        typer.Option("--fact", help="اصلاح ویژگی خوانده‌شده از طرح: NAME=VALUE."),
    ] = None,
    application: Annotated[
        str | None, typer.Option("--application", help="شناسهٔ درخواست ثبت‌شده.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=200, help="شمار برنامه‌ها.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="فهرست JSON به جای جدول.")] = False,
    province: Annotated[
        list[str] | None, typer.Option("--province", help="فقط برنامه‌های این استان.")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="فقط برنامه‌های این نوع.")] = None,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="فقط برنامه‌های این حوزه.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="فقط برنامه‌هایی که این مرحله را می‌پذیرند.")
    ] = None,
    min_seats: Annotated[
        int | None, typer.Option("--min-seats", min=0, help="دست‌کم این شمار جای خالی.")
    ] = None,
    funding_ask: Annotated[
        int | None,
        typer.Option(
            "--funding-ask", min=0, help="فقط برنامه‌هایی که این مبلغ را تأمین می‌کنند (ریال)."
        ),
    ] = None,
    remote: Annotated[
        bool, typer.Option("--remote", help="فقط برنامه‌هایی که شرکت از راه دور را می‌پذیرند.")
    ] = False,
    org: Annotated[
        str | None,
        typer.Option("--org", help="فقط برنامه‌های این خانه (فهرست: peyvand orgs list)."),
    ] = None,
) -> None:
    """رتبه‌بندی برنامه‌ها برای یک طرح کسب‌وکار، با دلیل."""
    from recommender.errors import EmptyTextError, InvalidInputError

    if sum(x is not None for x in (text_file, text_dir, application)) != 1:
        raise InvalidInputError(
            "دقیقاً یکی از --text-file، --text-dir یا --application را بدهید"
        )
    if fact and application is not None:
        raise InvalidInputError(
            "--fact ویژگی‌های خوانده‌شده از متن آزاد را اصلاح می‌کند؛ ویژگی‌های درخواست "
            "ثبت‌شده همراه آن ذخیره شده‌اند"
        )
    settings = state(ctx).settings
    filters = _filters(province, kind, sector, stage, min_seats, funding_ask, remote, org)
    corrections = parse_fact_corrections(fact)
    if corrections:
        from recommender.text.facts import PlanFacts

        PlanFacts().corrected(corrections)  # a bad name or value fails before any loading
    files = plan_files(text_dir) if text_dir is not None else None
    text = read_plan_file(text_file) if text_file is not None else None
    if text is not None and not any(ch.isalnum() for ch in text):
        raise EmptyTextError(f"متن {text_file} هیچ واژه‌ای برای سنجش ندارد")

    from api.services import load_recommender, open_store

    store = open_store(settings)
    try:
        houses = store.org_names()
        if org is not None and org not in houses:
            raise InvalidInputError(
                f"خانه‌ای با شناسهٔ «{org}» نیست (فهرست: peyvand orgs list)"
            )
        stored = store.get_application(application) if application is not None else None
        recommender = load_recommender(settings, store=store)
    finally:
        store.close()
    if files is not None:
        failed = _recommend_files(
            recommender, files, filters, top, as_json, corrections, houses
        )
        if failed:  # the others were ranked and printed; the exit code says some failed
            raise InvalidInputError(
                f"{n(failed)} طرح از {n(len(files))} رتبه‌بندی نشد (بالا را ببینید)"
            )
        return
    result = recommender.recommend(
        text=text, application=stored, filters=filters, top=top,
        facts=corrections or None,
    )
    _print_result(result.name_houses(houses), as_json)


def _print_notes(result: Any) -> None:
    for note in result.notes:
        say(f"یادداشت: {persian(note)}", err=True)
    if not result.items and result.empty_reason:
        say(f"یادداشت: {result.empty_reason}", err=True)
    for left_out in result.excluded:
        say(f"یادداشت: {left_out.name} ({left_out.program_id}) کنار گذاشته شد: "
            f"{left_out.reason}", err=True)


def _print_result(result: Any, as_json: bool) -> None:
    _print_notes(result)
    if as_json:
        if result.facts is not None:
            say(f"ویژگی‌های خوانده‌شده: {json.dumps(result.facts, ensure_ascii=False)}",
                err=True)
        payload = [item.to_dict() for item in result.items]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if result.facts is not None:
        lines = facts_lines(result.facts)
        if lines:
            typer.echo("آنچه از طرح خوانده شد (با --fact NAME=VALUE اصلاح کنید):")
            for line in lines:
                typer.echo(f"  • {line}")
    if result.items:
        print_table(result)


def _recommend_files(
    recommender: Any,
    files: list[Path],
    filters: Any,
    top: int,
    as_json: bool,
    corrections: dict[str, Any],
    houses: dict[str, str],
) -> int:
    """Rank every plan file; a bad file is reported in one line and skipped.

    Returns:
        How many files failed.
    """
    from recommender.errors import EmptyTextError, InvalidInputError

    failed = 0
    for path in files:
        try:
            text = read_plan_file(path)
            if not any(ch.isalnum() for ch in text):
                raise EmptyTextError(f"متن {path} هیچ واژه‌ای برای سنجش ندارد")
            result = recommender.recommend(
                text=text, filters=filters, top=top, facts=corrections or None
            ).name_houses(houses)
        except (InvalidInputError, EmptyTextError) as exc:
            failed += 1
            wording = persian(exc, 422)
            message = wording if path.name in wording else f"{path.name}: {wording}"
            say(f"خطا: {message}", err=True)
            if as_json:
                typer.echo(json.dumps({"file": path.name, "error": message},
                                      ensure_ascii=False))
            continue
        if as_json:
            _print_notes(result)
            typer.echo(json.dumps(
                {"file": path.name, "facts": result.facts,
                 "items": [item.to_dict() for item in result.items]},
                ensure_ascii=False,
            ))
        else:
            typer.echo(f"\n── {path.name} ──")
            _print_result(result, as_json=False)
    return failed


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("recommend")(recommend)
