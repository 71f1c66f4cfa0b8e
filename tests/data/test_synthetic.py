"""The synthetic history: schema-valid, deterministic, varied text, capacity respected."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict

import pytest

from data.catalog import load_programs
from data.plan_writer import generate_plan
from data.synthetic import (
    LatentModel,
    SyntheticHistory,
    fit_components,
    generate_history,
)
from recommender.constants import SEED
from recommender.schemas import Application, IntakeRound, Outcome, Program
from recommender.taxonomy import load_sectors, sector_slugs

_COLLOQUIAL = re.compile(r"(^|\s)(یه|می‌خوایم|اپلیکیشن‌مون|می‌کنه|می‌شه|نشدیم|حرف زدیم)(\s|[.،!؟])")


def _is_colloquial(plan: str) -> bool:
    return bool(_COLLOQUIAL.search(plan.replace("ي", "ی").replace("ك", "ک")))


@pytest.fixture(scope="module")
def history() -> SyntheticHistory:
    return generate_history()  # the defaults: 8 rounds x 80 applications


@pytest.fixture(scope="module")
def programs() -> dict[str, Program]:
    return {p.id: p for p in load_programs()}


def test_everything_validates_against_the_contracts(history):
    assert len(history.applications) == 8 * 80
    for app in history.applications:
        Application.model_validate(app)
    for round_ in history.rounds:
        IntakeRound.model_validate(round_)
    for outcome in history.outcomes:
        Outcome.model_validate(outcome)
    assert len(history.outcomes) == len(history.truth["pairs"])


def test_same_seed_same_history_other_seed_other_history():
    first = generate_history(seed=7, n_rounds=6, applications_per_round=15)
    again = generate_history(seed=7, n_rounds=6, applications_per_round=15)
    other = generate_history(seed=8, n_rounds=6, applications_per_round=15)
    assert first.applications == again.applications
    assert first.rounds == again.rounds
    assert first.outcomes == again.outcomes
    assert first.truth == again.truth
    assert first.applications != other.applications


def test_default_seed_is_the_shared_constant(history):
    small = generate_history(seed=SEED, n_rounds=1, applications_per_round=3)
    assert small.rounds[0] == history.rounds[0]


def test_rounds_dates_and_programs(history, programs):
    """Every house runs one round a season with its own programs; a house's rounds follow one
    another, and the houses' rounds of a season open within a week of each other."""
    ids = [r["id"] for r in history.rounds]
    assert len(ids) == len(set(ids))
    houses = {p.org_id for p in programs.values() if p.active}
    assert len(history.rounds) == 8 * len(houses)
    by_house: defaultdict = defaultdict(list)
    for round_ in history.rounds:
        by_house[round_["org_id"]].append(round_)
    assert set(by_house) == houses
    for org_id, rounds in by_house.items():
        active = [p for p in programs.values() if p.org_id == org_id and p.active]
        previous_close = None
        for round_ in rounds:
            opens = dt.date.fromisoformat(round_["opens_on"])
            closes = dt.date.fromisoformat(round_["closes_on"])
            assert opens < closes
            if previous_close is not None:
                assert opens > previous_close
            previous_close = closes
            assert len(round_["programs"]) >= min(2, len(active))
            assert round_["program_ids"] == [e["program_id"] for e in round_["programs"]]
            for entry in round_["programs"]:
                program = programs[entry["program_id"]]
                assert program.active and program.org_id == org_id
                assert 0 <= entry["seats"] <= program.residency_seats
                assert (entry["seats"] > 0) == (program.residency_seats > 0)
                assert entry["budget"] >= 0
    for season in range(8):
        opens = [dt.date.fromisoformat(r[season]["opens_on"]) for r in by_house.values()]
        assert (max(opens) - min(opens)).days <= 7


