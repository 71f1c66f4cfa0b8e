"""Small deterministic fixtures for the round scoring, report and `peyvand round` tests.

A dozen Persian applications in round "R1" over six programs, a bag-of-hashed-words fake
embedder (instant, deterministic, counts its calls), a real `FeatureBuilder` and `BM25Index`
over the programs, and a real `FitRanker` (logistic, fitted on labels from a simple rule) so
scores have the shape of the live model's.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recommender.ranking.features import FeatureBuilder, all_pairs
from recommender.ranking.ranker import FitRanker
from recommender.retrieval.lexical import BM25Index
from recommender.rounds.scoring import ScoringModel
from recommender.schemas import Application, IntakeRound, Program, RoundProgram

DIM = 32
ROUND_ID = "R1"
_WORD = re.compile(r"[\w\u200c]+")
_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]?")


@dataclass
class FakeDocumentEmbedding:
    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


def _word_vector(word: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(word.encode("utf-8"))).normal(size=DIM)


class FakeEmbedder:
    """Bag-of-hashed-words embedder; `calls` counts texts embedded, `batches` the calls."""

    def __init__(self, model_id: str = "fake-bow-32") -> None:
        self.model_id_ = model_id
        self.dim_ = DIM
        self.calls = 0
        self.batches = 0

    def _vector(self, text: str) -> np.ndarray:
        words = [w for w in _WORD.findall(text) if len(w) > 2] or ["<empty>"]
        return _unit(np.sum([_word_vector(w) for w in words], axis=0))

    def embed_documents(
        self, texts: Sequence[str], role: str = "passage"
    ) -> list[FakeDocumentEmbedding]:
        self.batches += 1
        out = []
        for text in texts:
            self.calls += 1
            spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
            spans = spans or [(0, len(text))]
            chunks = np.stack([self._vector(text[a:b]) for a, b in spans]).astype(np.float32)
            out.append(FakeDocumentEmbedding(chunks, _unit(chunks.mean(0)).astype(np.float32),
                                             spans, len(text.split())))
        return out


PROGRAM_ROWS = [
    # id, name, kind, sectors, province, city, seats, fmin, fmax, kb, remote, stages, text
    ("fin-teh", "شتاب‌دهنده پرداخت نوین", "accelerator", ["fintech"], "تهران", "تهران", 2,
     100_000_000, 1_000_000_000, False, False, ["mvp", "early_revenue"],
     "شتاب‌دهنده ویژه استارتاپ‌های پرداخت، کیف پول و بانکداری باز."),
    ("fin-isf", "مرکز نوآوری مالی اصفهان", "innovation_center", ["fintech"], "اصفهان", "اصفهان",
     2, 0, 500_000_000, False, False, ["idea", "mvp"],
     "مرکز نوآوری برای تیم‌های فین‌تک، پرداخت خرد و حسابداری آنلاین."),
    ("agri-isf", "مرکز رشد کشاورزی هوشمند", "incubator", ["agritech"], "اصفهان", "اصفهان", 2,
     0, 0, False, False, ["idea", "mvp"],
     "پذیرش تیم‌های کشاورزی هوشمند، گلخانه و حسگرهای رطوبت خاک."),
    ("health-vc", "صندوق سلامت دیجیتال", "vc_fund", ["health"], "تهران", "تهران", 0,
     500_000_000, 3_000_000_000, True, True, ["mvp", "early_revenue", "growth"],
     "سرمایه‌گذاری در سلامت دیجیتال، تله‌مدیسین و نوبت‌دهی آنلاین پزشکان."),
    ("edu-shz", "خانه خلاق آموزش", "creative_house", ["edtech"], "فارس", "شیراز", 3,
     0, 300_000_000, False, True, ["idea", "mvp"],
     "خانه خلاق برای آموزش آنلاین، محتوای آموزشی کودکان و کلاس‌های مجازی."),
    ("park-mhd", "پارک علم و فناوری خراسان", "technology_park", ["agritech", "edtech"],
     "خراسان رضوی", "مشهد", 3, 0, 800_000_000, False, False, ["mvp", "early_revenue", "growth"],
     "پارک فناوری با فضای کار برای کشاورزی هوشمند و آموزش."),
]

PLANS = {
    "fintech": "محصول ما کیف پول و پرداخت خرد برای فروشگاه‌های کوچک است. درگاه پرداخت داریم.",
    "agritech": "سامانه ما با حسگرهای رطوبت خاک مصرف آب گلخانه را کم می‌کند. کشاورزی هوشمند.",
    "health": "نوبت‌دهی آنلاین پزشکان و تله‌مدیسین برای درمانگاه‌ها. سلامت دیجیتال.",
    "edtech": "کلاس‌های مجازی و محتوای آموزشی کودکان. آموزش آنلاین برای مدرسه‌ها.",
}
SECTORS = list(PLANS)
PROVINCES = ["تهران", "اصفهان", "فارس", "خراسان رضوی"]
STAGES = ["idea", "mvp", "early_revenue"]


def make_programs() -> list[Program]:
    out = []
    for (pid, name, kind, sectors, prov, city, seats, fmin, fmax, kb, remote, stages,
         text) in PROGRAM_ROWS:
        out.append(Program(
            id=pid, name=name, kind=kind, description=text, sectors=sectors, stages=stages,
            province=prov, city=city, residency_seats=seats, funding_min=fmin,
            funding_max=fmax, requires_knowledge_based=kb, accepts_remote=remote,
        ))
    return out


def make_applications(n: int = 12, round_id: str = ROUND_ID, start: int = 1) -> list[Application]:
    out = []
    for k in range(start, start + n):
        sector = SECTORS[k % len(SECTORS)]
        out.append(Application(
            id=f"{round_id}-a{k:02d}", startup_name=f"استارتاپ {k}",
            business_plan=f"{PLANS[sector]} تیم ما {k} نفر است.",
            sectors=[sector] if k % 3 else [], stage=STAGES[k % len(STAGES)],
            province=PROVINCES[k % len(PROVINCES)], city="", team_size=1 + k % 5,
            funding_ask=(k % 4) * 150_000_000, needs_residency=k % 2 == 0,
            knowledge_based=k % 5 == 0, round_id=round_id,
        ))
    return out


def make_round(round_id: str = ROUND_ID, **overrides: dict) -> IntakeRound:
    programs = [RoundProgram(program_id=p[0]) for p in PROGRAM_ROWS]
    programs[0] = RoundProgram(program_id="fin-teh", seats=2, budget=1_500_000_000)
    return IntakeRound(
        id=round_id, name="دوره پاییز ۱۴۰۵", opens_on=dt.date(2026, 9, 23),
        closes_on=dt.date(2026, 11, 21), programs=programs, **overrides,
    )


def fill_store(store, n_applications: int = 12) -> None:  # type: ignore[no-untyped-def]
    store.upsert_programs(make_programs())
    store.upsert_applications(make_applications(n_applications))
    store.upsert_rounds([make_round()])


def make_model(
    trained: bool = True,
    embedder: FakeEmbedder | None = None,
    version: str = "v1",
    programs: Sequence[Program] | None = None,
) -> ScoringModel:
    """A ScoringModel over the fixture programs (or `programs`); `trained=False` uses the
    unsupervised score."""
    embedder = embedder or FakeEmbedder()
    programs = list(programs) if programs is not None else make_programs()
    texts = [f"{p.name}. {p.description}" for p in programs]
    vectors = np.stack([d.pooled for d in FakeEmbedder().embed_documents(texts)])
    builder = FeatureBuilder().fit(programs, vectors)
    lexical = BM25Index().fit(texts)
    ranker = _fit_ranker(builder) if trained else None
    return ScoringModel(embedder=embedder, feature_builder=builder, ranker=ranker,
                        version=version if trained else None, lexical=lexical)


_RANKER: FitRanker | None = None


def _fit_ranker(builder: FeatureBuilder) -> FitRanker:
    """A logistic FitRanker fitted once on history-like data (labels from a simple rule)."""
    global _RANKER
    if _RANKER is not None:
        return _RANKER
    apps = make_applications(40, round_id="H", start=1)
    plans = FakeEmbedder().embed_documents([a.business_plan for a in apps])
    X = builder.transform(apps, plans, None, pairs=all_pairs(len(apps), len(builder.programs_)))
    names = builder.feature_names_
    fit = X[:, names.index("sem_pooled")] + X[:, names.index("eligible")]
    rng = np.random.default_rng(3)
    noisy = fit + rng.normal(scale=0.3, size=len(fit))
    y_res = (noisy > np.quantile(noisy, 0.8)).astype(int) * (X[:, names.index("seats_log")] > 0)
    y_fund = (noisy > np.quantile(noisy, 0.7)).astype(int) * X[:, names.index("program_funds")]
    amount = y_fund * 200_000_000.0
    groups = np.repeat(np.arange(len(apps)), len(builder.programs_))
    _RANKER = FitRanker(estimator="logistic", calibration="sigmoid", cv=2).fit(
        X, y_res, y_fund.astype(int), amount, groups=groups, data_fingerprint="fixture"
    )
    return _RANKER
