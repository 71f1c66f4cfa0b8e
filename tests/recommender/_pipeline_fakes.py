"""Small deterministic fakes for the pipeline, explain and CLI tests.

`FakeEmbedder` quacks like a fitted `embedding.Embedder`: a bag of hashed words (each word a
seeded random direction), one chunk per sentence, with character spans into the text. Two
texts that share words are close, which is all the pipeline tests need, and it is instant.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recommender.schemas import Application, Program

DIM = 48
_WORD = re.compile(r"[\w\u200c]+")
_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]?")


@dataclass
class FakeDocumentEmbedding:
    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


def _word_vector(word: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(word.encode("utf-8")))
    return rng.normal(size=DIM)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


class FakeEmbedder:
    """Bag-of-hashed-words embedder; counts how many texts it embedded."""

    def __init__(self, model_id: str = "fake-bow-48") -> None:
        self.model_id_ = model_id
        self.dim_ = DIM
        self.calls = 0

    def fit(self) -> FakeEmbedder:
        return self

    def _vector(self, text: str) -> np.ndarray:
        words = [w for w in _WORD.findall(text) if len(w) > 2]
        if not words:
            return _unit(_word_vector("<empty>"))
        return _unit(np.sum([_word_vector(w) for w in words], axis=0))

    def embed_documents(
        self, texts: Sequence[str], role: str = "passage"
    ) -> list[FakeDocumentEmbedding]:
        out = []
        for text in texts:
            self.calls += 1
            spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
            spans = spans or [(0, len(text))]
            chunks = np.stack([self._vector(text[a:b]) for a, b in spans]).astype(np.float32)
            pooled = _unit(chunks.mean(axis=0)).astype(np.float32)
            out.append(FakeDocumentEmbedding(chunks, pooled, spans, len(text.split())))
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([d.pooled for d in self.embed_documents(texts)])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([d.pooled for d in self.embed_documents(texts, role="query")])


PROGRAM_ROWS = [
    ("fin-teh", "شتاب‌دهنده پرداخت نوین", "accelerator", ["fintech"], "تهران", "تهران", 6,
     1_000_000_000, 5_000_000_000, False, False, ["mvp", "early_revenue"],
     "شتاب‌دهنده ویژه استارتاپ‌های پرداخت، کیف پول و بانکداری باز. منتورهای بانکی و دسترسی "
     "به درگاه پرداخت."),
    ("fin-isf", "مرکز نوآوری مالی اصفهان", "innovation_center", ["fintech"], "اصفهان", "اصفهان",
     4, 500_000_000, 3_000_000_000, False, False, ["idea", "mvp"],
     "مرکز نوآوری برای تیم‌های فین‌تک، پرداخت خرد و حسابداری آنلاین در اصفهان."),
    ("agri-isf", "مرکز رشد کشاورزی هوشمند", "incubator", ["agritech"], "اصفهان", "اصفهان", 3,
     0, 0, False, False, ["idea", "mvp"],
     "پذیرش تیم‌های کشاورزی هوشمند، گلخانه و حسگرهای رطوبت خاک برای کاهش مصرف آب."),
    ("health-vc", "صندوق سلامت دیجیتال", "vc_fund", ["health"], "تهران", "تهران", 0,
     10_000_000_000, 50_000_000_000, True, True, ["early_revenue", "growth"],
     "سرمایه‌گذاری در سلامت دیجیتال، تله‌مدیسین و نوبت‌دهی آنلاین پزشکان."),
    ("edu-shz", "خانه خلاق آموزش", "creative_house", ["edtech"], "فارس", "شیراز", 8,
     0, 500_000_000, False, True, ["idea", "mvp"],
     "خانه خلاق برای آموزش آنلاین، محتوای آموزشی کودکان و کلاس‌های مجازی."),
    ("grant-tech", "برنامه حمایتی بلاعوض فناوری", "grant_program", ["fintech", "health"],
     "تهران", "تهران", 0, 100_000_000, 1_000_000_000, False, True,
     ["idea", "mvp", "early_revenue"],
     "کمک بلاعوض برای محصولات فناورانه در حوزه پرداخت و سلامت."),
    ("park-mhd", "پارک علم و فناوری خراسان", "technology_park", ["agritech", "edtech"],
     "خراسان رضوی", "مشهد", 10, 0, 2_000_000_000, False, False,
     ["mvp", "early_revenue", "growth"],
     "پارک فناوری با فضای کار برای کشاورزی هوشمند و آموزش."),
    ("old-acc", "شتاب‌دهنده تعطیل", "accelerator", ["fintech"], "تهران", "تهران", 4,
     0, 0, False, False, ["mvp"], "شتاب‌دهنده پرداخت که دیگر فعال نیست."),
]


def make_programs() -> list[Program]:
    out = []
    for (pid, name, kind, sectors, prov, city, seats, fmin, fmax, kb, remote, stages,
         desc) in PROGRAM_ROWS:
        out.append(
            Program(
                id=pid, name=name, kind=kind, description=desc, sectors=sectors,
                stages=stages, province=prov, city=city, residency_seats=seats,
                funding_min=fmin, funding_max=fmax, requires_knowledge_based=kb,
                accepts_remote=remote, active=pid != "old-acc",
            )
        )
    return out


PLAN_FINTECH = (
    "ما یک تیم پنج نفره در اصفهان هستیم. محصول ما کیف پول و پرداخت خرد برای فروشگاه‌های "
    "کوچک است. محصول اولیه آماده است و صد کاربر فعال داریم. برای توسعه به سرمایه نیاز داریم."
)
PLAN_AGRI = (
    "سامانه ما با حسگرهای رطوبت خاک مصرف آب گلخانه را کم می‌کند. کشاورزی هوشمند آینده "
    "تولید غذا است."
)


def make_application(**kw: object) -> Application:
    values: dict[str, object] = {
        "id": "app-1", "startup_name": "کیف‌پول‌یار", "business_plan": PLAN_FINTECH,
        "sectors": ["fintech"], "stage": "mvp", "province": "اصفهان", "city": "اصفهان",
        "team_size": 5, "funding_ask": 2_000_000_000, "needs_residency": True,
        "knowledge_based": False,
    }
    values.update(kw)
    return Application(**values)  # type: ignore[arg-type]


def linear_fallback(X: np.ndarray) -> np.ndarray:
    """A stand-in for ranking.unsupervised_score: the first column plus a little of each."""
    X = np.asarray(X, dtype=np.float64)
    return X[:, 0] + 0.01 * X.sum(axis=1)