def test_applications_apply_within_one_house(history, programs):
    per_app = Counter(o["application_id"] for o in history.outcomes)
    rounds = {r["id"]: r for r in history.rounds}
    apps = {a["id"]: a for a in history.applications}
    assert set(per_app) == set(apps)
    for app_id, n in per_app.items():
        size = len(rounds[apps[app_id]["round_id"]]["program_ids"])
        assert min(2, size) <= n <= 4
    for app in apps.values():
        assert app["org_id"] == rounds[app["round_id"]]["org_id"]
    for outcome in history.outcomes:
        app = apps[outcome["application_id"]]
        assert outcome["round_id"] == app["round_id"]
        assert outcome["program_id"] in rounds[outcome["round_id"]]["program_ids"]
        assert programs[outcome["program_id"]].org_id == app["org_id"]
    pairs = [(o["application_id"], o["program_id"]) for o in history.outcomes]
    assert len(pairs) == len(set(pairs))
    # startups spread over the houses, and about a third agree to be referred elsewhere
    assert len({a["org_id"] for a in apps.values()}) == len({r["org_id"] for r in rounds.values()})
    shared = sum(a["share_with_network"] for a in apps.values()) / len(apps)
    assert 0.25 < shared < 0.42


def test_programs_without_houses_give_one_network_round_a_season(programs):
    plain = [p.model_copy(update={"org_id": None}) for p in programs.values()]
    history = generate_history(seed=3, n_rounds=3, applications_per_round=20, programs=plain)
    assert [r["id"] for r in history.rounds] == ["round-1402-1", "round-1402-2", "round-1402-3"]
    assert history.rounds[0]["opens_on"] == "2023-03-26"
    assert all("org_id" not in r for r in history.rounds)
    assert all("org_id" not in a and "share_with_network" not in a
               for a in history.applications)
    assert all(3 <= n <= 6 for n in Counter(o["application_id"]
                                            for o in history.outcomes).values())


def test_capacity_is_respected(history, programs):
    granted: Counter = Counter()
    funded: defaultdict = defaultdict(int)
    for outcome in history.outcomes:
        key = (outcome["round_id"], outcome["program_id"])
        granted[key] += outcome["residency_granted"]
        funded[key] += outcome["funded_amount"]
        amount = outcome["funded_amount"]
        if amount:
            program = programs[outcome["program_id"]]
            assert program.funding_min <= amount <= program.funding_max
    for round_ in history.rounds:
        for entry in round_["programs"]:
            key = (round_["id"], entry["program_id"])
            assert granted[key] <= entry["seats"]
            assert funded[key] <= entry["budget"]
    # capacity binds somewhere (the allocation problem is not trivial)
    full = [
        (r["id"], e["program_id"]) for r in history.rounds for e in r["programs"]
        if e["seats"] and granted[(r["id"], e["program_id"])] == e["seats"]
    ]
    assert full


def test_ineligible_applications_are_never_granted(history, programs):
    apps = {a["id"]: a for a in history.applications}
    ineligible = 0
    for outcome, pair in zip(history.outcomes, history.truth["pairs"], strict=True):
        assert (pair["application_id"], pair["program_id"]) == (
            outcome["application_id"], outcome["program_id"]
        )
        program = programs[outcome["program_id"]]
        holds_certificate = apps[outcome["application_id"]]["knowledge_based"]
        if program.requires_knowledge_based and not holds_certificate:
            ineligible += 1
            assert not pair["eligible"]
            assert not outcome["residency_granted"]
            assert outcome["funded_amount"] == 0
    assert ineligible > 0


def test_outcomes_follow_the_latent_fit(history):
    """Granted pairs have higher fit; decisions come after the round closes."""
    closes = {r["id"]: dt.date.fromisoformat(r["closes_on"]) for r in history.rounds}
    granted_fit, refused_fit = [], []
    for outcome, pair in zip(history.outcomes, history.truth["pairs"], strict=True):
        won = outcome["residency_granted"] or outcome["funded_amount"] > 0
        (granted_fit if won else refused_fit).append(pair["signal"])
        assert not won or pair["accepted"]
        assert dt.date.fromisoformat(outcome["decided_on"]) > closes[outcome["round_id"]]
    assert granted_fit and refused_fit
    assert sum(granted_fit) / len(granted_fit) > sum(refused_fit) / len(refused_fit) + 0.8
    rate = len(granted_fit) / len(history.outcomes)
    assert 0.1 < rate < 0.6


