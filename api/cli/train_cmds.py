"""CLI commands: `peyvand train`, `peyvand evaluate [--out DIR]` and the ranker registry's
`peyvand models list|promote|rollback` (added to the `models` group of `model_cmds`).

`train` fits the rankers on all but the last intake rounds of the store's history (every
outcome: imported or decided by staff), evaluates them there against the baselines, registers
a new version in HOME/registry and makes it live only when it beats the live one on those
rounds (or none is live) and was trained on at least `--min-outcomes` outcomes (default
`registry.MIN_TRAINING_OUTCOMES`), or with `--force`. Its evaluation is written next to it
(HOME/registry/<version>/evaluation/). `models list --json` prints every version with
`trained_on_outcomes` and its held-out metrics.

`evaluate` scores the live model (or `--version V`) on the held-out rounds and writes
DIR/metrics.json and DIR/report.html (default DIR: HOME/evaluation). With no trained model it
fits one in memory for the evaluation (not saved) and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..messages import persian
from .context import state
from .model_cmds import models_app
from .say import n, say

__all__ = ["register"]

MODEL_NAMES_FA = {
    "ranker": "رتبه‌بند",
    "bm25": "BM25",
    "embedding": "بردار",
    "popularity": "محبوبیت",
    "random": "تصادفی",
}
TARGETS_FA = {"residency": "اقامت", "funding": "تأمین مالی"}


def _parse_weights(text: str | None) -> dict[str, float] | None:
    """"residency=0.5,funding=0.5,coverage=0" -> dict (None when not given)."""
    from recommender.errors import InvalidInputError

    if not text:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise InvalidInputError(
                f"وزن «{part}» درست نیست؛ برای نمونه بنویسید residency=0.5,funding=0.5,coverage=0"
            ) from None
    from recommender.ranking.ranker import ScoreWeights

    ScoreWeights.from_dict(weights)  # refuse unknown names and bad values before any work
    return weights


def _index(settings: Any, store: Any, embedder: Any) -> Any:
    """The home's candidate index, built (or rebuilt when stale) if needed."""
    from api.services import build_index, index_staleness, load_index
    from recommender.errors import NotFittedError

    model_id = str(embedder.model_id_)
    try:
        retriever = load_index(settings, model_id)
    except NotFittedError:
        say("نمایهٔ نامزدها هنوز ساخته نشده؛ نخست ساخته می‌شود", err=True)
        build_index(settings, store=store, embedder=embedder)
        return load_index(settings, model_id)
    stale = index_staleness(retriever.programs_, store.list_programs())
    if stale:
        say(f"نمایهٔ نامزدها کهنه است ({stale})؛ دوباره ساخته می‌شود", err=True)
        build_index(settings, store=store, embedder=embedder)
        retriever = load_index(settings, model_id)
    return retriever


def _metrics_lines(metrics: dict[str, Any]) -> list[str]:
    lines = [f"{'مدل':<12} {'NDCG@5':>7} {'NDCG@10':>8} {'MAP':>7} {'MRR':>7}"]
    for name, values in metrics["models"].items():
        lines.append(
            f"{MODEL_NAMES_FA.get(name, name):<12} {n(values['ndcg@5'], 4):>7} "
            f"{n(values['ndcg@10'], 4):>8} {n(values['map'], 4):>7} {n(values['mrr'], 4):>7}"
        )
    for key, value in metrics["candidates"].items():
        lines.append(f"نامزدها {key}: {n(value, 4)}")
    for target, values in metrics["calibration"].items():
        auc = "-" if values["auc"] is None else n(values["auc"], 4)
        lines.append(
            f"احتمال {TARGETS_FA.get(target, target)}: AUC {auc}  Brier {n(values['brier'], 4)}"
            f"  ECE {n(values['ece'], 4)}"
        )
    return lines


