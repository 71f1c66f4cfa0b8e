"""A seeded generator of FICTIONAL intake history: rounds, applications and outcomes.

The history is drawn from a documented latent fit model (also in data/README.md), so a ranker
trained on it can be checked against what is learnable:

    signal = w_text * text + w_stage * stage + w_place * place + w_money * money + w_seats * seats
    fit    = signal + quality(application) + noise(application, program)

* ``text``  1.0 when the application's (hidden) primary sector is one of the program's sectors,
  0.5 when only its secondary sector is, else 0. The plan text is written from the primary
  sector's keywords (plus the secondary sector's and unrelated noise), so this is learnable
  from text alone; the ``sectors`` column is filled for only about 60% of applications.
* ``stage`` 1.0 when the application's stage is among the program's stages, else 0.
* ``place`` 1.0 same city, 0.6 same province, 0.4 other province but the program accepts
  remote teams, else 0 (the largest that applies).
* ``money`` for programs that fund: 1.0 ask within [funding_min, funding_max], 0.4 within
  [funding_min / 2, 2 * funding_max], 0 otherwise, 0.5 when nothing is asked. For programs
  that do not fund: 1.0 when nothing is asked, else 0.5.
* ``seats`` 1.0 needs residency and the program has seats, 0 needs residency and it has none,
  0.5 does not need residency.
* ``quality`` ~ N(0, quality_sigma) per application (unobservable: not in the text or columns),
  ``noise`` ~ N(0, pair_noise_sigma) per (application, program).
  Weights, sigmas and thresholds are the fields of `LatentModel` (defaults in data/README.md).
* Eligibility: a program that requires a knowledge-based (دانش‌بنیان) certificate never grants
  anything to an application without one.

Decisions per program and round: eligible applicants with ``fit >= accept_threshold`` are
accepted in order of fit. Programs with seats in the round grant residency to the accepted
applicants in fit order until the seats run out; they fund only those they host. Programs
without seats (funds, grants) fund the accepted applicants directly. Funding needs
``fit >= accept_threshold + funding_margin`` and a non-zero ask; the amount is the ask times
``exp(N(0, funding_jitter_sigma))`` rounded to 10,000,000 rial and clipped to [funding_min,
funding_max]; the program stops funding when the round budget is spent (the last grant may be
cut down to the remaining budget when that is still at least funding_min).

Houses. When the programs name their houses (`org_id`, as data/programs.json does), every
house runs its own intake round each season with its own programs, and each startup picks one
house (the one whose best program of the season seems to fit best, Gumbel-noised), applies to
2-4 programs of that house's round (all of them when it has fewer) and is decided there; the
application carries the house (`org_id`) and, for about a third, `share_with_network` (consent
to be referred to other houses). Programs without houses give one network-wide round per
season, exactly the history this generator gave before houses existed.

Plan text varies the way hand-written plans do: some never name their sector (implied
domain), some deny a sector they are not in, some mix two sectors, phrases are reworded
(`data.plan_writer`); these variations have their own random source, so they change no fact or
outcome.

Everything is deterministic for a given seed. Business-plan text is synthetic but is still
treated like real plans by the rest of the system (never logged).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from recommender.constants import SEED, STAGES
from recommender.schemas import Organization, Program
from recommender.taxonomy import load_sectors

from .catalog import load_organizations, load_programs
from .plan_vocabulary import FA_DIGITS
from .plan_writer import generate_plan

__all__ = [
    "LatentModel",
    "SyntheticHistory",
    "fit_components",
    "generate_history",
]


# --------------------------------------------------------------------------- latent model
@dataclass(frozen=True)
class LatentModel:
    """Weights and noise of the latent fit model (see the module docstring)."""

    w_text: float = 2.0
    w_stage: float = 1.0
    w_place: float = 0.8
    w_money: float = 0.8
    w_seats: float = 0.6
    quality_sigma: float = 0.3
    pair_noise_sigma: float = 0.4
    accept_threshold: float = 3.6
    funding_margin: float = 0.3
    funding_jitter_sigma: float = 0.15


DEFAULT_MODEL = LatentModel()
FIRST_ROUND_OPENS = dt.date(2023, 3, 21)  # 1 Farvardin 1402
ROUND_OPEN_DAYS = 40
_HOUSE_JITTER_DAYS = 7  # a house's round opens up to a week before the season's date
_HOUSE_PROGRAMS_APPLIED = (2, 4)  # a house's round has 2-7 programs (3-6 network-wide)
P_SHARE_WITH_NETWORK = 1 / 3  # applicants who consent to be referred to other houses
_SEASONS_FA = ("بهار", "تابستان", "پاییز", "زمستان")
_MONEY_STEP = 10_000_000  # rial


@dataclass
class SyntheticHistory:
    """A generated history. Dicts follow `recommender.schemas` (dates as ISO strings).

    Attributes:
        applications: `schemas.Application` rows, each with its `round_id` (with houses also
            `org_id` and `share_with_network`).
        rounds: `schemas.IntakeRound` rows with per-program `seats` and `budget` (with houses
            also `org_id`), season by season, houses in id order.
        outcomes: `schemas.Outcome` rows, one per (application, program applied to).
        truth: latent facts for tests and evaluation: ``model`` (the LatentModel as a dict),
            ``applications`` (id -> primary/secondary sector, quality, register, digits, ...)
            and ``pairs`` (one dict per outcome with the fit components, eligibility, signal,
            fit and whether the program accepted it).
    """

    applications: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    truth: dict = field(default_factory=dict)


def fit_components(app: dict, program: Program, primary: str, secondary: str | None) -> dict:
    """Return the latent fit components of one (application, program) pair.

    Args:
        app: an application dict (schemas.Application fields).
        program: the program.
        primary: the application's true primary sector slug.
        secondary: its true secondary sector slug, or None.

    Returns:
        ``{"text", "stage", "place", "money", "seats", "eligible"}`` (floats in [0, 1] and a bool).
    """
    sectors = set(program.sectors)
    text = 1.0 if primary in sectors else (0.5 if secondary and secondary in sectors else 0.0)
    stage = 1.0 if app["stage"] in program.stages else 0.0
    if app["city"] and app["city"] == program.city and app["province"] == program.province:
        place = 1.0
    elif app["province"] == program.province:
        place = 0.6
    elif program.accepts_remote:
        place = 0.4
    else:
        place = 0.0
    ask = app["funding_ask"]
    if program.funding_max <= 0:
        money = 1.0 if ask == 0 else 0.5
    elif ask == 0:
        money = 0.5
    elif program.funding_min <= ask <= program.funding_max:
        money = 1.0
    elif program.funding_min / 2 <= ask <= 2 * program.funding_max:
        money = 0.4
    else:
        money = 0.0
    if app["needs_residency"]:
        seats = 1.0 if program.residency_seats > 0 else 0.0
    else:
        seats = 0.5
    eligible = not (program.requires_knowledge_based and not app["knowledge_based"])
    return {"text": text, "stage": stage, "place": place, "money": money, "seats": seats,
            "eligible": eligible}


def _signal(components: dict, model: LatentModel) -> float:
    return (
        model.w_text * components["text"]
        + model.w_stage * components["stage"]
        + model.w_place * components["place"]
        + model.w_money * components["money"]
        + model.w_seats * components["seats"]
    )


# --------------------------------------------------------------------------- history inputs
_NAME_PREFIXES = ("آوا", "نوین", "پارس", "سپهر", "کارا", "دانا", "رسا", "نیک", "آتی", "مهر",
                  "ژرف", "بهین", "پویا", "تیام", "آرمان", "سامان", "رهنو", "زیست", "نوا", "ترنج",
                  "هوشا", "آسا", "پیشرو", "ستاره", "البرز", "کوشا", "رادین", "باران")
_NAME_SUFFIXES = ("تک", "یار", "پی", "لند", "سان", "نت", "کار", "سازان", "ورس", "مارکت", "هاب",
                  "پلاس", "گستر", "نگار", "بان", "رو", "اپ", "لب")
_LATIN_NAMES = ("Avatek", "Parsify", "Rahnama", "DadehLab", "SepehrAI", "Kavosh", "Tarang",
                "Zisto", "Nikpay", "Barankar", "Safarin", "Rooyesh")

_STAGE_WEIGHTS = {"idea": 0.30, "mvp": 0.35, "early_revenue": 0.22, "growth": 0.13}
_ASK_RANGES = {  # rial
    "idea": (300_000_000, 3_000_000_000),
    "mvp": (1_000_000_000, 10_000_000_000),
    "early_revenue": (5_000_000_000, 50_000_000_000),
    "growth": (20_000_000_000, 200_000_000_000),
}
_TEAM_RANGES = {"idea": (1, 4), "mvp": (2, 8), "early_revenue": (3, 15), "growth": (8, 60)}
_P_RESIDENCY = {"idea": 0.75, "mvp": 0.65, "early_revenue": 0.45, "growth": 0.2}
_P_KNOWLEDGE_BASED = {"idea": 0.05, "mvp": 0.2, "early_revenue": 0.4, "growth": 0.6}
_FOUNDED_AGO = {"idea": (0, 1), "mvp": (0, 2), "early_revenue": (1, 4), "growth": (2, 8)}
_SECTOR_POPULARITY = {"fintech": 1.5, "ecommerce": 1.5, "ai": 1.4, "health": 1.2, "edtech": 1.1}
_EXTRA_PLACES = (("تهران", "تهران"), ("تهران", "تهران"), ("تهران", "تهران"), ("تهران", "تهران"),
                 ("البرز", "کرج"), ("اصفهان", "اصفهان"), ("خراسان رضوی", "مشهد"),
                 ("فارس", "شیراز"), ("آذربایجان شرقی", "تبریز"), ("قم", "قم"),
                 ("گیلان", "رشت"), ("یزد", "یزد"), ("کرمان", "کرمان"), ("خوزستان", "اهواز"),
                 ("مازندران", "ساری"), ("هرمزگان", "بندرعباس"), ("همدان", "همدان"),
                 ("لرستان", "بروجرد"), ("اصفهان", "نجف‌آباد"), ("تهران", "شهریار"))


# --------------------------------------------------------------------------- history
def _to_fa_digits(value: int) -> str:
    return str(value).translate(FA_DIGITS)


def _round_money(value: float) -> int:
    return int(round(value / _MONEY_STEP)) * _MONEY_STEP


def _round_calendar(n_rounds: int, last_round_opens: dt.date | None
                    ) -> list[tuple[int, int, dt.date]]:
    """(Jalali year, season 0-3, opening date) of each round, oldest first: quarterly from
    FIRST_ROUND_OPENS, or ending with a round that opens on `last_round_opens` (the earlier
    rounds one quarter apart before it; the last one takes that date's Jalali season)."""
    if last_round_opens is None:
        return [
            (1402 + index // 4, index % 4,
             FIRST_ROUND_OPENS + dt.timedelta(days=round(index * 365.25 / 4) + 5))
            for index in range(n_rounds)
        ]
    import jdatetime

    last = jdatetime.date.fromgregorian(date=last_round_opens)
    last_quarter = last.year * 4 + (last.month - 1) // 3
    calendar = []
    for index in range(n_rounds):
        back = n_rounds - 1 - index
        quarter = last_quarter - back
        opens = last_round_opens - dt.timedelta(days=round(back * 365.25 / 4))
        calendar.append((quarter // 4, quarter % 4, opens))
    return calendar


def _round_entries(rng: random.Random, chosen: list[Program]) -> list[dict]:
    entries = []
    for program in chosen:
        seats = (max(1, round(program.residency_seats * rng.uniform(0.25, 0.5)))
                 if program.residency_seats > 0 else 0)
        budget = (_round_money(program.funding_max * rng.uniform(1.5, 4.0))
                  if program.funding_max > 0 else 0)
        entries.append({"program_id": program.id, "seats": seats, "budget": budget})
    return entries


def _make_rounds(rng: random.Random, programs: list[Program], n_rounds: int,
                 last_round_opens: dt.date | None = None) -> list[dict]:
    """One network-wide round per season (programs without houses)."""
    active = [p for p in programs if p.active]
    if len(active) < 3:
        raise ValueError("need at least 3 active programs to build intake rounds")
    rounds = []
    for jalali_year, season, opens in _round_calendar(n_rounds, last_round_opens):
        closes = opens + dt.timedelta(days=ROUND_OPEN_DAYS)
        chosen = [p for p in active if rng.random() < 0.7]
        if len(chosen) < 3:
            chosen = rng.sample(active, 3)
        entries = _round_entries(rng, chosen)
        rounds.append({
            "id": f"round-{jalali_year}-{season + 1}",
            "name": f"دور پذیرش {_SEASONS_FA[season]} {_to_fa_digits(jalali_year)}",
            "opens_on": opens.isoformat(),
            "closes_on": closes.isoformat(),
            "program_ids": [e["program_id"] for e in entries],
            "programs": entries,
        })
    return rounds


def _make_house_rounds(rng: random.Random, houses: dict[str, list[Program]], n_rounds: int,
                       last_round_opens: dt.date | None, names: dict[str, str]
                       ) -> list[list[dict]]:
    """Per season, one round for each house with active programs: it takes each of its active
    programs with probability 0.7 (at least two, or its only one) and opens 0-7 days before
    the season's date. Returns the rounds season by season, houses in id order."""
    seasons = []
    for jalali_year, season, opens in _round_calendar(n_rounds, last_round_opens):
        rounds = []
        for org_id, active in houses.items():
            house_opens = opens - dt.timedelta(days=rng.randint(0, _HOUSE_JITTER_DAYS))
            chosen = [p for p in active if rng.random() < 0.7]
            if len(chosen) < min(2, len(active)):
                chosen = rng.sample(active, min(2, len(active)))
            entries = _round_entries(rng, chosen)
            rounds.append({
                "id": f"round-{jalali_year}-{season + 1}-{org_id}",
                "name": (f"دور پذیرش {_SEASONS_FA[season]} {_to_fa_digits(jalali_year)}"
                         f" — {names.get(org_id, org_id)}"),
                "opens_on": house_opens.isoformat(),
                "closes_on": (house_opens + dt.timedelta(days=ROUND_OPEN_DAYS)).isoformat(),
                "program_ids": [e["program_id"] for e in entries],
                "programs": entries,
                "org_id": org_id,
            })
        seasons.append(rounds)
    return seasons


def _startup_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(20):
        if rng.random() < 0.15:
            name = rng.choice(_LATIN_NAMES)
        else:
            name = rng.choice(_NAME_PREFIXES) + "\u200c" + rng.choice(_NAME_SUFFIXES)
        if name not in taken:
            break
    else:
        name = f"{name} {_to_fa_digits(len(taken))}"
    taken.add(name)
    return name


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _make_application(rng: random.Random, app_id: str, round_: dict, sectors: list[dict],
                      places: list[tuple[str, str]], taken: set[str]) -> tuple[dict, dict]:
    """One application and its latent facts; `round_` gives its round id and opening date
    (with houses, the season's first round: the caller moves it to the house it chose)."""
    weights = [_SECTOR_POPULARITY.get(s["slug"], 1.0) for s in sectors]
    primary = rng.choices(sectors, weights)[0]
    secondary = None
    if rng.random() < 0.55:
        secondary = rng.choice([s for s in sectors if s["slug"] != primary["slug"]])
    stage = rng.choices(STAGES, [_STAGE_WEIGHTS[s] for s in STAGES])[0]
    province, city = rng.choice(places)
    ask = 0
    if rng.random() >= 0.08:
        ask = max(_MONEY_STEP * 10, _round_money(_log_uniform(rng, *_ASK_RANGES[stage]) / 10) * 10)
    opens_year = dt.date.fromisoformat(round_["opens_on"]).year
    observed: list[str] = []
    if rng.random() < 0.6:
        observed = [primary["slug"]]
        if secondary and rng.random() < 0.5:
            observed.append(secondary["slug"])
    app = {
        "id": app_id,
        "startup_name": _startup_name(rng, taken),
        "business_plan": "",
        "sectors": observed,
        "stage": stage,
        "province": province,
        "city": city,
        "team_size": rng.randint(*_TEAM_RANGES[stage]),
        "funding_ask": ask,
        "needs_residency": rng.random() < _P_RESIDENCY[stage],
        "knowledge_based": rng.random() < _P_KNOWLEDGE_BASED[stage],
        "founded_year": opens_year - rng.randint(*_FOUNDED_AGO[stage]),
        "round_id": round_["id"],
    }
    plan, style = generate_plan(rng, app, primary, secondary, sectors)
    app["business_plan"] = plan
    latent = {"primary_sector": primary["slug"],
              "secondary_sector": secondary["slug"] if secondary else None,
              "plan_chars": len(plan), **style}
    return app, latent


def _appeal(app: dict, latent: dict, program: Program) -> float:
    """How well a program seems to fit, as the startup sees it (its own fit components)."""
    c = fit_components(app, program, latent["primary_sector"], latent["secondary_sector"])
    appeal = 2.0 * c["text"] + c["stage"] + c["place"] + 0.5 * c["money"] + 0.5 * c["seats"]
    return appeal - (0.0 if c["eligible"] else 1.0)


def _choose_house(rng: random.Random, app: dict, latent: dict, rounds: list[dict],
                  by_id: dict[str, Program]) -> dict:
    """The house round a startup applies to: the house whose best program of the round seems
    to fit best, with Gumbel noise (mostly a house with a program of its sector, often a near
    one; the weight is higher than for programs because there are many houses to err in)."""
    keyed = []
    for round_ in rounds:
        best = max(_appeal(app, latent, by_id[pid]) for pid in round_["program_ids"])
        gumbel = -math.log(-math.log(rng.random() or 1e-12))
        keyed.append((3.0 * best + gumbel, round_["id"], round_))
    return max(keyed, key=lambda item: (item[0], item[1]))[2]


def _choose_programs(rng: random.Random, app: dict, latent: dict,
                     candidates: list[Program], how_many: tuple[int, int] = (3, 6)
                     ) -> list[Program]:
    """Self-selection: startups mostly apply where they seem to fit, with Gumbel noise, to
    `how_many` (inclusive range) programs, or to every candidate when there are fewer."""
    keyed = []
    for program in candidates:
        gumbel = -math.log(-math.log(rng.random() or 1e-12))
        keyed.append((1.2 * _appeal(app, latent, program) + gumbel, program.id, program))
    keyed.sort(key=lambda item: (-item[0], item[1]))
    k = min(len(keyed), rng.randint(*how_many))
    return [program for _, _, program in keyed[:k]]


def _decide(rng: random.Random, program: Program, applicants: list[dict], seats: int,
            budget: int, model: LatentModel) -> dict[tuple[str, str], tuple[bool, int]]:
    """One program's decisions in one round, under its seats and budget.

    Marks each applicant pair ``accepted`` in place and returns
    ``{(application_id, program_id): (residency_granted, funded_amount)}``.
    """
    hosts = seats > 0
    result: dict[tuple[str, str], tuple[bool, int]] = {}
    for pair in sorted(applicants, key=lambda p: (-p["fit"], p["application_id"])):
        accepted = pair["eligible"] and pair["fit"] >= model.accept_threshold
        pair["accepted"] = accepted
        residency = False
        if accepted and seats > 0:
            residency, seats = True, seats - 1
        amount = 0
        ask = pair["_app"]["funding_ask"]
        may_fund = residency if hosts else accepted
        if (may_fund and program.funding_max > 0 and budget > 0 and ask > 0
                and pair["fit"] >= model.accept_threshold + model.funding_margin):
            jitter = math.exp(rng.gauss(0.0, model.funding_jitter_sigma))
            wanted = min(max(_round_money(ask * jitter), program.funding_min), program.funding_max)
            cut_down = budget // _MONEY_STEP * _MONEY_STEP
            if wanted <= budget:
                amount = wanted
            elif cut_down > 0 and cut_down >= program.funding_min:
                amount = cut_down
            budget -= amount
        result[(pair["application_id"], program.id)] = (residency, amount)
    return result


def _decide_round(rng: random.Random, round_: dict, round_pairs: list[dict],
                  by_id: dict[str, Program], model: LatentModel) -> list[dict]:
    """Decide one round's pairs, program by program; returns their outcomes (pairs order)."""
    capacity = {e["program_id"]: (e["seats"], e["budget"]) for e in round_["programs"]}
    closes = dt.date.fromisoformat(round_["closes_on"])
    granted: dict[tuple[str, str], tuple[bool, int]] = {}
    decided: dict[str, str] = {}
    for program in sorted((by_id[pid] for pid in round_["program_ids"]), key=lambda p: p.id):
        decided[program.id] = (closes + dt.timedelta(days=rng.randint(14, 35))).isoformat()
        seats, budget = capacity[program.id]
        applicants = [p for p in round_pairs if p["program_id"] == program.id]
        granted.update(_decide(rng, program, applicants, seats, budget, model))
    outcomes = []
    for pair in round_pairs:
        residency, amount = granted[(pair["application_id"], pair["program_id"])]
        outcomes.append({
            "application_id": pair["application_id"],
            "program_id": pair["program_id"],
            "round_id": round_["id"],
            "residency_granted": residency,
            "funded_amount": int(amount),
            "decided_on": decided[pair["program_id"]],
        })
    return outcomes


def _houses(catalogue: list[Program]) -> dict[str, list[Program]] | None:
    """Active programs by house (houses in id order), or None when no program names a house
    (one network-wide round per season, as before houses existed).

    Raises:
        ValueError: some programs name a house and others do not, or no house has an active
            program.
    """
    named = [p for p in catalogue if p.org_id]
    if not named:
        return None
    if len(named) != len(catalogue):
        raise ValueError("either every program names its house (org_id) or none does")
    houses: dict[str, list[Program]] = {}
    for program in sorted(catalogue, key=lambda p: (p.org_id or "", p.id)):
        if program.active:
            houses.setdefault(str(program.org_id), []).append(program)
    if not houses:
        raise ValueError("no house has an active program to build intake rounds with")
    return houses


def generate_history(
    seed: int = SEED,
    n_rounds: int = 8,
    applications_per_round: int = 80,
    programs: Sequence[Program | dict] | None = None,
    model: LatentModel = DEFAULT_MODEL,
    last_round_opens: dt.date | None = None,
    organizations: Sequence[Organization] | None = None,
) -> SyntheticHistory:
    """Generate a fictional intake history from the latent fit model (module docstring).

    Args:
        seed: random seed; the same seed (and programs, model) gives the same history.
        n_rounds: number of past intake seasons (quarterly from spring 1402 / 2023-03-26);
            each house runs one round per season (one network-wide round without houses).
        applications_per_round: applications submitted in each season, over all houses.
        programs: the program catalogue (default: data/programs.json); inactive programs
            take part in no round. Either every program names its house or none does.
        model: the latent model's weights, noise and thresholds.
        last_round_opens: when given, the last round opens on this date and the earlier ones
            one quarter apart before it (the demo passes a date shortly before the day it is
            built, so its last round is open); ids and names follow the Jalali seasons.
            None: the fixed calendar from spring 1402. A house's round opens up to a week
            before the season's date.
        organizations: houses whose Persian names go into their rounds' names (default and
            fallback: data/organizations.json, then the house id).

    Returns:
        A `SyntheticHistory`; its dicts validate against `recommender.schemas`.

    Raises:
        ValueError: if n_rounds or applications_per_round is below 1, fewer than 3 programs
            are active (without houses) or no house has an active program, or only some
            programs name a house.
    """
    if n_rounds < 1 or applications_per_round < 1:
        raise ValueError("n_rounds and applications_per_round must be at least 1")
    catalogue = [p if isinstance(p, Program) else Program.model_validate(p)
                 for p in (load_programs() if programs is None else programs)]
    by_id = {p.id: p for p in catalogue}
    sectors = load_sectors()
    rng = random.Random(seed)
    houses = _houses(catalogue)
    if houses is None:
        seasons = [[r] for r in _make_rounds(rng, catalogue, n_rounds, last_round_opens)]
    else:
        names = {o.id: o.name for o in load_organizations()}
        names.update({o.id: o.name for o in organizations or ()})
        seasons = _make_house_rounds(rng, houses, n_rounds, last_round_opens, names)
    places = sorted({(p.province, p.city) for p in catalogue if p.city}) + list(_EXTRA_PLACES)

    applications: list[dict] = []
    outcomes: list[dict] = []
    app_truth: dict[str, dict] = {}
    pairs: list[dict] = []
    taken: set[str] = set()
    for season_no, season_rounds in enumerate(seasons, start=1):
        round_pairs: dict[str, list[dict]] = {r["id"]: [] for r in season_rounds}
        for j in range(1, applications_per_round + 1):
            app, latent = _make_application(rng, f"app-{season_no:02d}-{j:03d}",
                                            season_rounds[0], sectors, places, taken)
            latent["quality"] = rng.gauss(0.0, model.quality_sigma)
            round_ = season_rounds[0]
            if houses is not None:
                round_ = _choose_house(rng, app, latent, season_rounds, by_id)
                app["round_id"] = round_["id"]
                app["org_id"] = round_["org_id"]
                app["share_with_network"] = rng.random() < P_SHARE_WITH_NETWORK
            applications.append(app)
            app_truth[app["id"]] = latent
            round_programs = [by_id[pid] for pid in round_["program_ids"]]
            how_many = (3, 6) if houses is None else _HOUSE_PROGRAMS_APPLIED
            for program in _choose_programs(rng, app, latent, round_programs, how_many):
                comps = fit_components(app, program, latent["primary_sector"],
                                       latent["secondary_sector"])
                signal = _signal(comps, model)
                noise = rng.gauss(0.0, model.pair_noise_sigma)
                round_pairs[round_["id"]].append({
                    "application_id": app["id"], "program_id": program.id,
                    "round_id": round_["id"], **comps, "signal": round(signal, 6),
                    "noise": round(noise, 6), "fit": round(signal + latent["quality"] + noise, 6),
                    "accepted": False, "_app": app,
                })
        for round_ in season_rounds:
            outcomes += _decide_round(rng, round_, round_pairs[round_["id"]], by_id, model)
            for pair in round_pairs[round_["id"]]:
                del pair["_app"]
                pairs.append(pair)
    rounds = [r for season_rounds in seasons for r in season_rounds]

    truth = {"model": asdict(model), "applications": app_truth, "pairs": pairs}
    return SyntheticHistory(applications=applications, rounds=rounds, outcomes=outcomes,
                            truth=truth)