def test_plan_lengths_and_sectors(history):
    lengths = [len(a["business_plan"]) for a in history.applications]
    assert min(lengths) >= 300 and max(lengths) <= 6000
    assert min(lengths) < 600 and max(lengths) > 4000  # really varied
    known = sector_slugs()
    for app in history.applications:
        assert set(app["sectors"]) <= known
        truth = history.truth["applications"][app["id"]]
        assert truth["primary_sector"] in known
        if app["sectors"]:
            assert app["sectors"][0] == truth["primary_sector"]
    assert any(not a["sectors"] for a in history.applications)


def test_register_variety(history):
    plans = [a["business_plan"] for a in history.applications]
    with_arabic = [p for p in plans if "ي" in p or "ك" in p]
    assert len(with_arabic) >= 0.05 * len(plans)
    assert any(re.search(r"[0-9]", p) for p in plans)
    assert any(re.search(r"[۰-۹]", p) for p in plans)
    assert any(re.search(r"[٠-٩]", p) for p in plans)
    colloquial = [p for p in plans if _is_colloquial(p)]
    assert len(colloquial) >= 0.15 * len(plans)
    assert any("می‌خوایم" in p for p in plans)
    formal_only = [p for p in plans if not _is_colloquial(p)]
    assert len(formal_only) >= 0.3 * len(plans)
    english = [p for p in plans if re.search(r"\b(SaaS|MVP|API|B2B|KPI)\b", p)]
    assert len(english) >= 0.2 * len(plans)
    registers = Counter(t["register"] for t in history.truth["applications"].values())
    assert set(registers) == {"formal", "colloquial", "mixed"}
    for app in history.applications:  # the recorded register is what the text shows
        register = history.truth["applications"][app["id"]]["register"]
        if register == "formal":
            assert not _is_colloquial(app["business_plan"]), app["id"]
        if register == "colloquial":
            assert _is_colloquial(app["business_plan"]), app["id"]


def test_plans_use_their_primary_sector_vocabulary(history):
    keywords = {s["slug"]: s["keywords_fa"] for s in load_sectors()}
    for app in history.applications[:200]:
        truth = history.truth["applications"][app["id"]]
        if truth["implied_domain"]:
            continue  # said in other words: test_implied_domains_name_no_keyword
        text = app["business_plan"].replace("ي", "ی").replace("ك", "ک")
        assert sum(text.count(k) for k in keywords[truth["primary_sector"]]) >= 2, app["id"]


def test_implied_domains_name_no_keyword(history):
    """Some plans never name their primary sector: it is described instead."""
    from data import plan_vocabulary as vocab

    # words such as «مشتری» or "marketplace" are in the templates themselves, whatever the sector
    templates = json.dumps(
        (vocab.POOLS, vocab.TRACTION, vocab.ASK, vocab.NO_ASK, vocab.RESIDENCY,
         vocab.KNOWLEDGE_BASED, vocab.NEGATION, vocab.PARAPHRASE_NEUTRAL,
         vocab.PARAPHRASE_COLLOQUIAL, vocab.GENERIC_EN),
        ensure_ascii=False)
    sectors = {s["slug"]: s for s in load_sectors()}
    truths = history.truth["applications"]
    implied = [a for a in history.applications if truths[a["id"]]["implied_domain"]]
    assert 0.03 * len(truths) <= len(implied) <= 0.3 * len(truths)
    for app in implied:
        truth = truths[app["id"]]
        sector = sectors[truth["primary_sector"]]
        text = app["business_plan"].replace("ي", "ی").replace("ك", "ک")
        if truth["secondary_sector"] is None:  # (a secondary sector may share a keyword)
            named = [k for k in sector["keywords_fa"] + sector["keywords_en"]
                     if k not in templates and re.search(rf"(?<![\w\u200c]){k}(?![\w\u200c])",
                                                         text)]
            assert not named, (app["id"], named)
        assert any(phrase in text for phrase in vocab.IMPLIED[sector["slug"]]), app["id"]


