"""Tiny deterministic fixtures for the features / ranking / training tests.

A handful of Persian programs and applications built with `recommender.schemas`, fake plan
embeddings (random unit vectors around a per-sector direction), and a small seeded history
whose grants depend on the same latent fit, so a ranker has something real to learn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from recommender.schemas import Application, IntakeRound, Outcome, Program

DIM = 16
SECTORS = ["fintech", "agritech", "health", "edtech"]


@dataclass
class FakeDocumentEmbedding:
    """Quacks like `embedding.DocumentEmbedding`."""

    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def sector_directions(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s: unit(rng.normal(size=DIM)) for s in SECTORS}


def make_programs() -> list[Program]:
    rows = [
        ("p1", "شتاب‌دهنده فین‌تک تهران", "accelerator", ["fintech"], "تهران", "تهران", 5,
         1_000_000_000, 5_000_000_000, False, False),
        ("p2", "مرکز رشد کشاورزی هوشمند", "incubator", ["agritech"], "اصفهان", "اصفهان", 3,
         0, 0, False, False),
        ("p3", "صندوق سلامت دیجیتال", "vc_fund", ["health"], "تهران", "تهران", 0,
         10_000_000_000, 50_000_000_000, True, True),
        ("p4", "خانه خلاق آموزش", "creative_house", ["edtech"], "فارس", "شیراز", 8,
         0, 500_000_000, False, True),
        ("p5", "برنامه حمایتی بلاعوض فناوری", "grant_program", ["fintech", "health"], "تهران",
         "تهران", 0, 100_000_000, 1_000_000_000, False, True),
        ("p6", "پارک علم و فناوری خراسان", "technology_park", ["agritech", "edtech"],
         "خراسان رضوی", "مشهد", 10, 0, 2_000_000_000, False, False),
    ]
    programs = []
    for pid, name, kind, sectors, prov, city, seats, fmin, fmax, kb, remote in rows:
        programs.append(
            Program(
                id=pid, name=name, kind=kind, description=f"{name}: حمایت از استارتاپ‌ها",
                sectors=sectors, province=prov, city=city, residency_seats=seats,
                funding_min=fmin, funding_max=fmax, requires_knowledge_based=kb,
                accepts_remote=remote,
            )
        )
    programs.append(
        Program(
            id="p7", name="شتاب‌دهنده تعطیل", kind="accelerator", description="غیرفعال",
            sectors=["fintech"], province="تهران", residency_seats=4, active=False,
            stages=["mvp"],
        )
    )
    return programs


def program_vectors(programs: list[Program], seed: int = 0) -> np.ndarray:
    dirs = sector_directions(seed)
    rng = np.random.default_rng(seed + 1)
    out = []
    for p in programs:
        base = sum(dirs[s] for s in p.sectors if s in dirs)
        out.append(unit(base + 0.3 * rng.normal(size=DIM)))
    return np.asarray(out, dtype=np.float32)


def make_application(i: int, sector: str, **kw: object) -> Application:
    values: dict[str, object] = {
        "id": f"a{i}", "startup_name": f"استارتاپ {i}",
        "business_plan": f"طرح کسب‌وکار شمارهٔ {i} در حوزهٔ {sector}",
        "sectors": [sector], "stage": "mvp", "province": "تهران", "city": "تهران",
        "team_size": 3, "funding_ask": 2_000_000_000, "needs_residency": True,
        "knowledge_based": False,
    }
    values.update(kw)
    return Application(**values)  # type: ignore[arg-type]


def plan_embedding(sector: str, rng: np.random.Generator, n_chunks: int = 3,
                   seed: int = 0, noise: float = 0.5) -> FakeDocumentEmbedding:
    d = sector_directions(seed)[sector]
    chunks = unit(d[None, :] + noise * rng.normal(size=(n_chunks, DIM))).astype(np.float32)
    pooled = unit(chunks.mean(axis=0)).astype(np.float32)
    return FakeDocumentEmbedding(chunks=chunks, pooled=pooled)


@dataclass
class History:
    programs: list[Program]
    program_vectors: np.ndarray
    applications: list[Application]
    plans: dict[str, FakeDocumentEmbedding]
    rounds: list[IntakeRound]
    outcomes: list[Outcome]
    sector_of: dict[str, str]


def make_history(n_rounds: int = 6, per_round: int = 30, seed: int = 7) -> History:
    """A seeded history: each application applies to 3 programs; grant odds follow the
    latent fit (same sector, stage, money in range), so the labels are learnable."""
    rng = np.random.default_rng(seed)
    programs = [p for p in make_programs() if p.active]
    vectors = program_vectors(programs)
    stages = ["idea", "mvp", "early_revenue", "growth"]
    apps, plans, rounds, outcomes, sector_of = [], {}, [], [], {}
    start = dt.date(2023, 1, 1)
    n = 0
    for r in range(n_rounds):
        rid = f"r{r + 1}"
        opens = start + dt.timedelta(days=90 * r)
        rounds.append(
            IntakeRound(id=rid, name=f"دوره {r + 1}", opens_on=opens,
                        closes_on=opens + dt.timedelta(days=30),
                        program_ids=[p.id for p in programs])
        )
        for _ in range(per_round):
            n += 1
            sector = SECTORS[int(rng.integers(len(SECTORS)))]
            declared = [sector] if rng.random() < 0.7 else []
            app = make_application(
                n, sector, sectors=declared, round_id=rid,
                stage=stages[int(rng.integers(4))],
                funding_ask=int(10 ** rng.uniform(8, 10.5)),
                needs_residency=bool(rng.random() < 0.6),
                knowledge_based=bool(rng.random() < 0.4),
                province=["تهران", "اصفهان", "فارس"][int(rng.integers(3))],
            )
            apps.append(app)
            sector_of[app.id] = sector
            plans[app.id] = plan_embedding(sector, rng, n_chunks=int(rng.integers(1, 6)))
            fits = np.array([_latent_fit(app, sector, p) for p in programs])
            # applicants lean towards programs that fit, with noise
            pick = np.argsort(-(fits + rng.normal(scale=0.6, size=len(programs))))[:3]
            for j in pick:
                prog = programs[j]
                logit = -1.0 + 3.0 * fits[j]
                p_res = 1 / (1 + np.exp(-logit)) if (app.needs_residency and
                                                     prog.residency_seats > 0) else 0.0
                p_fund = 1 / (1 + np.exp(-(logit - 0.5))) if prog.funding_max > 0 else 0.0
                res = bool(rng.random() < p_res)
                funded = 0
                if rng.random() < p_fund:
                    funded = int(min(app.funding_ask, prog.funding_max) * rng.uniform(0.5, 1))
                outcomes.append(
                    Outcome(application_id=app.id, program_id=prog.id, round_id=rid,
                            residency_granted=res, funded_amount=funded,
                            decided_on=opens + dt.timedelta(days=60))
                )
    return History(programs, vectors, apps, plans, rounds, outcomes, sector_of)


def _latent_fit(app: Application, sector: str, prog: Program) -> float:
    fit = 1.0 if sector in prog.sectors else 0.0
    fit += 0.5 if app.stage in prog.stages else -1.0
    if prog.requires_knowledge_based and not app.knowledge_based:
        fit -= 2.0
    if prog.funding_max > 0 and prog.funding_min <= app.funding_ask <= prog.funding_max:
        fit += 0.5
    return fit


def history_matrix(history: History) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Features of the history's outcome pairs (no lexical), and their labels."""
    from recommender.ranking.features import FeatureBuilder

    builder = FeatureBuilder().fit(history.programs, history.program_vectors)
    app_index = {a.id: i for i, a in enumerate(history.applications)}
    prog_index = {p.id: j for j, p in enumerate(history.programs)}
    pairs = np.array(
        [[app_index[o.application_id], prog_index[o.program_id]] for o in history.outcomes]
    )
    plans = [history.plans[a.id] for a in history.applications]
    X = builder.transform(history.applications, plans, None, pairs=pairs)
    labels = {
        "residency": np.array([o.residency_granted for o in history.outcomes], dtype=int),
        "funding": np.array([o.funded_amount > 0 for o in history.outcomes], dtype=int),
        "amount": np.array([o.funded_amount for o in history.outcomes], dtype=float),
        "group": np.array([o.application_id for o in history.outcomes]),
        "round": np.array([o.round_id for o in history.outcomes]),
    }
    return X, labels