def train_command(
    ctx: typer.Context,
    holdout_rounds: Annotated[
        int, typer.Option(
            "--holdout-rounds", help="شمار دوره‌های پذیرش آخر که برای ارزیابی کنار گذاشته می‌شوند."
        )
    ] = 2,
    estimator: Annotated[
        str, typer.Option(help="مدل رتبه‌بند: auto (انتخاب با اعتبارسنجی)، hgb یا logistic.")
    ] = "auto",
    calibration: Annotated[
        str, typer.Option(help="واسنجی احتمال‌ها: isotonic، sigmoid یا none.")
    ] = "isotonic",
    weights: Annotated[
        str | None,
        typer.Option(help="وزن‌های امتیاز تناسب؛ نمونه: residency=0.5,funding=0.5,coverage=0."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="مدل تازه زنده شود، حتی اگر بهتر نیست.")
    ] = False,
    min_outcomes: Annotated[
        int | None,
        typer.Option(
            "--min-outcomes",
            help="کمترین شمار نتیجه‌های آموزشی برای زنده شدن (پیش‌فرض: مقدار سنجیده؛ "
            "models list را ببینید).",
        ),
    ] = None,
) -> None:
    """آموزش، ارزیابی و ثبت رتبه‌بندها روی همهٔ نتیجه‌های ثبت‌شده.

    نتیجه‌ها درون‌ریزی‌شده‌اند یا کارشناسان تصمیمشان را گرفته‌اند. مدل تازه وقتی زنده می‌شود
    که از مدل زنده بهتر باشد و روی نتیجه‌های کافی آموزش دیده باشد.
    """
    from api.services import load_embedder, open_store
    from recommender.errors import InvalidInputError
    from recommender.ranking.registry import MIN_TRAINING_OUTCOMES, ModelRegistry
    from training.evaluate import write_report
    from training.train import train

    settings = state(ctx).settings
    parsed_weights = _parse_weights(weights)
    if min_outcomes is not None and min_outcomes < 0:
        raise InvalidInputError(f"--min-outcomes نباید منفی باشد (داده شد: {n(min_outcomes)})")
    store = open_store(settings)
    try:
        embedder = load_embedder(settings)
        retriever = _index(settings, store, embedder)
        registry = ModelRegistry(settings.registry_dir)
        result = train(
            store, embedder, retriever, registry,
            holdout_rounds=holdout_rounds, estimator=estimator, calibration=calibration,
            weights=parsed_weights, force_promote=force,
            min_outcomes=MIN_TRAINING_OUTCOMES if min_outcomes is None else min_outcomes,
        )
    finally:
        store.close()
    folder = settings.registry_dir / result.version / "evaluation"
    write_report(result.evaluation, folder)
    ds = result.dataset
    assert ds is not None
    say(
        f"{result.version} روی {n(int(ds.train.sum()))} جفت تصمیم‌گرفته از "
        f"{n(len(ds.train_rounds))} دوره آموزش دید؛ کنارگذاشته: {'، '.join(ds.test_rounds)} "
        f"({n(int(ds.is_test.sum()))} جفت)"
    )
    for line in _metrics_lines(result.evaluation.metrics):
        say("  " + line)
    status = "زنده شد" if result.promoted else "ثبت شد، زنده نشد"
    say(f"{result.version}: {status} ({persian(result.reason)})")
    say(f"گزارش: {folder / 'report.html'}")