def test_negations_and_mixed_sectors(history):
    """Some plans deny a (confusable) sector they are not in; some give the secondary sector
    as much text as the primary."""
    sectors = {s["slug"]: s for s in load_sectors()}
    truths = history.truth["applications"]
    negated = [a for a in history.applications if truths[a["id"]]["negated_sector"]]
    assert 0.1 * len(truths) <= len(negated) <= 0.35 * len(truths)
    for app in negated:
        truth = truths[app["id"]]
        assert truth["negated_sector"] not in {truth["primary_sector"], truth["secondary_sector"]}
        name = sectors[truth["negated_sector"]]["keywords_fa"][0]
        text = app["business_plan"].replace("ي", "ی").replace("ك", "ک")
        assert re.search(rf"{name}\s*(نیست|نیستیم|فعالیت نمی‌کنیم|هستیم ولی نه)", text), app["id"]
    mixed = [a for a in history.applications if truths[a["id"]]["mixed_sectors"]]
    assert 0.08 * len(truths) <= len(mixed) <= 0.3 * len(truths)
    for app in mixed:
        truth = truths[app["id"]]
        assert truth["secondary_sector"], app["id"]
        text = app["business_plan"].replace("ي", "ی").replace("ك", "ک")
        found = sum(text.count(k) for k in sectors[truth["secondary_sector"]]["keywords_fa"])
        assert found >= 3, app["id"]


def test_paraphrases_reword_without_changing_the_register(history):
    truths = history.truth["applications"]
    rates = Counter(t["paraphrase_rate"] for t in truths.values())
    assert set(rates) == {0.0, 0.3, 0.6}
    plans = [a["business_plan"] for a in history.applications]
    for phrase in ("کسب‌وکار نوپا", "استفاده‌کنندگان", "هم‌اکنون", "سکو"):
        assert any(phrase in p for p in plans), phrase
    assert any("تومن" in a["business_plan"] for a in history.applications
               if truths[a["id"]]["register"] == "colloquial")


def test_text_variations_leave_the_history_as_drawn():
    """The variations draw from their own source: facts and outcomes do not depend on them."""
    import data.plan_writer as writer

    varied = generate_history(seed=5, n_rounds=2, applications_per_round=20)
    saved = (writer._P_IMPLIED, writer._P_NEGATION, writer._P_MIXED, writer._PARAPHRASE_RATES)
    try:
        writer._P_IMPLIED = writer._P_NEGATION = writer._P_MIXED = 0.0
        writer._PARAPHRASE_RATES = (0.0,)
        plain = generate_history(seed=5, n_rounds=2, applications_per_round=20)
    finally:
        (writer._P_IMPLIED, writer._P_NEGATION, writer._P_MIXED,
         writer._PARAPHRASE_RATES) = saved
    strip = [{k: v for k, v in a.items() if k != "business_plan"} for a in varied.applications]
    assert strip == [{k: v for k, v in a.items() if k != "business_plan"}
                     for a in plain.applications]
    assert varied.outcomes == plain.outcomes and varied.rounds == plain.rounds
    assert [a["business_plan"] for a in varied.applications] != [
        a["business_plan"] for a in plain.applications]


def test_generate_plan_respects_bounds():
    sectors = load_sectors()
    app = {
        "startup_name": "نمونه", "stage": "idea", "city": "یزد", "province": "یزد",
        "team_size": 3, "funding_ask": 0, "needs_residency": True, "knowledge_based": False,
        "founded_year": 2024,
    }
    rng = random.Random(1)
    for target in (10, 300, 2000, 100_000):
        text, style = generate_plan(rng, app, sectors[0], sectors[1], sectors, target_chars=target)
        assert 300 <= len(text) <= 6000
        assert style["register"] in {"formal", "colloquial", "mixed"}


def test_fit_components_by_hand():
    program = Program(
        id="p", name="n", kind="accelerator", description="d", sectors=["fintech"],
        stages=["mvp"], province="فارس", city="شیراز", residency_seats=5,
        funding_min=1_000_000_000, funding_max=5_000_000_000, requires_knowledge_based=True,
        accepts_remote=True,
    )
    app = {
        "stage": "mvp", "province": "فارس", "city": "شیراز", "funding_ask": 2_000_000_000,
        "needs_residency": True, "knowledge_based": False,
    }
    assert fit_components(app, program, "fintech", None) == {
        "text": 1.0, "stage": 1.0, "place": 1.0, "money": 1.0, "seats": 1.0, "eligible": False,
    }
    other = dict(app, province="یزد", city="یزد", funding_ask=0, stage="idea",
                 needs_residency=False, knowledge_based=True)
    assert fit_components(other, program, "health", "fintech") == {
        "text": 0.5, "stage": 0.0, "place": 0.4, "money": 0.5, "seats": 0.5, "eligible": True,
    }


def test_custom_programs_and_model():
    programs = [p.model_dump() for p in load_programs() if p.active][:5]
    history = generate_history(seed=3, n_rounds=2, applications_per_round=10, programs=programs,
                               model=LatentModel(accept_threshold=99.0))
    assert {o["program_id"] for o in history.outcomes} <= {p["id"] for p in programs}
    assert not any(o["residency_granted"] or o["funded_amount"] for o in history.outcomes)
    assert history.truth["model"]["accept_threshold"] == 99.0


def test_bad_arguments_are_refused():
    active = [p for p in load_programs() if p.active]
    with pytest.raises(ValueError):
        generate_history(n_rounds=0)
    with pytest.raises(ValueError):  # too few programs for a network-wide round
        generate_history(programs=[p.model_copy(update={"org_id": None}) for p in active[:2]])
    with pytest.raises(ValueError, match="every program names its house"):
        generate_history(programs=[active[0].model_copy(update={"org_id": None}), *active[1:]])


def _fingerprint(history: SyntheticHistory) -> str:
    text = json.dumps(asdict(history), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _network_wide(**kwargs) -> SyntheticHistory:
    plain = [p.model_copy(update={"org_id": None}) for p in load_programs()]
    return generate_history(programs=plain, **kwargs)


def test_generated_history_is_pinned():
    """The generator's output is pinned: a refactor that changes one draw changes the hash.
    Without houses it is still the history computed before houses existed (the same hashes)."""
    small = _network_wide(seed=7, n_rounds=3, applications_per_round=12)
    assert _fingerprint(small) == (
        "8639f725875a9b13de6eff66ef019ec3fdacf44379d32503abf005342165331a")
    dated = _network_wide(seed=11, n_rounds=2, applications_per_round=10,
                          last_round_opens=dt.date(2024, 11, 2))
    assert _fingerprint(dated) == (
        "9aa0f5a3fbbf2fb5f7bf31af140574acafb46ed4ef780cd68453b9cd466ddfb0")
    assert _fingerprint(_network_wide()) == (
        "fc48a33bad0d67d86898c39bc97416318a2b566758ab69eba8145dd3c5845543")
    houses = generate_history(seed=7, n_rounds=3, applications_per_round=12)
    assert _fingerprint(houses) == (
        "5083186b9d9a67a0dbfd08ac0c1e0754478785e086ce90e5e411f7a62736cb39")


def test_default_history_is_pinned(history):
    assert _fingerprint(history) == (
        "9e12a5b519177e277c9b7db591a43ac3b84758b6f183a52452ba6048ce89d9f0")