def evaluate_command(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="پوشهٔ metrics.json و report.html.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="نسخهٔ ثبت‌شده (پیش‌فرض: نسخهٔ زنده).")
    ] = None,
    holdout_rounds: Annotated[
        int, typer.Option("--holdout-rounds", help="شمار دوره‌های پذیرش آخر که کنار گذاشته می‌شوند.")
    ] = 2,
) -> None:
    """ارزیابی رتبه‌بند و روش‌های پایه روی دوره‌های کنارگذاشته و نوشتن گزارش."""
    from api.services import load_embedder, open_store
    from recommender.ranking.registry import ModelRegistry
    from training.evaluate import evaluate, write_report
    from training.train import fit_ranker, prepare_dataset

    settings = state(ctx).settings
    out_dir = out or settings.resolved_home / "evaluation"
    store = open_store(settings)
    try:
        embedder = load_embedder(settings)
        retriever = _index(settings, store, embedder)
        ds = prepare_dataset(store, embedder, retriever, holdout_rounds=holdout_rounds)
    finally:
        store.close()
    registry = ModelRegistry(settings.registry_dir)
    notes: list[str] = []
    model_id = str(embedder.model_id_)
    if version is not None:
        label, ranker = version, registry.load(version, expected_model_id=model_id)
    else:
        live = registry.live(expected_model_id=model_id)
        if live is None:
            label, ranker = "in-memory", fit_ranker(ds)
            notes.append(
                "هیچ مدل آموزش‌دیده‌ای ثبت نشده است: برای این ارزیابی مدلی در حافظه آموزش دید و "
                "ذخیره نشد (peyvand train را اجرا کنید)"
            )
        else:
            label, ranker = live
    if label != "in-memory":
        trained_on = set(registry.get(label).meta.get("train_rounds", []))
        overlap = sorted(trained_on & set(ds.test_rounds))
        if overlap:
            notes.append(
                f"مدل {label} روی دوره‌های کنارگذاشتهٔ {'، '.join(overlap)} آموزش دیده است: "
                "عددهایش آنجا خوش‌بینانه است"
            )
    evaluation = evaluate(ds, ranker, retriever, ranker_label=label, notes=notes)
    metrics_path, report_path = write_report(evaluation, out_dir)
    say(f"مدل {label}؛ دوره‌های کنارگذاشته: {'، '.join(ds.test_rounds)}")
    for line in _metrics_lines(evaluation.metrics):
        say("  " + line)
    for note in notes:
        say(f"یادداشت: {note}", err=True)
    typer.echo(str(metrics_path))
    typer.echo(str(report_path))


@models_app.command("list")
def list_models(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="خروجی JSON (با trained_on_outcomes و سنجه‌ها).")
    ] = False,
) -> None:
    """رتبه‌بندهای ثبت‌شده، قدیمی‌ترین اول؛ نسخهٔ زنده با * نشان داده می‌شود."""
    import json

    from recommender.ranking.registry import ModelRegistry

    registry = ModelRegistry(state(ctx).settings.registry_dir)
    if as_json:
        typer.echo(json.dumps(registry.describe(), ensure_ascii=False, indent=2))
        return
    from recommender.ranking.registry import trained_on_outcomes

    entries = registry.list()
    if not entries:
        say("هنوز هیچ رتبه‌بندی ثبت نشده است (peyvand train را اجرا کنید)")
        return
    say(f"  {'نسخه':<8} {'ساخته‌شده (UTC)':<26} {'NDCG@10':>8} {'ECE اقامت/مالی':>13} "
        f"{'نتیجه‌ها':>8}  مدل بردار")
    for e in entries:
        ranker = e.metrics.get("models", {}).get("ranker", {})
        calibration = e.metrics.get("calibration", {})
        ndcg = ranker.get("ndcg@10")
        eces = [calibration.get(t, {}).get("ece") for t in ("residency", "funding")]
        ece = "/".join("-" if v is None else n(v, 3) for v in eces)
        n_out = trained_on_outcomes(e.meta)
        say(
            f"{'*' if e.live else ' '} {e.version:<8} {e.created_at:<26} "
            f"{'-' if ndcg is None else n(ndcg, 4):>8} {ece:>13} "
            f"{'-' if n_out is None else n(n_out):>8}  {e.meta.get('embedding_model_id') or '-'}"
        )


@models_app.command("promote")
def promote_model(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="نسخه‌ای که زنده می‌شود؛ نمونه: v0003.")],
) -> None:
    """زنده‌کردن یک رتبه‌بند ثبت‌شده."""
    from recommender.ranking.registry import ModelRegistry

    ModelRegistry(state(ctx).settings.registry_dir).promote(version)
    say(f"{version} زنده است")


@models_app.command("rollback")
def rollback_model(ctx: typer.Context) -> None:
    """بازگشت به رتبه‌بندی که پیش از این زنده بود."""
    from recommender.ranking.registry import ModelRegistry

    version = ModelRegistry(state(ctx).settings.registry_dir).rollback()
    say(f"بازگشت انجام شد: {version} زنده است")


def register(app: typer.Typer) -> None:
    """Add `train` and `evaluate` to the root app (the `models` commands are added to
    `model_cmds.models_app` on import)."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
